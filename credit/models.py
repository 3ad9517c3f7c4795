"""Models of the credit app arrive with its issue; the app is installed from the start so that
migrations and imports keep their layer order."""
