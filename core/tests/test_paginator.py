"""Big admin lists are not counted row by row: PostgreSQL's estimates stand in above a threshold."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import paginator
from core.paginator import EstimatedCountPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups():
    Group.objects.bulk_create([Group(name=f"g{i}") for i in range(30)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE auth_group")


def _counts(captured) -> list[str]:
    return [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]


def test_small_lists_are_counted_exactly(groups):
    pages = EstimatedCountPaginator(Group.objects.order_by("pk"), 10)
    assert pages.count == Group.objects.count() and not pages.is_estimate


def test_a_big_unfiltered_list_takes_the_table_estimate(groups, monkeypatch):
    monkeypatch.setattr(paginator, "EXACT_COUNT_BELOW", 5)
    pages = EstimatedCountPaginator(Group.objects.order_by("pk"), 10)
    with CaptureQueriesContext(connection) as captured:
        count = pages.count
    assert pages.is_estimate and count == pytest.approx(Group.objects.count(), abs=2)
    assert not _counts(captured)
    assert "reltuples" in captured[0]["sql"]


def test_a_big_filtered_list_takes_the_planners_estimate(groups, monkeypatch):
    monkeypatch.setattr(paginator, "EXACT_COUNT_BELOW", 5)
    pages = EstimatedCountPaginator(Group.objects.filter(name__startswith="g").order_by("pk"), 10)
    with CaptureQueriesContext(connection) as captured:
        assert pages.count > 0
    assert pages.is_estimate and not _counts(captured)
    assert captured[0]["sql"].startswith("EXPLAIN")
