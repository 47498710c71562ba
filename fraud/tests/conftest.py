import pytest

from fraud.models import FraudRule, FraudSignal
from fraud.services import fraud_rules, fraud_rules_forget
from returns import services
from returns.models import ReturnRequest
from tests import factories


def tune(kind: str, *, weight: int | None = None, active: bool | None = None, **params) -> FraudRule:
    """Change a rule as staff would in the admin: validated, saved with history."""
    rule = fraud_rules()[kind]
    if weight is not None:
        rule.weight = weight
    if active is not None:
        rule.active = active
    rule.params = {**rule.params, **params}
    rule.full_clean()
    rule.save()
    return rule


def only(kind: str, **changes) -> FraudRule:
    """Switch every other rule off, so a score is exactly this rule's weight or nothing."""
    for other in fraud_rules():
        if other != kind:
            tune(other, active=False)
    return tune(kind, active=True, **changes)


def fired(return_request, kind: str, stage: str | None = None) -> FraudSignal | None:
    signals = FraudSignal.objects.filter(return_request=return_request, kind=kind)
    if stage:
        signals = signals.filter(stage=stage)
    return signals.first()


def request(order, customer, *lines) -> ReturnRequest:
    """Ask for `lines` ((order_line, quantity[, reason]) or just order lines, one unit each) of `order`."""
    wanted = [line if isinstance(line, tuple) else (line, 1) for line in lines] or [(order.lines.first(), 1)]
    rr = services.return_request_create(
        by=customer, order_id=order.pk,
        lines=[factories.line_request(line[0], line[1], *line[2:]) for line in wanted])
    rr.refresh_from_db()
    return rr


def bring_back(order, customer, warehouse, *lines) -> ReturnRequest:
    """A return of `lines` requested, authorised (by an agent if it waits), shipped and received."""
    rr = request(order, customer, *lines)
    if rr.status == "requested":
        rr = services.return_approve(return_request=rr, by=factories.staff_user("Support agent", username="agent-x"))
    services.return_mark_in_transit(return_request=rr)
    return services.return_receive(return_request=rr, by=warehouse)


def one_line_order(customer, product, price: str, *, quantity: int = 1, tax: str = "0.00", **kwargs):
    return factories.make_order(customer=customer, lines=[(product, quantity, price, tax)], **kwargs)


@pytest.fixture
def shop(shop):
    fraud_rules()
    return shop


@pytest.fixture(autouse=True)
def _rules_from_this_tests_database():
    """Rules remembered in memory would outlive the test's rolled-back rows."""
    fraud_rules_forget()
    yield
    fraud_rules_forget()
