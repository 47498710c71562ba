"""Finance's buttons on a refund: retry, pay another way, mark a cheque issued. Each goes through
refunds.services, so a forged POST by anyone else changes nothing."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from refunds.choices import RefundStatus
from refunds.gateways.sandbox import SandboxGateway
from refunds.models import Refund
from returns.choices import RefundMethod, ReturnStatus
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_refund(order, customer, warehouse, django_capture_on_commit_callbacks):
    SandboxGateway.script("decline")
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    refund = Refund.objects.get(return_request=rr)
    assert refund.status == RefundStatus.FAILED and refund.needs_attention
    return refund


def url(name: str, refund) -> str:
    return reverse(f"admin:refunds_refund_{name}", args=[refund.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_failed_refunds_queue(failed_refund, finance, client):
    client.force_login(finance)
    response = client.get(reverse("admin:refunds_refund_changelist"), {"queue": "needs_attention"})
    assert list(response.context["cl"].result_list) == [failed_refund]
    page = client.get(reverse("admin:refunds_refund_change", args=[failed_refund.pk])).content.decode()
    assert url("retry", failed_refund) in page and url("fall_back", failed_refund) in page


def test_finance_retries_a_failed_refund(failed_refund, finance, client, django_capture_on_commit_callbacks):
    client.force_login(finance)
    assert client.get(url("retry", failed_refund)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("retry", failed_refund))
    assert response.status_code == 302
    failed_refund.refresh_from_db()
    assert failed_refund.status == RefundStatus.COMPLETED and failed_refund.attempts == 2


def test_finance_pays_as_store_credit(failed_refund, finance, client):
    client.force_login(finance)
    client.post(url("fall_back", failed_refund), {"method": RefundMethod.STORE_CREDIT, "reason": "Card closed."})
    failed_refund.refresh_from_db()
    assert failed_refund.status == RefundStatus.FALLBACK
    assert failed_refund.fallback_method == RefundMethod.STORE_CREDIT
    assert failed_refund.return_request.status == ReturnStatus.REFUNDED


def test_finance_pays_by_cheque_then_marks_it_issued(failed_refund, finance, client):
    client.force_login(finance)
    client.post(url("fall_back", failed_refund), {"method": RefundMethod.CHEQUE})
    empty = client.post(url("cheque_issued", failed_refund), {"cheque_number": ""})
    assert empty.status_code == 200 and empty.context["form"].errors
    client.post(url("cheque_issued", failed_refund), {"cheque_number": "100234"})
    failed_refund.refresh_from_db()
    assert failed_refund.cheque_number == "100234"
    assert failed_refund.return_request.status == ReturnStatus.REFUNDED


@pytest.mark.parametrize("role", ["Support agent", "Supervisor", "Warehouse"])
def test_a_forged_finance_action_changes_nothing(failed_refund, client, role):
    client.force_login(factories.staff_user(role, username=f"not-finance-{role.split()[0].lower()}"))
    before = failed_refund.history.count()
    for name, data in (("retry", {}), ("fall_back", {"method": RefundMethod.STORE_CREDIT})):
        response = client.post(url(name, failed_refund), data)
        assert response.status_code in (200, 302, 403)
        if response.status_code != 403:
            assert any("Only finance" in m for m in messages_of(response))
    refund = Refund.objects.get(pk=failed_refund.pk)
    assert refund.status == RefundStatus.FAILED and refund.history.count() == before


def test_a_domain_error_is_a_message(failed_refund, finance, client):
    client.force_login(finance)
    client.post(url("fall_back", failed_refund), {"method": RefundMethod.STORE_CREDIT})
    response = client.post(url("retry", failed_refund))
    assert response.status_code == 302
    assert any("Only a failed refund can be retried" in m for m in messages_of(response))
