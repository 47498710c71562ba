"""Return methods end to end: printed label, box-free QR drop-off, own shipping — each with its fee."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing

from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from refunds import ledger
from refunds.reconciliation import reconcile
from returns import inbound, methods, services
from returns.choices import InboundEventStatus, LabelStatus, ReturnMethod, ReturnStatus
from returns.models import InboundEvent, ReturnRequest
from tests import factories
from tests.factories import line_request

pytestmark = pytest.mark.django_db

FEES = {"label": "3.95", "qr_drop_off": "1.50", "own_shipping": "0"}


@pytest.fixture
def priced_methods(shop):
    """Every method offered (USD, the default currency), each with its own fee."""
    return factories.policy(None, return_methods=FEES)


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def send(source, external_id, kind, payload):
        with django_capture_on_commit_callbacks(execute=True):
            event, created = inbound.event_accept(source=source, external_id=external_id, kind=kind, payload=payload)
        event.refresh_from_db()
        return event, created

    return send


def authorised(order, customer, method, django_capture_on_commit_callbacks) -> ReturnRequest:
    """The shirts of `order` returned by `method`, authorised, with whatever the carrier issues."""
    shirts = order.lines.get(product__sku="shirt-blue-m")
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, return_method=method,
                                            lines=[line_request(shirts, 2)])
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED
    return rr


def refund_after_receipt(rr, warehouse, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.return_receive(return_request=rr, by=warehouse)
        factories.inspect_all(ReturnRequest.objects.get(pk=rr.pk), by=warehouse)
    rr.refresh_from_db()
    return rr.refund


def shipped_history(rr) -> int:
    return [row.status for row in rr.history.order_by("history_id")].count(ReturnStatus.IN_TRANSIT)


@pytest.mark.parametrize(("method", "fee"), [("label", "3.95"), ("qr_drop_off", "1.50"), ("own_shipping", "0.00")])
def test_each_methods_fee_is_quoted_and_refunded_the_same(method, fee, order, customer, warehouse, priced_methods,
                                                          django_capture_on_commit_callbacks):
    shirts = order.lines.get(product__sku="shirt-blue-m")
    quote = services.return_quote_request(by=customer, order_id=order.pk, lines=[line_request(shirts, 2)],
                                          return_method=method)
    rr = authorised(order, customer, method, django_capture_on_commit_callbacks)
    services.return_mark_in_transit(return_request=rr)

    refund = refund_after_receipt(rr, warehouse, django_capture_on_commit_callbacks)

    assert (quote.return_method, quote.method_fee) == (method, Decimal(fee))
    assert quote.net == Decimal("54.00") - Decimal(fee)  # 2 × (25.00 + 2.00), no shipping back: the jacket stays
    assert (refund.net, refund.method_fee) == (quote.net, quote.method_fee)
    assert ledger.balance(ledger.account(ledger.RETURN_METHOD_FEE_INCOME), "USD") == -Decimal(fee)
    assert reconcile().ok


def test_printed_label_comes_from_the_carriers_label_mode(order, customer, priced_methods,
                                                          django_capture_on_commit_callbacks):
    rr = authorised(order, customer, ReturnMethod.LABEL, django_capture_on_commit_callbacks)

    assert (rr.return_method, rr.label_status, rr.tracking_number[:2]) == ("label", LabelStatus.ISSUED, "1Z")
    assert rr.policy_snapshot["return_method"] == {"code": "label", "fee": "3.95", "currency": "USD"}
    with pytest.raises(ValidationFailed) as refused:
        methods.drop_off_token(rr)
    assert refused.value.code == "no_drop_off_code"


def test_qr_drop_off_scan_is_the_first_carrier_scan_and_a_repeat_changes_nothing(
        order, customer, warehouse, priced_methods, deliver, django_capture_on_commit_callbacks):
    rr = authorised(order, customer, ReturnMethod.QR_DROP_OFF, django_capture_on_commit_callbacks)
    assert (rr.label_status, rr.tracking_number[:2]) == (LabelStatus.ISSUED, "DO")
    code = methods.drop_off_token(rr)
    assert rr.rma_number not in code.split(":")[-1]  # the signature is not the RMA number

    first, created = deliver("carrier", "counter-1", "drop_off_scan", {"code": code, "location": "Kiosk 12"})
    again, created_again = deliver("carrier", "counter-1", "drop_off_scan", {"code": code, "location": "Kiosk 12"})
    other_id, _ = deliver("carrier", "counter-2", "drop_off_scan", {"code": code})

    rr.refresh_from_db()
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert (first.status, first.return_request_id) == (InboundEventStatus.PROCESSED, rr.pk)
    assert other_id.status == InboundEventStatus.PROCESSED
    assert rr.status == ReturnStatus.IN_TRANSIT
    assert shipped_history(rr) == 1
    refund = refund_after_receipt(rr, warehouse, django_capture_on_commit_callbacks)
    assert refund.method_fee == Decimal("1.50")


def test_the_same_qr_code_always_shows_for_the_same_return(order, customer, priced_methods,
                                                           django_capture_on_commit_callbacks):
    rr = authorised(order, customer, ReturnMethod.QR_DROP_OFF, django_capture_on_commit_callbacks)

    assert methods.drop_off_token(rr) == methods.drop_off_token(ReturnRequest.objects.get(pk=rr.pk))
    assert methods.render_drop_off_svg(rr).lstrip().startswith("<?xml")
    assert methods.render_drop_off_pdf(rr).startswith(b"%PDF")


def forged(code: str) -> str:
    body, signature = code.rsplit(":", 1)
    return f"{body}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


@pytest.mark.parametrize("tamper", [
    forged,
    lambda code: "RMA-ABCD-EFGH",  # the bare RMA number typed in
    lambda code: signing.dumps({"rma": "RMA-0000-0000", "at": 0}, salt=methods.DROP_OFF_SALT),  # no such return
    lambda code: signing.dumps({"rma": "x", "at": 0}, salt="another.purpose"),  # signed for something else
    lambda code: "",
])
def test_a_forged_drop_off_code_is_refused_at_the_counter_and_stores_nothing(
        tamper, order, customer, priced_methods, django_capture_on_commit_callbacks):
    rr = authorised(order, customer, ReturnMethod.QR_DROP_OFF, django_capture_on_commit_callbacks)

    with pytest.raises(ValidationFailed) as refused:
        inbound.event_accept(source="carrier", external_id="counter-9", kind="drop_off_scan",
                             payload={"code": tamper(methods.drop_off_token(rr))})

    assert refused.value.code == "drop_off_code_invalid"
    assert not InboundEvent.objects.exists()
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED


def test_a_label_returns_rma_signed_as_a_drop_off_is_refused(order, customer, priced_methods,
                                                              django_capture_on_commit_callbacks):
    rr = authorised(order, customer, ReturnMethod.LABEL, django_capture_on_commit_callbacks)
    code = signing.dumps({"rma": rr.rma_number, "at": int(rr.authorized_at.timestamp())},
                         salt=methods.DROP_OFF_SALT, compress=True)

    with pytest.raises(ValidationFailed) as refused:
        methods.verify_drop_off_token(code)
    assert refused.value.code == "drop_off_code_invalid"


def test_an_expired_drop_off_code_is_refused(order, customer, priced_methods, settings,
                                             django_capture_on_commit_callbacks):
    rr = authorised(order, customer, ReturnMethod.QR_DROP_OFF, django_capture_on_commit_callbacks)
    code = methods.drop_off_token(rr)
    deadline = rr.authorized_at + timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"])

    assert methods.verify_drop_off_token(code, now=deadline) == rr.rma_number
    with pytest.raises(ValidationFailed) as refused:
        methods.verify_drop_off_token(code, now=deadline + timedelta(seconds=1))
    assert refused.value.code == "drop_off_code_expired"

    ReturnRequest.objects.filter(pk=rr.pk).update(authorized_at=rr.authorized_at - timedelta(days=30))
    old = methods.drop_off_token(ReturnRequest.objects.get(pk=rr.pk))
    with pytest.raises(ValidationFailed) as at_counter:
        inbound.event_accept(source="carrier", external_id="counter-late", kind="drop_off_scan",
                             payload={"code": old})
    assert at_counter.value.code == "drop_off_code_expired"
    assert not InboundEvent.objects.exists()


def test_own_shipping_asks_the_carrier_for_nothing_then_the_tracking_numbers_scan_ships_it(
        order, customer, other_customer, warehouse, priced_methods, deliver, django_capture_on_commit_callbacks):
    rr = authorised(order, customer, ReturnMethod.OWN_SHIPPING, django_capture_on_commit_callbacks)
    assert (rr.label_status, rr.carrier, rr.tracking_number) == (LabelStatus.NONE, "", "")
    services.return_issue_label(return_request_id=rr.pk)  # a stray label task changes nothing
    rr.refresh_from_db()
    assert rr.label_status == LabelStatus.NONE

    with pytest.raises(NotFound):
        services.return_record_own_shipment(return_request=rr, by=other_customer, carrier="DHL",
                                            tracking_number="JD0142")
    with pytest.raises(ValidationFailed) as bad:
        services.return_record_own_shipment(return_request=rr, by=customer, carrier="", tracking_number="no spaces!")
    assert {v.code for v in bad.value.violations} == {"invalid_carrier", "invalid_tracking_number"}

    services.return_record_own_shipment(return_request=rr, by=customer, carrier="DHL", tracking_number="JD0142")
    services.return_record_own_shipment(return_request=rr, by=customer, carrier="DHL", tracking_number="JD0142")
    rr.refresh_from_db()
    assert (rr.carrier, rr.tracking_number, rr.status) == ("DHL", "JD0142", ReturnStatus.AUTHORIZED)
    assert rr.history.filter(history_change_reason="own shipment: DHL JD0142").count() == 1

    event, _ = deliver("carrier", "dhl-1", "carrier_scan", {"tracking_number": "JD0142"})
    rr.refresh_from_db()
    assert (event.status, rr.status) == (InboundEventStatus.PROCESSED, ReturnStatus.IN_TRANSIT)
    with pytest.raises(InvalidTransition) as late:
        services.return_record_own_shipment(return_request=rr, by=customer, carrier="UPS", tracking_number="1Z9")
    assert late.value.code == "returnrequest_cannot_record_shipment"
    assert refund_after_receipt(rr, warehouse, django_capture_on_commit_callbacks).method_fee == 0
    assert reconcile().ok


def test_own_shipment_details_only_for_own_shipping_returns(order, customer, shop, priced_methods,
                                                           django_capture_on_commit_callbacks):
    labelled = authorised(order, customer, ReturnMethod.LABEL, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationFailed) as refused:
        services.return_record_own_shipment(return_request=labelled, by=customer, carrier="DHL",
                                            tracking_number="JD0142")
    assert refused.value.code == "not_own_shipping"

    second = factories.make_order(customer=customer, lines=[(shop.shirt, 2, "25.00", "2.00")])
    own = authorised(second, customer, ReturnMethod.OWN_SHIPPING, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict) as taken:
        services.return_record_own_shipment(return_request=own, by=customer, carrier="Sandbox",
                                            tracking_number=labelled.tracking_number)
    assert taken.value.code == "tracking_number_in_use"


def test_a_method_the_policy_does_not_offer_is_refused_and_nothing_is_written(order, customer, shop):
    factories.policy(None, return_methods={"label": "0"})
    shirts = order.lines.get(product__sku="shirt-blue-m")

    for method, code in (("qr_drop_off", "return_method_not_offered"), ("pigeon", "invalid_return_method")):
        with pytest.raises(ValidationFailed) as refused:
            services.return_request_create(by=customer, order_id=order.pk, return_method=method,
                                           lines=[line_request(shirts, 1)])
        assert refused.value.code == code
        with pytest.raises(ValidationFailed):
            services.return_quote_request(by=customer, order_id=order.pk, return_method=method,
                                          lines=[line_request(shirts, 1)])
    assert not ReturnRequest.objects.exists()


def test_a_return_across_policies_offers_what_all_offer_at_the_highest_fee(shop, customer):
    factories.policy(None, return_methods={"label": "2.00", "qr_drop_off": "1.00"})
    factories.policy("electronics", return_methods={"label": "4.00", "own_shipping": "0"})
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "25.00", "2.00"),
                                                           (shop.laptop, 1, "900.00", "90.00")])
    shirt, laptop = order.lines.all()

    quote = services.return_quote_request(by=customer, order_id=order.pk, return_method="label",
                                          lines=[line_request(shirt, 1), line_request(laptop, 1)])
    assert quote.method_fee == Decimal("4.00")
    with pytest.raises(ValidationFailed) as refused:
        services.return_quote_request(by=customer, order_id=order.pk, return_method="qr_drop_off",
                                      lines=[line_request(shirt, 1), line_request(laptop, 1)])
    assert refused.value.code == "return_method_not_offered"
    # The shirt alone may still go by drop-off.
    alone = services.return_quote_request(by=customer, order_id=order.pk, return_method="qr_drop_off",
                                          lines=[line_request(shirt, 1)])
    assert alone.method_fee == Decimal("1.00")


def test_the_policy_refuses_unknown_methods_and_negative_fees(shop):
    from django.core.exceptions import ValidationError

    policy = factories.policy(None)
    for bad in ({}, {"pigeon": "0"}, {"label": "-1"}, {"label": "abc"}, ["label"]):
        policy.return_methods = bad
        with pytest.raises(ValidationError) as refused:
            policy.full_clean()
        assert "return_methods" in refused.value.message_dict


def test_the_approval_e_mail_says_the_method_and_carries_what_it_needs(order, customer, shop, priced_methods,
                                                                      mailoutbox,
                                                                      django_capture_on_commit_callbacks):
    authorised(order, customer, ReturnMethod.QR_DROP_OFF, django_capture_on_commit_callbacks)
    second = factories.make_order(customer=customer, lines=[(shop.shirt, 2, "25.00", "2.00")])
    authorised(second, customer, ReturnMethod.OWN_SHIPPING, django_capture_on_commit_callbacks)

    drop_off, own = mailoutbox
    assert "QR code at a drop-off point" in drop_off.body and "no box and no printer" in drop_off.body
    assert [name for name, _, _ in drop_off.attachments] == [f"drop-off-code-{drop_off.extra_headers['X-RMA']}.pdf"]
    assert "Own shipping" in own.body and "tracking number on your return's page" in own.body
    assert own.attachments == []
