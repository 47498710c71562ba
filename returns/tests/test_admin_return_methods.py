"""The back-office shows how a return comes back and what that costs; markets are reference data."""

import pytest
from django.urls import reverse

from returns import services
from returns.models import Market, ReturnRequest
from tests import factories
from tests.factories import line_request

pytestmark = pytest.mark.django_db


def test_the_return_page_shows_the_method_its_fee_and_the_drop_off_code(client, order, customer, supervisor,
                                                                         django_capture_on_commit_callbacks):
    factories.policy(None, return_methods={"label": "0", "qr_drop_off": "1.50"})
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, return_method="qr_drop_off",
                                            lines=[line_request(order.lines.get(product__sku="shirt-blue-m"), 1)])
    rr = ReturnRequest.objects.get(pk=rr.pk)
    client.force_login(supervisor)

    page = client.get(reverse("admin:returns_returnrequest_change", args=[rr.pk])).content.decode()
    changelist = reverse("admin:returns_returnrequest_changelist")
    listed = client.get(changelist, {"return_method": "qr_drop_off", "status": "all"})
    labels_only = client.get(changelist, {"return_method": "label", "status": "all"})
    pdf = client.get(reverse("admin:returns_returnrequest_label", args=[rr.pk]))

    assert "QR code at a drop-off point" in page and "Drop-off QR code PDF" in page
    assert "qr code at a drop-off point fee −1.50 USD" in page
    assert rr.rma_number in listed.content.decode()
    assert rr.rma_number not in labels_only.content.decode()
    assert pdf.content.startswith(b"%PDF")


def test_markets_and_scoped_policies_are_listed(admin_client, shop):
    market = Market.objects.create(code="eu", name="Germany and France", countries=["DE", "FR"], currency="EUR")
    factories.policy(None, market=market, return_methods={"label": "2.50"})

    markets = admin_client.get(reverse("admin:returns_market_changelist")).content.decode()
    policies = admin_client.get(reverse("admin:returns_returnpolicy_changelist")).content.decode()

    assert "DE, FR" in markets and "EUR" in markets
    assert "label 2.50 EUR" in policies and "Policy for all other categories in Germany and France" in policies
