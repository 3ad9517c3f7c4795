"""Counting the rows of a change list without reading the table.

A change list shows how many rows match and pages through them. On the tables that run to
millions of rows (parties, complaints, alerts, credit events, violations, ledger entries) an
exact COUNT(*) reads every matching row on every page view: on 5 million complaints with
`status=open` that alone costs more than the whole page may take. So:

- the unfiltered list of a big table is counted from PostgreSQL's statistics (`reltuples`,
  kept fresh by autovacuum) and shown as an estimate ("about 5,000,000");
- any other list is counted up to `count_limit` rows (`SELECT COUNT(*) FROM (SELECT ... LIMIT
  n + 1)`), which stops reading at the bound; when the bound is hit the page says "more than
  10,000" and offers the pages up to the bound -- a reviewer narrows the filter rather than
  paging to row 10,001.

The admin's templates in `templates/admin/` (pagination, search count, "select all") read
`count_is_bounded` / `count_is_estimate` from the paginator to say which of the two it is.

This sits at the bottom layer so that every app's admin may use it.
"""

from __future__ import annotations

from django.contrib.admin import ShowFacets
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

# Enough for any queue a team works through; a list longer than this is narrowed, not paged.
COUNT_LIMIT = 10_000
# Below this many rows the planner's estimate is not worth its error: count them.
ESTIMATE_ABOVE = 100_000


class BoundedCountPaginator(Paginator):
    """A paginator whose count never reads more than `count_limit` rows (see the module)."""

    count_limit = COUNT_LIMIT
    estimate_above = ESTIMATE_ABOVE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Set when `count` is read: what the page should say about the number it shows.
        self.count_is_bounded = False
        self.count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None:
            # A list rather than a queryset: its length is already known.
            return super().count
        if not query.where and not query.combinator:
            estimate = self._estimate(queryset)
            if estimate is not None and estimate > self.estimate_above:
                self.count_is_estimate = True
                return estimate
        # The ordering only costs a sort; the annotations only joins. Neither changes how many
        # rows there are (an annotation that a filter uses is kept by Django).
        counted = queryset.order_by()[: self.count_limit + 1].count()
        if counted > self.count_limit:
            self.count_is_bounded = True
        return counted

    @staticmethod
    def _estimate(queryset) -> int | None:
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            # `to_regclass` resolves the name through the search path, as the query itself does.
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [connection.ops.quote_name(queryset.model._meta.db_table)],
            )
            row = cursor.fetchone()
        # -1 for a table never analysed: no estimate.
        if row is None or row[0] < 0:
            return None
        return int(row[0])


class LargeTableAdminMixin:
    """For the ModelAdmin of a table that can grow to millions of rows: a bounded count, no
    second count of the whole table for the "N total" beside a search, and no facet counts (a
    COUNT per filter value over every matching row)."""

    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER


def count_per_row(related, link: str) -> Coalesce:
    """A change-list column counting `related` rows whose `link` is the listed row.

    A correlated subquery runs for the rows on the page only, whereas `annotate(Count(...))`
    groups the whole list by its key -- which the bounded count above would then have to group
    too, and which on a million-row table is the slow part of the page.
    """
    counted = (
        related.filter(**{link: OuterRef("pk")})
        .order_by()
        .values(link)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)
