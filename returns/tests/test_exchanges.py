"""Exchanges: the replacement's stock is held from authorisation, ordered for the OMS when the
parcel arrives (or at once for a trusted customer), and the price difference is paid back or
collected through the gateway, every cent through the ledger."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import InvalidTransition, PermissionDenied, ValidationFailed
from inventory.choices import MovementKind, ReservationStatus
from inventory.models import StockMovement, StockReservation
from inventory.selectors import available_to_reserve, stock_discrepancies, stock_level
from orders.choices import OrderStatus
from orders.models import Order
from partners.models import WebhookDelivery
from partners.services import partner_key_create, webhook_subscription_create
from refunds import ledger
from refunds.choices import AttemptOutcome, EntryKind, GatewayOperation, RefundStatus
from refunds.gateways.sandbox import SandboxGateway
from refunds.models import JournalEntry, SandboxCharge, SandboxRefund
from returns import services
from returns.choices import ReturnStatus
from returns.resolutions import return_line_change_resolution
from returns.tests.resolutions import (
    assert_books_clean,
    exchange_line,
    receive_and_inspect,
    stock,
    trust,
    variants,
)
from tests import factories

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def swaps(shop):
    same_price, dearer, cheaper = variants()
    for product in (same_price, dearer, cheaper, shop.shirt):
        stock(product, 5)
    return {"same": same_price, "dearer": dearer, "cheaper": cheaper}


@pytest.fixture
def shirts(order):
    return order.lines.get(product__sku="shirt-blue-m")


def _request(customer, order, *lines, **kwargs):
    return services.return_request_create(by=customer, order_id=order.pk, lines=list(lines), **kwargs)


def test_equal_price_exchange_ships_the_replacement_on_receipt_and_settles_with_nothing_to_pay(
        customer, order, shirts, swaps, warehouse, django_capture_on_commit_callbacks):
    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-blue-l"))
    assert rr.status == ReturnStatus.AUTHORIZED
    reservation = StockReservation.objects.get(return_line__return_request=rr)
    assert (reservation.status, reservation.quantity, reservation.product) == ("reserved", 1, swaps["same"])
    assert available_to_reserve([swaps["same"]]) == {swaps["same"].pk: 4}
    assert not Order.objects.filter(external_id__startswith="EXC-").exists()  # not before the parcel is in

    rr = receive_and_inspect(rr, warehouse=warehouse, capture=django_capture_on_commit_callbacks)

    replacement = Order.objects.get(external_id=f"EXC-{rr.rma_number}")
    assert (replacement.channel, replacement.customer, replacement.status) == (order.channel, customer,
                                                                                OrderStatus.PLACED)
    (line,) = replacement.lines.all()
    assert (line.product, line.quantity_ordered, line.unit_price, line.unit_tax) == (swaps["same"], 1, D("25.00"),
                                                                                     D("2.00"))
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.CONSUMED
    assert stock_level(product=swaps["same"]).on_hand == 4
    assert StockMovement.objects.filter(kind=MovementKind.REPLACEMENT, product=swaps["same"]).count() == 1
    assert not stock_discrepancies().exists()
    # An even swap owes nothing either way: the return closes, and the sale is still on the books.
    assert rr.status == ReturnStatus.CLOSED and not rr.has_refund()
    entry = JournalEntry.objects.get(kind=EntryKind.EXCHANGE_SETTLED)
    amounts = {line.account.code: line.amount for line in entry.lines.all()}
    assert amounts == {ledger.SALES_RETURNS: D("27.00"), ledger.EXCHANGE_SALES: D("-27.00")}
    assert not SandboxRefund.objects.exists() and not SandboxCharge.objects.exists()
    assert_books_clean()


def test_cheaper_replacement_pays_the_difference_back_through_the_gateway(
        customer, order, shirts, swaps, warehouse, django_capture_on_commit_callbacks):
    rr = _request(customer, order, exchange_line(shirts, 2, sku="shirt-basic-m"))
    rr = receive_and_inspect(rr, warehouse=warehouse, capture=django_capture_on_commit_callbacks)
    refund = rr.refund
    # Two shirts at 27.00 came back; two at 15.00 + 1.20 tax go out: 21.60 is paid back.
    assert (refund.gross, refund.replacement_total, refund.net, refund.charge_amount) == (
        D("54.00"), D("32.40"), D("21.60"), D("0"))
    assert (refund.status, rr.status) == (RefundStatus.COMPLETED, ReturnStatus.REFUNDED)
    assert SandboxRefund.objects.get().amount == D("21.60")
    assert refund.gateway_attempts.get().operation == GatewayOperation.REFUND
    assert ledger.balance(ledger.account(ledger.EXCHANGE_SALES), "USD") == D("-32.40")
    assert ledger.balance(ledger.account(ledger.GATEWAY_CLEARING), "USD") == D("-21.60")
    assert_books_clean()


def test_dearer_replacement_collects_the_difference_through_the_gateway_once(
        customer, order, shirts, swaps, warehouse, django_capture_on_commit_callbacks):
    SandboxGateway.script("timeout_after_commit")  # the gateway charged, then the answer was lost
    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-silk-m"))
    rr = receive_and_inspect(rr, warehouse=warehouse, capture=django_capture_on_commit_callbacks)
    refund = rr.refund
    # 40.00 + 3.20 tax out, 27.00 back: the customer pays 16.20.
    assert (refund.net, refund.replacement_total, refund.charge_amount) == (D("0"), D("43.20"), D("16.20"))
    assert refund.status == RefundStatus.COMPLETED and rr.status == ReturnStatus.REFUNDED
    charge = SandboxCharge.objects.get()  # retried with the same key: charged once
    assert (charge.amount, charge.payment_reference) == (D("16.20"), order.payments.get().charge_reference)
    attempts = list(refund.gateway_attempts.values_list("operation", "outcome", "idempotency_key"))
    assert [(op, outcome) for op, outcome, _ in attempts] == [
        (GatewayOperation.CHARGE, AttemptOutcome.TIMEOUT), (GatewayOperation.CHARGE, AttemptOutcome.SUCCEEDED)]
    assert {key for _, _, key in attempts} == {refund.idempotency_key}
    assert not SandboxRefund.objects.exists()
    kinds = set(refund.journal_entries.values_list("kind", flat=True))
    assert kinds == {EntryKind.REFUND_APPROVED, EntryKind.GATEWAY_CHARGE}
    assert ledger.balance(ledger.account(ledger.GATEWAY_CLEARING), "USD") == D("16.20")
    assert ledger.balance(ledger.account(ledger.EXCHANGE_RECEIVABLE), "USD") == 0
    assert_books_clean()


def test_a_declined_collection_goes_to_finance_who_may_retry_but_not_pay_it_another_way(
        customer, order, shirts, swaps, warehouse, finance, django_capture_on_commit_callbacks):
    from refunds.services import refund_fall_back

    SandboxGateway.script("decline")
    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-silk-m"))
    rr = receive_and_inspect(rr, warehouse=warehouse, capture=django_capture_on_commit_callbacks)
    refund = rr.refund
    assert (refund.status, refund.needs_attention, refund.failure_code) == (RefundStatus.FAILED, True,
                                                                            "charge_declined")
    with pytest.raises(ValidationFailed) as error:
        refund_fall_back(refund=refund, by=finance, method="store_credit")
    assert error.value.code == "collection_cannot_fall_back"
    assert ledger.balance(ledger.account(ledger.EXCHANGE_RECEIVABLE), "USD") == D("16.20")  # still owed to us
    assert_books_clean()


def test_mixed_lines_pay_store_credit_with_its_bonus_and_the_rest_to_the_card(
        customer, shop, shirts, swaps, warehouse, django_capture_on_commit_callbacks):
    order = factories.make_order(customer=customer, lines=[
        (shop.shirt, 2, "25.00", "2.00"), (shop.jacket, 1, "120.00", "12.00"), (shop.laptop, 1, "300.00", "0")])
    shirts, jacket, laptop = order.lines.all()
    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-basic-m"),
                  factories.line_request(jacket, 1, resolution="store_credit"),
                  factories.line_request(laptop, 1))
    rr = receive_and_inspect(rr, warehouse=warehouse, capture=django_capture_on_commit_callbacks)
    refund = rr.refund
    # Card: the laptop's 300.00 (its policy's fee is for damage only) and the shirt's 10.80 difference;
    # store credit: the jacket's 132.00, plus 5 % bonus.
    assert (refund.payment_amount, refund.store_credit_amount, refund.store_credit_bonus) == (
        D("310.80"), D("132.00"), D("6.60"))
    assert refund.status == RefundStatus.COMPLETED
    assert SandboxRefund.objects.get().amount == D("310.80")
    assert ledger.store_credit_balance(customer, "USD") == D("138.60")
    assert {line["key"]: line["resolution"] for line in refund.breakdown["lines"]} == {
        line.pk: line.resolution for line in rr.lines.all()}
    assert_books_clean()


def test_no_replacement_stock_refuses_the_exchange_and_the_quote_offers_a_refund(
        customer, order, shirts, swaps):
    stock(swaps["dearer"], -5)  # sold out
    with pytest.raises(ValidationFailed) as error:
        _request(customer, order, exchange_line(shirts, 1, sku="shirt-silk-m"))
    assert error.value.code == "replacement_out_of_stock"
    assert error.value.violations[0].field == "lines[0]"
    assert not StockReservation.objects.exists()

    quote = services.return_quote_request(by=customer, order_id=order.pk,
                                          lines=[exchange_line(shirts, 1, sku="shirt-silk-m")])
    (notice,) = quote.notices
    assert (notice["code"], notice["line"], notice["offered_resolution"]) == ("replacement_out_of_stock", 0, "refund")
    assert quote.lines[0].resolution == "refund" and quote.net == D("27.00")

    # Asked again as a refund, it goes through.
    assert _request(customer, order, factories.line_request(shirts, 1)).status == ReturnStatus.AUTHORIZED


def test_stock_reserved_by_one_exchange_is_not_there_for_the_next(customer, shop, swaps):
    stock(swaps["dearer"], -4)  # one left
    first = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    second = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00")])
    _request(customer, first, exchange_line(first.lines.get(), 1, sku="shirt-silk-m"))
    with pytest.raises(ValidationFailed) as error:
        _request(customer, second, exchange_line(second.lines.get(), 1, sku="shirt-silk-m"))
    assert error.value.code == "replacement_out_of_stock"


@pytest.mark.parametrize("end", ["cancel", "expire", "reject"])
def test_reservation_is_released_when_the_return_ends_without_the_exchange(
        end, customer, order, shirts, swaps, reviewer, manual_review):
    rr = _request(customer, order, exchange_line(shirts, 2, sku="shirt-blue-l"))
    if end != "reject":
        rr = services.return_approve(return_request=rr, by=reviewer)
        assert StockReservation.objects.get(return_line__return_request=rr).status == ReservationStatus.RESERVED
        assert available_to_reserve([swaps["same"]])[swaps["same"].pk] == 3
    if end == "cancel":
        services.return_cancel(return_request=rr, by=customer, reason="Found one in a shop")
    elif end == "expire":
        services.return_expire(return_request=rr)
    else:
        assert not StockReservation.objects.exists()  # nothing is held while it waits for review
        services.return_reject(return_request=rr, by=reviewer, reason="Outside what we can swap")
    assert not StockReservation.objects.filter(status=ReservationStatus.RESERVED).exists()
    assert available_to_reserve([swaps["same"]])[swaps["same"].pk] == 5
    released = StockReservation.objects.filter(status=ReservationStatus.RELEASED)
    assert released.count() == (0 if end == "reject" else 1)
    if end != "reject":
        assert released.get().history.filter(history_change_reason__startswith="released: return").exists()
    assert stock_level(product=swaps["same"]).on_hand == 5  # nothing moved


def test_a_trusted_customer_gets_the_replacement_at_authorisation_where_the_policy_says_so(
        customer, order, shirts, swaps, warehouse, django_capture_on_commit_callbacks):
    factories.policy(None, exchange_ship_before_receipt=True)
    trust(customer)
    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-basic-m"))
    assert rr.status == ReturnStatus.AUTHORIZED
    replacement = Order.objects.get(external_id=f"EXC-{rr.rma_number}")
    assert StockReservation.objects.get().status == ReservationStatus.CONSUMED
    # The parcel arrives later: nothing is ordered twice, and the difference is paid back then.
    rr = receive_and_inspect(rr, warehouse=warehouse, capture=django_capture_on_commit_callbacks)
    assert Order.objects.filter(external_id__startswith="EXC-").get() == replacement
    assert rr.refund.net == D("10.80") and rr.status == ReturnStatus.REFUNDED
    assert_books_clean()


def test_an_untrusted_customer_waits_for_the_parcel_even_where_the_policy_ships_first(
        customer, order, shirts, swaps):
    factories.policy(None, exchange_ship_before_receipt=True)
    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-basic-m"))
    assert rr.status == ReturnStatus.AUTHORIZED
    assert not Order.objects.filter(external_id__startswith="EXC-").exists()


def test_the_oms_hears_of_the_replacement_order_through_a_signed_webhook(customer, order, shirts, swaps,
                                                                          warehouse):
    from core.actors import PartnerActor
    from partners.models import PartnerAPIKey

    api_key, _ = partner_key_create(partner_slug="oms", channel_code="web", scopes=["webhooks:manage"])
    key = PartnerAPIKey.objects.get(pk=api_key.pk)
    actor = PartnerActor(user=key.partner.service_user, partner=key.partner, channel_id=key.channel_id,
                         scopes=frozenset(key.scopes), key_id=key.pk)
    webhook_subscription_create(by=actor, url="http://127.0.0.1:9/hooks", event_types=["exchange.order_created"])
    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-blue-l"))
    services.return_receive(return_request=rr, by=warehouse)
    delivery = WebhookDelivery.objects.get(event_type="exchange.order_created")
    data = delivery.payload["data"]
    assert data["order_external_id"] == f"EXC-{rr.rma_number}" and data["rma_number"] == rr.rma_number
    assert data["lines"] == [{"line_id": str(rr.lines.get().pk), "sku": "shirt-blue-l", "quantity": 1,
                              "unit_price": "25.00", "unit_tax": "2.00"}]


def test_a_policy_can_keep_exchanges_away_from_customers_but_not_from_staff(customer, shop, order, shirts, swaps,
                                                                            reviewer):
    factories.policy(None, allowed_resolutions=["refund", "store_credit"])
    with pytest.raises(ValidationFailed) as error:
        _request(customer, order, exchange_line(shirts, 1))
    assert error.value.code == "resolution_not_allowed"
    rr = _request(customer, order, factories.line_request(shirts, 1))
    line = return_line_change_resolution(line=rr.lines.get(), by=reviewer, resolution="exchange",
                                         reason="The customer phoned: wants the same shirt again")
    assert (line.resolution, line.replacement_product, line.replacement_unit_price) == ("exchange", shop.shirt,
                                                                                         D("25.00"))
    assert StockReservation.objects.get(return_line=line).status == ReservationStatus.RESERVED
    assert line.history.filter(history_user=reviewer, history_change_reason__contains="resolution changed").exists()


def test_staff_change_a_resolution_until_inspection_and_stock_follows(
        customer, order, shirts, swaps, reviewer, warehouse, django_capture_on_commit_callbacks):
    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-silk-m"))
    line = rr.lines.get()
    with pytest.raises(PermissionDenied):
        return_line_change_resolution(line=line, by=customer, resolution="refund")
    return_line_change_resolution(line=line, by=reviewer, resolution="store_credit")
    assert StockReservation.objects.get(return_line=line).status == ReservationStatus.RELEASED
    # Back to an exchange once the parcel is in: the replacement is ordered at once.
    services.return_receive(return_request=rr, by=warehouse)
    return_line_change_resolution(line=line, by=reviewer, resolution="exchange", replacement_sku="shirt-blue-l")
    assert Order.objects.filter(external_id=f"EXC-{rr.rma_number}").exists()
    with pytest.raises(Exception) as error:
        return_line_change_resolution(line=line, by=reviewer, resolution="refund")
    assert error.value.code == "replacement_already_ordered"
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    with pytest.raises(InvalidTransition) as error:
        return_line_change_resolution(line=line, by=reviewer, resolution="refund")
    assert error.value.code == "resolution_locked"
    assert_books_clean()


def test_a_short_parcel_replaces_only_what_came_back(customer, order, shirts, swaps, warehouse,
                                                     django_capture_on_commit_callbacks):
    rr = _request(customer, order, exchange_line(shirts, 2, sku="shirt-blue-l"))
    line = rr.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.return_receive(return_request=rr, by=warehouse, received_quantities={line.pk: 1})
        factories.inspect_all(rr, by=warehouse)
    assert Order.objects.get(external_id=f"EXC-{rr.rma_number}").lines.get().quantity_ordered == 1
    reservation = StockReservation.objects.get()
    assert (reservation.status, reservation.quantity) == (ReservationStatus.CONSUMED, 1)
    assert available_to_reserve([swaps["same"]])[swaps["same"].pk] == 4
    assert_books_clean()


def test_the_api_takes_resolutions_and_the_quote_shows_them(customer, order, shirts, swaps):
    from tests.api.conftest import client_for

    api = client_for(customer)
    body = {"order_id": order.pk, "lines": [exchange_line(shirts, 1, sku="shirt-silk-m")]}
    quote = api.post("/api/v1/returns/quote", body, format="json").json()
    assert (quote["charge"], quote["replacement_total"], quote["net"]) == ("16.20", "43.20", "0.00")
    assert quote["lines"][0]["resolution"] == "exchange" and quote["notices"] == []
    created = api.post("/api/v1/returns", body, format="json")
    assert created.status_code == 201, created.json()
    line = created.json()["lines"][0]
    assert (line["resolution"], line["replacement_sku"], line["returnless"]) == ("exchange", "shirt-silk-m", False)
    refused = api.post("/api/v1/returns", {"order_id": order.pk, "lines": [
        exchange_line(order.lines.get(product__sku="jacket-rain-l"), 1, sku="no-such-sku")]}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "replacement_not_found"


def test_expired_returns_release_stock_in_the_periodic_sweep_too(customer, order, shirts, swaps):
    from returns.tasks import expire_unshipped_returns

    rr = _request(customer, order, exchange_line(shirts, 1, sku="shirt-blue-l"))
    rr.authorized_at = timezone.now() - timedelta(days=30)
    rr.save(update_fields=["authorized_at"])
    expire_unshipped_returns()
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.EXPIRED
    assert StockReservation.objects.get().status == ReservationStatus.RELEASED


def test_resolutions_are_counted_for_the_dashboards(customer, order, shirts, swaps, django_capture_on_commit_callbacks):
    from prometheus_client import REGISTRY

    def count(resolution):
        return REGISTRY.get_sample_value("rma_resolutions_total", {"resolution": resolution}) or 0

    before = {name: count(name) for name in ("exchange", "store_credit", "refund")}
    jacket = order.lines.get(product__sku="jacket-rain-l")
    with django_capture_on_commit_callbacks(execute=True):
        _request(customer, order, exchange_line(shirts, 1, sku="shirt-blue-l"),
                 factories.line_request(jacket, 1, resolution="store_credit"))
    assert {name: count(name) - before[name] for name in before} == {"exchange": 1, "store_credit": 1, "refund": 0}
