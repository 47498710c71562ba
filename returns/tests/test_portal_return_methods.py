"""The portal: the return method chosen in the wizard with its fee, the drop-off QR code, own shipping."""


import pytest
from django.urls import reverse

from returns.choices import ReturnStatus
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(shop):
    return factories.policy(None, return_methods={"label": "3.95", "qr_drop_off": "1.50", "own_shipping": "0"})


@pytest.fixture
def portal(client, customer):
    client.force_login(customer)
    return client


def wizard_post(order, action, method):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    return {"action": action, "refund_method": "original_payment", "return_method": method,
            f"line-{shirts.pk}-selected": "on", f"line-{shirts.pk}-quantity": "2",
            f"line-{shirts.pk}-reason": "wrong_size", f"line-{shirts.pk}-resolution": "refund"}


def test_the_wizard_offers_each_method_with_its_fee_and_quotes_it(portal, order, offered):
    url = reverse("portal:return_start", args=[order.pk])
    page = portal.get(url).content.decode()
    quoted = portal.post(url, wizard_post(order, "quote", "qr_drop_off")).content.decode()

    assert 'value="qr_drop_off"' in page and "$1.50, taken from your refund" in page and "free" in page
    assert 'data-testid="quote-method-fee">−$1.50' in quoted
    assert 'data-testid="quote-payment">$52.50' in quoted


def test_a_drop_off_return_shows_its_qr_code_and_only_to_its_customer(portal, order, offered, other_customer,
                                                                      client, django_capture_on_commit_callbacks):
    url = reverse("portal:return_start", args=[order.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = portal.post(url, wizard_post(order, "submit", "qr_drop_off"))
    rr = ReturnRequest.objects.get()
    confirmation = portal.get(response.url).content.decode()
    code = portal.get(reverse("portal:drop_off_code", args=[rr.rma_number]))
    pdf = portal.get(reverse("portal:label", args=[rr.rma_number]))

    assert rr.return_method == "qr_drop_off"
    assert "Your drop-off code" in confirmation and "QR code at a drop-off point" in confirmation
    assert (code.status_code, code["Content-Type"]) == (200, "image/svg+xml")
    assert pdf.content.startswith(b"%PDF") and "drop-off-code" in pdf["Content-Disposition"]
    client.force_login(other_customer)
    assert client.get(reverse("portal:drop_off_code", args=[rr.rma_number])).status_code == 404


def test_own_shipping_takes_the_tracking_number_in_the_portal(portal, order, offered,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        portal.post(reverse("portal:return_start", args=[order.pk]), wizard_post(order, "submit", "own_shipping"))
    rr = ReturnRequest.objects.get()
    page = portal.get(reverse("portal:return", args=[rr.rma_number])).content.decode()
    bad = portal.post(reverse("portal:shipment", args=[rr.rma_number]), {"carrier": "DHL", "tracking_number": "a b"},
                      follow=True).content.decode()
    portal.post(reverse("portal:shipment", args=[rr.rma_number]), {"carrier": "DHL", "tracking_number": "JD0142"})
    rr.refresh_from_db()

    assert "Send it your own way" in page and "Label pending" not in page
    assert "letters and digits" in bad
    assert (rr.carrier, rr.tracking_number, rr.status) == ("DHL", "JD0142", ReturnStatus.AUTHORIZED)
    assert portal.get(reverse("portal:drop_off_code", args=[rr.rma_number])).status_code == 404


def test_own_shipping_speaks_the_customers_language(portal, order, offered, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        portal.post(reverse("portal:return_start", args=[order.pk]), wizard_post(order, "submit", "own_shipping"))
    rr = ReturnRequest.objects.get()
    url = reverse("portal:shipment", args=[rr.rma_number])
    german = {"HTTP_ACCEPT_LANGUAGE": "de", "follow": True}
    missing = portal.post(url, {"carrier": "", "tracking_number": ""}, **german).content.decode()
    bad = portal.post(url, {"carrier": "DHL", "tracking_number": "a b"}, **german).content.decode()
    done = portal.post(url, {"carrier": "DHL", "tracking_number": "JD0142"}, **german).content.decode()
    assert "Geben Sie den Versanddienst und die Sendungsnummer an." in missing
    assert "Buchstaben und Ziffern" in bad
    assert "Wir verfolgen Ihr Paket mit dieser Sendungsnummer." in done


def test_a_method_not_offered_for_the_items_is_shown_on_the_method_field(portal, order, shop):
    factories.policy(None, return_methods={"label": "0"})
    factories.policy("apparel", return_methods={"label": "0", "qr_drop_off": "1.00"})
    jacket_only_policy = factories.policy("outerwear", return_methods={"label": "0"})
    shop.jacket.category = jacket_only_policy.category
    shop.jacket.save()
    jacket = order.lines.get(product__sku="jacket-rain-l")
    data = {**wizard_post(order, "submit", "qr_drop_off"), f"line-{jacket.pk}-selected": "on",
            f"line-{jacket.pk}-quantity": "1", f"line-{jacket.pk}-reason": "wrong_size",
            f"line-{jacket.pk}-resolution": "refund"}

    page = portal.post(reverse("portal:return_start", args=[order.pk]), data).content.decode()

    assert "is not offered for these items" in page
    assert not ReturnRequest.objects.exists()
