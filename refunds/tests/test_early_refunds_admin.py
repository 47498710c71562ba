"""Unearned early refunds in the back-office: finance settles the receivable, a supervisor gives early
refunds back; anyone else's forged POST changes nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from refunds import ledger
from refunds.choices import RecoveryStatus
from refunds.models import EarlyRefundRecovery, EarlyRefundRevocation
from refunds.reconciliation import reconcile
from refunds.tasks import recover_overdue_early_refunds
from returns import services
from returns.choices import RefundTiming
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def recovery(order, customer, django_capture_on_commit_callbacks):
    factories.rules_pay_refunds(RefundTiming.AT_REQUEST)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_request_create(by=customer, order_id=order.pk,
                                       lines=[factories.line_request(order.lines.first(), 2)])
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert recover_overdue_early_refunds() == 1
    return EarlyRefundRecovery.objects.get()


def _settle_url(recovery) -> str:
    return reverse("admin:refunds_earlyrefundrecovery_settle", args=[recovery.pk])


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_finance_sees_the_receivable_and_settles_it(recovery, finance, client):
    client.force_login(finance)
    listing = client.get(reverse("admin:refunds_earlyrefundrecovery_changelist"), {"status__exact": "open"})
    assert list(listing.context["cl"].result_list) == [recovery]
    page = client.get(reverse("admin:refunds_earlyrefundrecovery_change", args=[recovery.pk]))
    assert _settle_url(recovery).encode() in page.content
    response = client.post(_settle_url(recovery), {"outcome": "repaid", "note": "Card payment ch_991"})
    assert response.status_code == 302
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.REPAID and recovery.settled_by == finance
    assert ledger.balance(ledger.account(ledger.EARLY_REFUND_RECEIVABLE), "USD") == 0
    history = client.get(reverse("admin:refunds_earlyrefundrecovery_history", args=[recovery.pk]))
    assert b"Card payment ch_991" in history.content
    assert reconcile().ok


def test_settling_without_a_note_changes_nothing(recovery, finance, client):
    client.force_login(finance)
    response = client.post(_settle_url(recovery), {"outcome": "written_off", "note": ""})
    assert response.status_code == 200 and response.context["form"].errors
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.OPEN


def test_a_supervisor_may_see_but_not_settle(recovery, supervisor, client):
    client.force_login(supervisor)
    page = client.get(reverse("admin:refunds_earlyrefundrecovery_change", args=[recovery.pk]))
    assert page.status_code == 200 and _settle_url(recovery).encode() not in page.content
    response = client.post(_settle_url(recovery), {"outcome": "written_off", "note": "forged"}, follow=True)
    assert any("may not" in message for message in _messages(response))
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.OPEN


@pytest.mark.parametrize("role", ["Warehouse", "Support agent"])
def test_other_roles_cannot_reach_the_receivable(recovery, client, role):
    client.force_login(factories.staff_user(role, username=f"u-{role[:4]}"))
    assert client.get(reverse("admin:refunds_earlyrefundrecovery_changelist")).status_code == 403
    assert client.post(_settle_url(recovery), {"outcome": "repaid", "note": "x"}).status_code == 403
    recovery.refresh_from_db()
    assert recovery.status == RecoveryStatus.OPEN


def test_a_supervisor_gives_early_refunds_back_and_finance_may_not(recovery, supervisor, finance, client):
    revocation = EarlyRefundRevocation.objects.get()
    url = reverse("admin:refunds_earlyrefundrevocation_restore", args=[revocation.pk])
    client.force_login(finance)
    client.post(url, {"reason": "forged"})
    revocation.refresh_from_db()
    assert revocation.active
    client.force_login(supervisor)
    response = client.post(url, {"reason": "The carrier lost the parcel"})
    assert response.status_code == 302
    revocation.refresh_from_db()
    assert not revocation.active and revocation.restored_by == supervisor
