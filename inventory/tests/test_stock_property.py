"""Whatever order corrections and stock tasks arrive in, repeated or late, a stock level is the
sum of its movements, and once every task has run it matches the lines' latest dispositions."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ValidationFailed
from inventory.models import StockLevel, StockMovement
from inventory.selectors import stock_discrepancies
from inventory.services import stock_apply_inspection
from returns import services
from returns.choices import Condition, Disposition
from returns.tests.warehouse import every_line, received_return, three_line_order

pytestmark = pytest.mark.django_db

conditions = st.sampled_from(Condition.values)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("correct"), st.integers(0, 2), conditions),
        st.tuples(st.just("deliver"), st.integers(0, 20), st.none()),  # run a queued task and drop it
        st.tuples(st.just("redeliver"), st.integers(0, 20), st.none()),  # run it but keep it queued
    ),
    max_size=8,
)


@pytest.fixture
def inspected_lines(shop, customer, warehouse):
    """Three lines of a received return, inspected as new; their stock tasks not yet run."""
    order = three_line_order(shop, customer)
    rr = received_return(order, customer, warehouse, short={"socks-wool": 2})
    services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, Condition.NEW))
    return list(rr.lines.select_related("order_line__product"))


def assert_levels_are_sums_of_movements():
    assert not stock_discrepancies().exists()
    assert StockLevel.objects.filter(on_hand__lt=0).count() == 0


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=steps, first_conditions=st.lists(conditions, min_size=3, max_size=3))
def test_stock_level_is_always_the_sum_of_its_movements(inspected_lines, supervisor, steps, first_conditions):
    with transaction.atomic():
        lines = inspected_lines
        queued = [(line.pk, 1) for line in lines]
        latest = dict.fromkeys((line.pk for line in lines), Condition.NEW)
        for line, condition in zip(lines, first_conditions, strict=True):
            if condition != Condition.NEW:
                queued.append((line.pk, 2))
                latest[line.pk] = condition
                services.inspection_correct(return_line=line, by=supervisor, condition=condition)

        for action, index, condition in steps:
            if action == "correct":
                line = lines[index]
                try:
                    record = services.inspection_correct(return_line=line, by=supervisor, condition=condition)
                except ValidationFailed as refused:
                    assert refused.code == "condition_unchanged" and latest[line.pk] == condition
                else:
                    queued.append((line.pk, record.revision))
                    latest[line.pk] = condition
            elif queued:
                line_id, revision = queued[index % len(queued)]
                if action == "deliver":
                    queued.remove((line_id, revision))
                stock_apply_inspection(return_line_id=line_id, revision=revision)
            assert_levels_are_sums_of_movements()

        for line_id, revision in queued:
            stock_apply_inspection(return_line_id=line_id, revision=revision)

        assert_levels_are_sums_of_movements()
        for line in lines:
            level = StockLevel.objects.get(product=line.order_line.product)
            disposition = {Condition.NEW: Disposition.RESTOCK, Condition.LIKE_NEW: Disposition.RESTOCK,
                           Condition.DAMAGED: Disposition.QUARANTINE}.get(latest[line.pk], Disposition.DISPOSE)
            expected = {Disposition.RESTOCK: (line.received_quantity, 0),
                        Disposition.QUARANTINE: (0, line.received_quantity),
                        Disposition.DISPOSE: (0, 0)}[disposition]
            assert (level.on_hand, level.quarantined) == expected
            movements = StockMovement.objects.filter(return_line=line)
            assert movements.count() == len(set(movements.values_list("kind", "revision")))
        transaction.set_rollback(True)
