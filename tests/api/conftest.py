"""Callers of the API: anonymous, two customers, two partners on two channels, staff."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from orders.models import SalesChannel
from partners.models import SCOPES
from partners.services import partner_key_create
from tests import factories


def client_for(user=None, key=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def partner_client(slug: str, channel: str, scopes) -> APIClient:
    SalesChannel.objects.get_or_create(code=channel, defaults={"name": channel})
    _, key = partner_key_create(partner_slug=slug, channel_code=channel, scopes=list(scopes))
    return client_for(key=key)


@dataclass
class World:
    order: object
    authorized: object  # a return of customer A, authorised
    pending: object  # a return of customer A waiting for review
    refund: object  # a refund paid on another return of customer A


@pytest.fixture
def world(shop, customer, warehouse, django_capture_on_commit_callbacks):
    factories.policy("electronics", review_mode="manual")
    order = factories.make_order(customer=customer, lines=[
        (shop.shirt, 3, "25.00", "2.00"), (shop.laptop, 1, "900.00", "90.00"), (shop.jacket, 1, "120.00", "0")])
    shirts, laptop, jacket = order.lines.all()
    from returns import services

    with django_capture_on_commit_callbacks(execute=True):
        authorized = services.return_request_create(by=customer, order_id=order.pk,
                                                    lines=[factories.line_request(shirts, 1)])
        pending = services.return_request_create(by=customer, order_id=order.pk,
                                                 lines=[factories.line_request(laptop, 1)])
        paid = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                         lines=[(jacket, 1)])
        factories.inspect_all(paid, by=warehouse)
    authorized.refresh_from_db()
    paid.refresh_from_db()
    return World(order=order, authorized=authorized, pending=pending, refund=paid.refund)


@pytest.fixture
def callers(customer, other_customer, reviewer, finance):
    return {
        "anonymous": client_for(),
        "customer_a": client_for(customer),
        "customer_b": client_for(other_customer),
        "partner_x": partner_client("partner-x", "web", SCOPES),
        "partner_x_unscoped": partner_client("partner-x-ro", "web", ["carrier:write"]),
        "partner_y": partner_client("partner-y", "app", SCOPES),
        "staff": client_for(reviewer),
        "finance": client_for(finance),
    }
