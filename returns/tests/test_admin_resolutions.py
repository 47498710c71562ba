"""The back-office knows the new resolutions: a line's resolution on the return's page, staff
changing it through the service, and supervisors granting goodwill within their limit."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from refunds.models import GoodwillCredit
from returns import services
from returns.tests.resolutions import exchange_line, stock, variants
from tests import factories

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_return_page_shows_each_lines_resolution_and_staff_change_it(client, customer, order, reviewer):
    same_price, _, _ = variants()
    stock(same_price, 3)
    shirts = order.lines.get(product__sku="shirt-blue-m")
    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[exchange_line(shirts, 1, sku="shirt-blue-l")])
    line = rr.lines.get()
    client.force_login(reviewer)
    page = client.get(reverse("admin:returns_returnrequest_change", args=[rr.pk])).content.decode()
    assert "Exchange → shirt-blue-l" in page
    url = reverse("admin:returns_returnrequest_line_resolution", args=[rr.pk, line.pk])
    assert url in page
    response = client.post(url, {"resolution": "store_credit", "reason": "Customer asked by phone"})
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.resolution == "store_credit" and line.replacement_product is None
    assert line.history.filter(history_user=reviewer, history_change_reason__contains="Customer asked").exists()


def test_someone_without_the_permission_is_refused_even_with_a_forged_post(client, customer, order, warehouse):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirts, 1)])
    line = rr.lines.get()
    client.force_login(warehouse)
    response = client.post(reverse("admin:returns_returnrequest_line_resolution", args=[rr.pk, line.pk]),
                           {"resolution": "exchange"}, follow=True)
    assert any("may not" in message for message in _messages(response))
    line.refresh_from_db()
    assert line.resolution == "refund"


def test_a_supervisor_grants_goodwill_from_the_admin_and_an_agent_is_held_to_their_limit(
        client, order, supervisor, reviewer):
    add = reverse("admin:refunds_goodwillcredit_add")
    order_page = client.get  # noqa: F841 - the order page links here
    client.force_login(supervisor)
    form = client.get(f"{add}?order={order.pk}").content.decode()
    assert "195.95 USD" in form and "250" in form  # what is left on the order, and the supervisor's limit
    response = client.post(add, {"order": order.pk, "amount": "40.00", "method": "store_credit",
                                 "reason": "Jacket arrived with a torn seam; customer keeps it"})
    assert response.status_code == 302
    grant = GoodwillCredit.objects.get()
    assert (grant.amount, grant.granted_by) == (Decimal("40.00"), supervisor)
    client.force_login(reviewer)
    response = client.post(add, {"order": order.pk, "amount": "30.00", "method": "store_credit",
                                 "reason": "Late"}, follow=True)
    assert any("above your goodwill limit" in message for message in _messages(response))
    assert GoodwillCredit.objects.count() == 1
    order_admin = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert f"{add}?order={order.pk}" in order_admin
