"""Every admin page makes as many queries for a big shop as for a small one.

The shop is grown through the services, as people and systems grow it: each round adds an order
whose return is paid, one waiting for review, one authorised, a goodwill credit and an unmatched
parcel. Every registered admin's list page, and the change page of its newest row, is read after
one round and again after more rounds of bigger orders; a count that grows with the data is an N+1.
"""

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from refunds import credit, goodwill
from returns import services
from returns.models import UnmatchedParcel
from tests import factories

pytestmark = pytest.mark.django_db

_skus = iter(range(1, 10**6))


def grow(shop, *, customer, warehouse, supervisor, capture, lines: int) -> None:
    products = [factories.product(f"aq-{next(_skus)}") for _ in range(lines)]
    order = factories.make_order(customer=customer, lines=[(product, 3, "20.00", "2.00") for product in products])
    order_lines = list(order.lines.all())
    with capture(execute=True):
        paid = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                         lines=[(line, 1) for line in order_lines])
        factories.inspect_all(paid, by=warehouse)
        shipping = services.return_request_create(
            by=customer, order_id=order.pk, lines=[factories.line_request(line, 1) for line in order_lines])
        if shipping.status == "requested":  # many open returns raise the fraud score
            shipping = services.return_approve(return_request=shipping, by=supervisor)
        services.return_mark_in_transit(return_request=shipping, tracking_number=f"1ZAQ{next(_skus)}")
        # Electronics are reviewed by hand (see below): this one waits in the review queue.
        gadgets = [factories.product(f"aq-{next(_skus)}", category="electronics") for _ in range(lines)]
        gadget_order = factories.make_order(customer=customer,
                                            lines=[(product, 1, "30.00", "3.00") for product in gadgets])
        services.return_request_create(by=customer, order_id=gadget_order.pk,
                                       lines=[factories.line_request(line, 1) for line in gadget_order.lines.all()])
        goodwill.goodwill_grant(order=order, by=supervisor, amount=Decimal("5.00"), method="store_credit",
                                reason="Arrived late; a gesture of goodwill.")
    # A gift card spent at checkout, once per line (its page lists every spending).
    gift_order = factories.make_order(customer=customer, lines=[(products[0], 1, "20.00", "2.00")])
    _, code = factories.issued_gift_card(order=gift_order, warehouse=warehouse)
    finance = factories.staff_user("Finance", username=f"aq-finance-{next(_skus)}")
    for n in range(lines):
        credit.gift_card_redeem(code=code, amount="1.00", currency="USD", reference=f"CHK-{n}", by=finance)
        credit.store_credit_spend(email=customer.email, amount="1.00", currency="USD", reference=f"CHK-{n}",
                                  by=finance)  # from the goodwill above
    UnmatchedParcel.objects.create(tracking_number=f"1ZUNM{next(_skus)}", contents_note="a shirt",
                                   received_at=paid.received_at, received_by=warehouse)


def admin_pages():
    """(name, url of the list, url of the newest row's change page or None) for every registered admin."""
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        try:
            changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        except NoReverseMatch:
            continue
        newest = model_admin.get_queryset(_request()).order_by("-pk").first()
        change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[newest.pk]) if newest else None
        yield f"{meta.app_label}.{meta.model_name}", changelist, change


def _request():
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = _request.superuser
    return request


def read_all(client) -> dict[str, list[str]]:
    """The SQL each page ran, by page."""
    counts = {}
    for name, changelist, change in admin_pages():
        for label, url in (("list", changelist), ("change", change)):
            if url is None:
                continue
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200, f"{name} {label}: {response.status_code}"
            counts[f"{name} {label}"] = [query["sql"] for query in captured.captured_queries]
    return counts


def test_admin_pages_read_a_fixed_number_of_queries_whatever_the_data(
        shop, customer, warehouse, supervisor, client, django_capture_on_commit_callbacks):
    factories.policy("electronics", review_mode="manual")
    superuser = factories.UserFactory(username="aq-root", is_staff=True, is_superuser=True)
    _request.superuser = superuser
    client.force_login(superuser)
    people = dict(customer=customer, warehouse=warehouse, supervisor=supervisor,
                  capture=django_capture_on_commit_callbacks)

    grow(shop, lines=1, **people)
    small = read_all(client)
    grow(shop, lines=4, **people)
    big = read_all(client)

    assert len(small) > 20, "the admin should register more pages than this"
    grown = {page: (len(small[page]), len(big[page]), _extra(small[page], big[page]))
             for page in small if page in big and len(big[page]) > len(small[page])}
    assert not grown, f"queries grow with the data (small, big, the most repeated): {grown}"


def _extra(small: list[str], big: list[str]) -> list[str]:
    """The statements the big page ran more often than the small one, with their literals masked."""
    from collections import Counter

    def shape(sql):
        return re.sub(r"_django_curs_\w+|\b\d+\b|'[^']*'", "?", sql)[:400]

    return list((Counter(map(shape, big)) - Counter(map(shape, small))).elements())
