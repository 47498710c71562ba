"""Money and dates as each language writes them, through the one helper the portal and e-mails use."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from core.money import format_money, format_percent
from tests import factories

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(("language", "amount", "currency", "expected"), [
    ("en", "1299", "USD", "$1,299.00"),
    ("de", "1299", "USD", f"1.299,00{NBSP}$"),
    ("fr", "1299", "USD", f"1{NNBSP}299,00{NBSP}$US"),
    ("en", "79", "EUR", "€79.00"),
    ("de", "79", "EUR", f"79,00{NBSP}€"),
    ("fr", "79", "EUR", f"79,00{NBSP}€"),
    ("de", "12800", "JPY", f"12.800{NBSP}¥"),   # no minor unit
    ("en", "1.2345", "KWD", "KWD1.235"),         # three, rounded half up
    ("de", "10.005", "EUR", f"10,01{NBSP}€"),    # rounded half up to the cent before formatting
    ("fr", "-5.1", "GBP", f"-5,10{NBSP}£GB"),
])
def test_money_is_written_the_way_the_language_writes_it(language, amount, currency, expected):
    assert format_money(Decimal(amount), currency, language=language) == expected
    with translation.override(language):
        assert format_money(Decimal(amount), currency) == expected
        assert Template("{% load portal_tags %}{{ a|money:c }}").render(Context({"a": Decimal(amount), "c": currency})
                                                                         ) == expected


@pytest.mark.parametrize(("language", "expected"), [("en", "12.5%"), ("de", f"12,5{NBSP}%"), ("fr", f"12,5{NBSP}%")])
def test_percentages_follow_the_language(language, expected):
    assert format_percent(Decimal("12.50"), language=language) == expected


@pytest.mark.parametrize(("language", "day", "moment"), [
    ("en", "3 March 2026", "3 March 2026, 14:05"),
    ("de", "3. März 2026", "3. März 2026 14:05"),
    ("fr", "3 mars 2026", "3 mars 2026 14:05"),
])
def test_dates_follow_the_language(language, day, moment):
    template = Template('{{ d|date }}|{{ t|date:"DATETIME_FORMAT" }}')
    at = timezone.make_aware(datetime(2026, 3, 3, 14, 5))
    with translation.override(language):
        assert template.render(Context({"d": date(2026, 3, 3), "t": at})) == f"{day}|{moment}"


@pytest.mark.django_db
def test_the_portal_shows_amounts_and_dates_in_the_customer_language(client, customer, order):
    client.force_login(customer)
    client.cookies["django_language"] = "de"
    shirt = order.lines.get(product__sku="shirt-blue-m")
    start = reverse("portal:return_start", args=[order.pk])
    prefix = f"line-{shirt.pk}"
    page = client.post(start, {"action": "quote", "refund_method": "original_payment", f"{prefix}-selected": "on",
                               f"{prefix}-quantity": "2", f"{prefix}-reason": "wrong_size"}).content.decode()
    assert f"54,00{NBSP}$" in page  # 2 × (25.00 + 2.00)
    with translation.override("de"):
        delivered = Template("{{ d|date }}").render(Context({"d": order.delivered_at}))
    assert delivered.split()[1] in {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                                    "September", "Oktober", "November", "Dezember"}
    assert f"Zugestellt am {delivered}" in client.get(reverse("portal:orders")).content.decode()


@pytest.mark.django_db
def test_an_order_in_euros_shows_euros(client, shop, customer):
    order = factories.make_order(customer=customer, currency="EUR", lines=[(shop.jacket, 1, "1200.00", "0")])
    client.force_login(customer)
    client.cookies["django_language"] = "fr"
    jacket = order.lines.get()
    page = client.post(reverse("portal:return_start", args=[order.pk]), {
        "action": "quote", "refund_method": "original_payment", f"line-{jacket.pk}-selected": "on",
        f"line-{jacket.pk}-quantity": "1", f"line-{jacket.pk}-reason": "wrong_size"}).content.decode()
    assert f"1{NNBSP}200,00{NBSP}€" in page
