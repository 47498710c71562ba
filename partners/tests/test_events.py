"""Return and refund events: raised once per state change, sent only once the change commits."""

import json

import pytest
from django.db import transaction

from orders.models import SalesChannel
from partners.models import WebhookDelivery
from partners.services import partner_key_create
from returns import services as returns
from tests import factories

pytestmark = pytest.mark.django_db


def _request_return(customer, order, quantity=1):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    return returns.return_request_create(by=customer, order_id=order.pk,
                                         lines=[factories.line_request(shirts, quantity)])


def test_each_state_change_is_sent_once_and_only_after_commit(
        customer, order, endpoint, subscribe, django_capture_on_commit_callbacks):
    subscribe()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        return_request = _request_return(customer, order)
    assert return_request.status == "authorized"
    assert endpoint.received == []  # recorded, but nothing leaves before the commit
    assert sorted(WebhookDelivery.objects.values_list("event_type", flat=True)) == [
        "return.authorized", "return.requested"]

    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        returns.return_cancel(return_request=return_request, by=customer, reason="Found a better size")

    assert endpoint.event_types == ["return.requested", "return.authorized", "return.cancelled"]
    cancelled = json.loads(endpoint.received[-1].body)
    assert cancelled["type"] == "return.cancelled"
    assert cancelled["data"]["rma_number"] == return_request.rma_number
    assert cancelled["data"]["status"] == "cancelled"
    assert cancelled["data"]["previous_status"] == "authorized"
    assert cancelled["data"]["order_external_id"] == order.external_id
    assert cancelled["data"]["decision_reason"] == "Found a better size"
    assert len({json.loads(r.body)["id"] for r in endpoint.received}) == 3


def test_a_rolled_back_change_sends_nothing(customer, order, endpoint, subscribe,
                                            django_capture_on_commit_callbacks):
    subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        return_request = _request_return(customer, order)
    sent = len(endpoint.received)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        returns.return_cancel(return_request=return_request, by=customer)
        raise RuntimeError("the rest of the request failed")

    assert len(endpoint.received) == sent
    assert not WebhookDelivery.objects.filter(event_type="return.cancelled").exists()


def test_refund_events_follow_the_money(customer, order, warehouse, endpoint, subscribe,
                                       django_capture_on_commit_callbacks):
    subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        return_request = factories.received_return(order=order, customer=customer, warehouse=warehouse)
        factories.inspect_all(return_request, by=warehouse)

    assert endpoint.event_types == [
        "return.requested", "return.authorized", "return.in_transit", "return.received", "return.inspected",
        "return.refund_pending", "refund.processing", "refund.completed", "return.refunded"]
    completed = json.loads(endpoint.received[7].body)["data"]
    refund = return_request.refund
    assert completed["refund"] == {
        "id": refund.pk, "status": "completed", "previous_status": "processing", "method": "original_payment",
        "net": f"{refund.net:.2f}", "currency": "USD", "failure_code": None, "will_retry": False}
    refunded = json.loads(endpoint.received[-1].body)["data"]
    assert refunded["status"] == "refunded"
    assert refunded["refund"]["status"] == "completed"


def test_only_listening_subscriptions_on_the_orders_channel_receive(
        customer, order, endpoint, subscribe, django_capture_on_commit_callbacks):
    SalesChannel.objects.create(code="marketplace", name="Marketplace")
    elsewhere, _ = partner_key_create(partner_slug="other-shop", channel_code="marketplace",
                                      scopes=["webhooks:manage"])
    subscribe(["return.cancelled"])
    subscribe(key=elsewhere)  # every event, but of another channel's orders
    paused = subscribe()
    paused.active = False
    paused.save()

    with django_capture_on_commit_callbacks(execute=True):
        return_request = _request_return(customer, order)
        returns.return_cancel(return_request=return_request, by=customer)

    assert endpoint.event_types == ["return.cancelled"]


def test_the_payload_carries_no_secret_and_no_customer_details(customer, order, endpoint, subscribe,
                                                              django_capture_on_commit_callbacks):
    subscription = subscribe(["return.requested"])
    with django_capture_on_commit_callbacks(execute=True):
        _request_return(customer, order)

    body = endpoint.received[0].body.decode()
    assert subscription.secret not in body
    assert customer.email not in body
    event = json.loads(body)
    assert set(event) == {"id", "type", "created_at", "data"}
    assert event["data"]["previous_status"] is None

