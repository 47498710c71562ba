"""Gift receipts in the back-office: issued from the orders list as a PDF, printed again from
their list, and refused to whoever may not issue them."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from returns import gifts
from returns.models import GiftReceipt
from tests import factories

pytestmark = pytest.mark.django_db


def issue(client, *orders):
    return client.post(reverse("admin:orders_order_changelist"), {
        "action": "issue_gift_receipts", "_selected_action": [order.pk for order in orders]})


def test_an_agent_issues_a_receipt_from_the_orders_list_and_prints_it_again(client, order, reviewer):
    client.force_login(reviewer)
    response = issue(client, order)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    receipt = GiftReceipt.objects.get(order=order)
    assert receipt.issued_by == reviewer and receipt.history.first().history_change_reason == "gift receipt issued"
    listed = client.get(reverse("admin:returns_giftreceipt_changelist"))
    assert listed.status_code == 200 and receipt.code_hint in listed.content.decode()
    assert gifts.gift_receipt_code(receipt) not in listed.content.decode()
    again = client.get(reverse("admin:returns_giftreceipt_print", args=[receipt.pk]))
    assert again.status_code == 200 and again.content.startswith(b"%PDF")


def test_whoever_may_not_issue_gets_a_message_and_no_receipt(client, order, warehouse, finance):
    from django.contrib.auth.models import Permission

    warehouse.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(warehouse)
    response = issue(client, order)
    assert response.status_code == 302
    assert any("may not issue" in str(m) for m in get_messages(response.wsgi_request))
    assert not GiftReceipt.objects.exists()
    receipt, _ = gifts.gift_receipt_issue(by=factories.staff_user("Supervisor", username="sup"), order_id=order.pk)
    client.force_login(finance)
    assert client.get(reverse("admin:returns_giftreceipt_print", args=[receipt.pk])).status_code == 403


def test_a_gift_returns_page_names_the_recipient_and_finance_cannot_pay_it_another_way(
        client, order, reviewer, warehouse, finance, django_capture_on_commit_callbacks):
    from refunds.models import Refund
    from returns import services

    receipt, _ = gifts.gift_receipt_issue(by=reviewer, order_id=order.pk)
    rr = gifts.gift_return_create(gift_receipt=receipt, recipient_name="Grace Gift", recipient_email="g@example.net",
                                  lines=[factories.line_request(order.lines.first(), 1)])
    client.force_login(reviewer)
    page = client.get(reverse("admin:returns_returnrequest_change", args=[rr.pk]))
    assert page.status_code == 200
    assert "Grace Gift" in page.content.decode() and "g@example.net" in page.content.decode()

    services.return_mark_in_transit(return_request=rr)
    services.return_receive(return_request=rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    refund = Refund.objects.get(return_request=rr)
    client.force_login(finance)
    response = client.post(reverse("admin:refunds_refund_fall_back", args=[refund.pk]),
                           {"method": "cheque", "reason": "customer asked"}, follow=True)
    assert any("gift card" in str(m) for m in get_messages(response.wsgi_request))
    refund.refresh_from_db()
    assert refund.method == "gift_card" and refund.fallback_method == "" and not refund.cheque_number
