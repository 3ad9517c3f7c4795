"""The compliance dashboard: the admin's front-page charts, their detail pages, and the same
figures exported for a period as CSV and as a printable transparency report.

It lives in `config/` because its figures read every app (complaints, enforcement, liverooms,
credit), and only the top of the layer list may import them all.
"""
