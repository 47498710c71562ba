"""Support agents approve up to the agent limit and never release a fraud hold; supervisors may
do both. Enforced in returns.services.return_approve, whoever calls it."""

from decimal import Decimal

import pytest

from core.errors import PermissionDenied
from returns import services
from returns.choices import ReturnStatus
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(shop, customer, manual_review):
    """A return waiting for review, of `units` shirts (27.00 each, tax included) or one laptop (990.00)."""

    def make(*, laptop: bool = False, units: int = 1, currency: str = "USD", held_for: str | None = None):
        product, price, tax = (shop.laptop, "900.00", "90.00") if laptop else (shop.shirt, "25.00", "2.00")
        order = factories.make_order(customer=customer, currency=currency, shipping="0",
                                     lines=[(product, units, price, tax)])
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.get(), units)])
        assert rr.status == ReturnStatus.REQUESTED
        if held_for:
            rr.review_reasons = [*rr.review_reasons, {"code": held_for, "detail": "held"}]
            rr.save(update_fields=["review_reasons"])
        return rr

    return make


def test_an_agent_approves_up_to_the_limit(waiting, reviewer, settings):
    settings.RETURNS = {**settings.RETURNS, "AGENT_APPROVAL_LIMIT": Decimal("54.00")}
    rr = services.return_approve(return_request=waiting(units=2), by=reviewer, reason="Fine.")
    assert rr.status == ReturnStatus.AUTHORIZED


def test_an_agent_may_not_approve_above_the_limit(waiting, reviewer):
    rr = waiting(laptop=True)
    with pytest.raises(PermissionDenied) as refused:
        services.return_approve(return_request=rr, by=reviewer, reason="Looks fine.")
    assert refused.value.code == "approval_limit_exceeded"
    assert "250" in refused.value.message
    fresh = ReturnRequest.objects.get(pk=rr.pk)
    assert fresh.status == ReturnStatus.REQUESTED and fresh.decision_reason == ""
    assert fresh.history.count() == rr.history.count()  # nothing written


def test_a_supervisor_approves_any_amount(waiting, supervisor):
    rr = services.return_approve(return_request=waiting(laptop=True), by=supervisor, reason="Checked the photos.")
    assert rr.status == ReturnStatus.AUTHORIZED
    assert rr.history.first().history_user == supervisor


@pytest.mark.parametrize("hold", ["high_fraud_score", "customer_flagged"])
def test_a_fraud_hold_needs_a_supervisor(waiting, reviewer, supervisor, hold):
    rr = waiting(held_for=hold)
    with pytest.raises(PermissionDenied) as refused:
        services.return_approve(return_request=rr, by=reviewer)
    assert refused.value.code == "fraud_hold_requires_supervisor"
    assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.REQUESTED
    assert services.return_approve(return_request=rr, by=supervisor).status == ReturnStatus.AUTHORIZED


def test_an_agent_may_still_reject_a_held_or_large_return(waiting, reviewer):
    rr = waiting(laptop=True, held_for="high_fraud_score")
    assert services.return_reject(return_request=rr, by=reviewer, reason="Serial number does not match.").status \
        == ReturnStatus.REJECTED


def test_the_limit_is_in_the_orders_currency(waiting, reviewer, settings):
    settings.RETURNS = {**settings.RETURNS, "AGENT_APPROVAL_LIMIT_BY_CURRENCY": {"JPY": Decimal("40000")}}
    # 990 JPY: far above the plain limit of 250, well within the JPY limit.
    rr = waiting(laptop=True, currency="JPY")
    assert services.return_approve(return_request=rr, by=reviewer).status == ReturnStatus.AUTHORIZED


def test_whoever_may_not_review_is_refused_for_that_and_not_the_amount(waiting, warehouse):
    with pytest.raises(PermissionDenied) as refused:
        services.return_approve(return_request=waiting(laptop=True), by=warehouse)
    assert refused.value.code == "permission_denied"


def test_the_system_approves_whatever_its_rules_allow(waiting):
    """Automatic authorisation (by=None) is not an agent: no limit applies."""
    rr = waiting(laptop=True)
    services.check_approval_authority(return_request=rr, by=None)
