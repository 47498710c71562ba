"""Pagination that does not count a big table row by row.

COUNT(*) over millions of rows costs a full scan on every page view. The unfiltered list takes
PostgreSQL's own row estimate (pg_class.reltuples, kept by VACUUM/ANALYZE); a filtered list is
counted exactly when the planner expects few rows, and estimated by the planner otherwise.
"""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

# Below this many rows (by the planner's estimate) an exact count is cheap enough.
EXACT_COUNT_BELOW = 20_000


def table_estimate(model, *, using: str = "default") -> int | None:
    """PostgreSQL's estimate of the table's rows, or None when the table was never analysed."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None


def planner_estimate(queryset) -> int:
    """The rows the planner expects `queryset` to return (no rows are read)."""
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """`is_estimate` says whether `count` is PostgreSQL's estimate rather than a count."""

    is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not queryset.query.where:
            estimate = table_estimate(queryset.model, using=queryset.db)
            if estimate is not None and estimate >= EXACT_COUNT_BELOW:
                self.is_estimate = True
                return estimate
            return queryset.count()
        estimate = planner_estimate(queryset)
        if estimate >= EXACT_COUNT_BELOW:
            self.is_estimate = True
            return estimate
        return queryset.count()
