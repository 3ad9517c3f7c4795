"""Whether a request wrote to the database: a refused request must change nothing."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

# Sessions change with pages a signed-in client opens (messages, the 2FA marker): they are the
# client's, not the product's.
_SESSION_TABLES = {"django_session"}


_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)"?', re.I)


def _table(sql: str) -> str | None:
    match = _WRITE.match(sql)
    return match.group(1) if match else None


class Writes(CaptureQueriesContext):
    """The tables written to while the block ran (sessions aside)."""

    def __init__(self):
        super().__init__(connection)
        self.ignored = set(_SESSION_TABLES)

    def ignore(self, tables) -> None:
        self.ignored |= set(tables)

    @property
    def tables(self) -> list[str]:
        written = {_table(query["sql"]) for query in self.captured_queries}
        return sorted(written - {None} - self.ignored)
