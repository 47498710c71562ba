"""Returnless refunds: a line worth less than its category's limit stays with the customer. A
return of only such lines skips shipping and inspection, is scored for fraud like any other,
moves no stock, and is refunded at once."""

from decimal import Decimal

import pytest

from core.errors import ValidationFailed
from fraud.models import CustomerRiskProfile
from inventory.models import StockMovement
from refunds.choices import RefundStatus
from refunds.models import SandboxRefund
from returns import services
from returns.choices import LabelStatus, ReturnStatus
from returns.tests.resolutions import assert_books_clean
from tests import factories

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def returnless(shop):
    """Apparel under 30.00 a line stays with the customer; electronics always come back."""
    factories.policy(None, returnless_below=D("30.00"))
    factories.policy("electronics", returnless_below=None)


def _request(customer, order, *lines, capture=None, **kwargs):
    if capture is None:
        return services.return_request_create(by=customer, order_id=order.pk, lines=list(lines), **kwargs)
    with capture(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=list(lines), **kwargs)
    rr.refresh_from_db()
    return rr


def test_a_line_below_the_limit_is_refunded_without_coming_back(
        customer, order, returnless, django_capture_on_commit_callbacks):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    rr = _request(customer, order, factories.line_request(shirts, 1), capture=django_capture_on_commit_callbacks)
    assert rr.lines.get().returnless
    assert (rr.status, rr.label_status) == (ReturnStatus.REFUNDED, LabelStatus.NONE)  # no label, no parcel
    assert rr.shipped_at is None and rr.received_at is None
    assert (rr.refund.status, rr.refund.net) == (RefundStatus.COMPLETED, D("27.00"))
    assert SandboxRefund.objects.get().amount == D("27.00")
    assert not StockMovement.objects.exists()
    # Scored like any other return, and counted in the customer's profile.
    assert rr.fraud_score is not None
    assert CustomerRiskProfile.objects.get(customer=customer).lifetime_refunds == 1
    states = list(rr.history.order_by("history_date", "history_id").values_list("status", "history_change_reason"))
    assert ("inspected", "returnless: the customer keeps the items") in states
    assert_books_clean()


def test_a_line_at_or_above_the_limit_comes_back_as_usual(customer, order, returnless):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    rr = _request(customer, order, factories.line_request(shirts, 2))  # 54.00: above the limit
    assert not rr.lines.get().returnless
    assert (rr.status, rr.label_status) == (ReturnStatus.AUTHORIZED, LabelStatus.PENDING)
    assert not rr.has_refund()


def test_the_limit_is_per_category(customer, shop, returnless):
    cable = factories.product("usb-cable", category="electronics", cost="2.00")
    order = factories.make_order(customer=customer, lines=[(cable, 1, "9.00", "0.90")])
    rr = _request(customer, order, factories.line_request(order.lines.get(), 1))
    assert not rr.lines.get().returnless and rr.status == ReturnStatus.AUTHORIZED


def test_a_returnless_return_waits_for_review_like_any_other(
        customer, order, returnless, manual_review, reviewer, django_capture_on_commit_callbacks):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    rr = _request(customer, order, factories.line_request(shirts, 1))
    assert rr.status == ReturnStatus.REQUESTED and rr.review_reasons
    with django_capture_on_commit_callbacks(execute=True):
        services.return_approve(return_request=rr, by=reviewer, reason="Cheap item; keep it.")
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED and rr.decision_reason == "Cheap item; keep it."
    assert_books_clean()


def test_kept_lines_ride_along_a_return_that_ships_the_rest(
        customer, order, returnless, warehouse, django_capture_on_commit_callbacks):
    shirts, jacket = order.lines.all()
    rr = _request(customer, order, factories.line_request(shirts, 1), factories.line_request(jacket, 1))
    kept, sent = rr.lines.get(order_line=shirts), rr.lines.get(order_line=jacket)
    assert (kept.returnless, sent.returnless) == (True, False)
    assert rr.status == ReturnStatus.AUTHORIZED and rr.label_status == LabelStatus.PENDING
    with pytest.raises(ValidationFailed) as error:
        services.return_receive(return_request=rr, by=warehouse, received_quantities={kept.pk: 1})
    assert error.value.code == "line_kept_by_customer"
    with django_capture_on_commit_callbacks(execute=True):
        services.return_receive(return_request=rr, by=warehouse)
        with pytest.raises(ValidationFailed) as error:
            services.return_inspect(return_request=rr, by=warehouse, inspections={kept.pk: {"condition": "new"}})
        assert error.value.code == "line_kept_by_customer"
        services.return_inspect(return_request=rr, by=warehouse, inspections={sent.pk: {"condition": "new"}})
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED and rr.refund.net == D("159.00")  # 27.00 kept + 132.00 sent
    assert list(StockMovement.objects.values_list("product__sku", flat=True)) == ["jacket-rain-l"]
    assert_books_clean()


def test_the_quote_tells_the_customer_which_items_they_keep(customer, order, returnless):
    shirts, jacket = order.lines.all()
    quote = services.return_quote_request(by=customer, order_id=order.pk, lines=[
        factories.line_request(shirts, 1), factories.line_request(jacket, 1)])
    assert [(notice["code"], notice["line"]) for notice in quote.notices] == [("returnless", 0)]
