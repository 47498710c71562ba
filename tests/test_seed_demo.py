"""The demo seed builds a shop with every order and return state, through the real services."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import RequestFactory
from django.utils import timezone

from orders.choices import OrderStatus
from orders.models import LoyaltyReversal, Order, Payment
from refunds.choices import RefundStatus
from refunds.models import JournalEntry, JournalLine, Refund, RefundAttempt
from returns.choices import RefundMethod, ReturnStatus
from returns.models import ReturnLine, ReturnRequest

PASSWORD = "demo-pass-123"
LOGINS = {"admin": None, "agent": "Support agent", "supervisor": "Supervisor", "finance": "Finance",
          "warehouse": "Warehouse", "alice": None, "bob": None, "carol": None}


def _seed(capture, *args) -> str:
    out = StringIO()
    # The test's transaction never commits, so run the callbacks the services queue on commit
    # (labels, refund payments, e-mails) as a real run would: the seed must leave them nothing
    # to break.
    with capture(execute=True):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _counts() -> dict:
    models = [get_user_model(), Order, Payment, ReturnRequest, ReturnLine, Refund, RefundAttempt, JournalEntry,
              JournalLine, LoyaltyReversal]
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.django_db
def test_seed_demo_builds_every_state_and_runs_once(django_capture_on_commit_callbacks):
    output = _seed(django_capture_on_commit_callbacks)

    # Every return state is there. `inspected` is never a resting state — inspection starts the
    # refund or closes the return in the same transaction — so it shows in the history instead.
    statuses = set(ReturnRequest.objects.values_list("status", flat=True))
    assert statuses == set(ReturnStatus.values) - {ReturnStatus.INSPECTED}
    assert ReturnRequest.history.filter(status=ReturnStatus.INSPECTED).count() >= 8
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    assert set(Order.objects.values_list("currency", flat=True)) == {"USD", "EUR", "JPY"}
    # The EU store's policies are in euros with their method fees; its 7-day electronics window is 14 in the EU.
    from returns import markets, selectors

    eu_electronics = selectors.policies_by_category({"electronics"}, country="FR")["electronics"]
    assert (eu_electronics.currency, eu_electronics.window_days) == ("EUR", 7)
    assert markets.effective_window_days(eu_electronics, "FR") == 14
    assert eu_electronics.method_fees() == {"label": Decimal("4.95"), "qr_drop_off": Decimal("2.50")}

    # Orders look like the OMS sent them: each charge is what the customer paid.
    for order in Order.objects.prefetch_related("lines", "payments"):
        (payment,) = order.payments.all()
        assert payment.gateway == "sandbox" and payment.currency == order.currency
        assert payment.amount == order.shipping_cost + sum(
            (line.unit_price + line.unit_tax) * line.quantity_ordered for line in order.lines.all())
    assert Payment.objects.filter(captured_at__lt=timezone.now() - timedelta(days=180)).exists()
    assert Order.objects.filter(loyalty_points_earned__gt=0).exists()

    # The refunds tell the stories the seed promises.
    declined = Refund.objects.get(failure_code="refund_declined")
    assert declined.status == RefundStatus.FAILED and declined.needs_attention
    assert declined.return_request.status == ReturnStatus.REFUND_PENDING
    fallback = Refund.objects.get(status=RefundStatus.FALLBACK)
    assert fallback.fallback_method == RefundMethod.STORE_CREDIT
    assert fallback.return_request.status == ReturnStatus.REFUNDED
    # Customers heard about their returns, each event once; the fallback was explained to carol.
    assert [message.to for message in mail.outbox if "is coming as" in message.subject] == [["carol@example.com"]]
    assert len({(tuple(message.to), message.subject) for message in mail.outbox}) == len(mail.outbox)
    eur = Refund.objects.get(currency="EUR")
    assert eur.status == RefundStatus.COMPLETED and eur.shipping_refund == Decimal("4.90")
    jpy = Refund.objects.get(currency="JPY")
    assert jpy.method == RefundMethod.STORE_CREDIT and jpy.store_credit_bonus == Decimal("704")
    assert Refund.objects.filter(restocking_fee__gt=0).exists()
    assert ReturnRequest.objects.filter(status=ReturnStatus.CLOSED, refund__isnull=True).exists()
    assert ReturnRequest.objects.filter(status=ReturnStatus.RECEIVED, arrived_late=True).exists()
    assert LoyaltyReversal.objects.exists()

    # The reviewers' decisions carry their names.
    rejected = ReturnRequest.objects.get(status=ReturnStatus.REJECTED)
    assert rejected.history.filter(status=ReturnStatus.REJECTED).get().history_user.username == "agent"

    # A gift receipt for W-10421's jacket: its code, printed once, opens it.
    from returns.gifts import gift_receipt_verify

    code = output.split("with the code ")[1].split()[0]
    receipt = gift_receipt_verify(code=code, client_ip="127.0.0.1")
    assert receipt.order.external_id == "W-10421" and receipt.order_line.product.sku == "APP-JKT-RAIN-L"
    assert "/gift/" in output

    # The books balance in every currency.
    balance = JournalLine.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
    assert {row["currency"]: row["total"] for row in balance} == {"EUR": 0, "JPY": 0, "USD": 0}

    # Every demo login works with the documented password and holds its role.
    User = get_user_model()  # noqa: N806
    for username, group in LOGINS.items():
        # A login comes with a request: django-axes refuses to judge one without.
        assert authenticate(RequestFactory().post("/login/"), username=username, password=PASSWORD) is not None, \
            username
        user = User.objects.get(username=username)
        assert user.is_staff == (username not in {"alice", "bob", "carol"})
        assert list(user.groups.values_list("name", flat=True)) == ([group] if group else [])
        assert username in output
    assert User.objects.get(username="admin").is_superuser
    assert "http://127.0.0.1:8000/admin/" in output

    # `make run` seeds on every start: the second time it changes nothing.
    before = _counts()
    assert "demo data already present" in _seed(django_capture_on_commit_callbacks, "--if-empty")
    assert _counts() == before

    # Without --if-empty it refuses to seed the same shop twice, and leaves the data alone.
    with pytest.raises(CommandError, match="already exist"):
        _seed(django_capture_on_commit_callbacks)
    assert _counts() == before
