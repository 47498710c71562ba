"""Parcels at the warehouse door: received by RMA or tracking number, short shipments kept in
view, and parcels nobody expects queued until staff link them."""

import pytest

from core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from inventory.models import StockMovement
from returns import selectors, services
from returns.choices import Condition, ReturnStatus
from returns.models import ParcelPhoto, UnmatchedParcel
from returns.tests.warehouse import authorized_return, every_line, line_of, png, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_a_parcel_is_received_by_its_rma_and_a_short_shipment_stays_visible(order, customer, warehouse):
    rr = authorized_return(order, customer)
    shirt_line = line_of(rr, "shirt-blue-m")

    receipt = services.parcel_receive(by=warehouse, rma_number=rr.rma_number.lower(),
                                      received_quantities={shirt_line.pk: 1})

    assert receipt.return_request.pk == rr.pk and receipt.parcel is None and not receipt.already_received
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED  # before any carrier scan: that is normal
    shirt_line.refresh_from_db()
    assert (shirt_line.quantity, shirt_line.received_quantity) == (2, 1)
    assert shirt_line.history.first().history_change_reason == "received 1 of 2: short shipment"
    (short,) = selectors.short_shipped_lines()
    assert (short.pk, short.missing) == (shirt_line.pk, 1)
    assert line_of(rr, "jacket-rain-l").received_quantity == 1


def test_a_parcel_without_its_rma_is_matched_by_the_carriers_tracking_number(order, customer, warehouse):
    rr = authorized_return(order, customer)
    assert rr.tracking_number

    receipt = services.parcel_receive(by=warehouse, tracking_number=rr.tracking_number)

    assert receipt.return_request.pk == rr.pk
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED


def test_the_same_parcel_received_twice_is_received_once(order, customer, warehouse):
    rr = authorized_return(order, customer)
    shirt_line = line_of(rr, "shirt-blue-m")
    services.parcel_receive(by=warehouse, rma_number=rr.rma_number, received_quantities={shirt_line.pk: 1})
    history_rows = rr.history.count()

    again = services.parcel_receive(by=warehouse, rma_number=rr.rma_number, received_quantities={shirt_line.pk: 2})

    assert again.already_received and again.return_request.pk == rr.pk
    assert rr.history.count() == history_rows
    shirt_line.refresh_from_db()
    assert shirt_line.received_quantity == 1
    assert not UnmatchedParcel.objects.exists()


def test_a_parcel_nobody_expects_is_queued_with_its_note_and_photos(warehouse, media):
    receipt = services.parcel_receive(by=warehouse, rma_number="RMA-NOPE", tracking_number="1ZLOST",
                                      contents_note="Two blue shirts, no paperwork.", photos=[png("box.png")])

    parcel = receipt.parcel
    assert receipt.return_request is None
    assert (parcel.tracking_number, parcel.claimed_rma) == ("1ZLOST", "RMA-NOPE")
    assert parcel.contents_note == "Two blue shirts, no paperwork."
    assert parcel.problem == "No return has this RMA or tracking number."
    assert parcel.received_by == warehouse
    (photo,) = ParcelPhoto.objects.filter(parcel=parcel)
    assert (media / photo.image.name).exists()
    assert list(selectors.unmatched_parcels()) == [parcel]


def test_the_same_unmatched_parcel_reported_twice_is_queued_once(warehouse):
    first = services.parcel_receive(by=warehouse, tracking_number="1ZLOST").parcel
    second = services.parcel_receive(by=warehouse, tracking_number="1ZLOST", contents_note="again").parcel

    assert first.pk == second.pk
    assert UnmatchedParcel.objects.count() == 1


def test_a_parcel_for_a_cancelled_return_waits_for_staff(order, customer, warehouse):
    rr = authorized_return(order, customer)
    services.return_cancel(return_request=rr, by=customer, reason="Kept it.")

    receipt = services.parcel_receive(by=warehouse, rma_number=rr.rma_number)

    assert receipt.parcel.problem == f"{rr.rma_number} is cancelled: no parcel is due."
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.CANCELLED


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_filed(warehouse, media):
    not_an_image = png("box.png")
    not_an_image.file.write(b"garbage")
    not_an_image.file.seek(0)
    not_an_image.file.truncate(7)

    with pytest.raises(ValidationFailed) as refused:
        services.parcel_receive(by=warehouse, tracking_number="1ZLOST", photos=[not_an_image])

    assert refused.value.code == "invalid_photo"
    assert not UnmatchedParcel.objects.exists()


def test_received_quantities_are_checked_before_anything_is_received(order, customer, warehouse):
    rr = authorized_return(order, customer)
    shirt_line = line_of(rr, "shirt-blue-m")

    with pytest.raises(ValidationFailed) as refused:
        services.parcel_receive(by=warehouse, rma_number=rr.rma_number, received_quantities={shirt_line.pk: 3})

    assert refused.value.code == "invalid_received_quantity"
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED


@pytest.mark.parametrize("who", ["customer", "reviewer"])
def test_only_the_warehouse_receives_parcels(order, customer, reviewer, who):
    rr = authorized_return(order, customer)

    with pytest.raises(PermissionDenied):
        services.parcel_receive(by={"customer": customer, "reviewer": reviewer}[who], rma_number=rr.rma_number)

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED
    assert not UnmatchedParcel.objects.exists()


def test_linking_an_unmatched_parcel_receives_the_return_and_the_flow_resumes(
        shop, order, customer, warehouse, supervisor, django_capture_on_commit_callbacks):
    rr = authorized_return(order, customer)
    parcel = services.parcel_receive(by=warehouse, tracking_number="1ZSMUDGED").parcel
    jacket_line = line_of(rr, "jacket-rain-l")

    linked = services.parcel_link(parcel=parcel, return_request=rr, by=supervisor,
                                  received_quantities={jacket_line.pk: 0})

    assert linked.status == ReturnStatus.RECEIVED
    parcel.refresh_from_db()
    assert (parcel.return_request, parcel.linked_by) == (rr, supervisor) and parcel.linked_at
    assert not selectors.unmatched_parcels().exists()
    assert line_of(rr, "jacket-rain-l").received_quantity == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse,
                                inspections={line_of(rr, "shirt-blue-m").pk: {"condition": Condition.NEW}})

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED
    assert stock(shop.shirt) == (2, 0)
    assert not StockMovement.objects.filter(product=shop.jacket).exists()


def test_linking_the_same_parcel_again_changes_nothing_and_to_another_return_is_refused(
        shop, order, customer, warehouse):
    rr = authorized_return(order, customer, {"shirt-blue-m": 1})
    other = authorized_return(order, customer, {"jacket-rain-l": 1})
    parcel = services.parcel_receive(by=warehouse, tracking_number="1ZSMUDGED").parcel
    services.parcel_link(parcel=parcel, return_request=rr, by=warehouse)

    assert services.parcel_link(parcel=parcel, return_request=rr, by=warehouse).pk == rr.pk
    with pytest.raises(Conflict) as refused:
        services.parcel_link(parcel=parcel, return_request=other, by=warehouse)

    assert refused.value.code == "parcel_already_linked"
    other.refresh_from_db()
    assert other.status == ReturnStatus.AUTHORIZED


def test_a_parcel_cannot_be_linked_to_a_return_that_expects_none(order, customer, warehouse):
    rr = authorized_return(order, customer)
    services.return_cancel(return_request=rr, by=customer, reason="Kept it.")
    parcel = services.parcel_receive(by=warehouse, rma_number=rr.rma_number).parcel

    with pytest.raises(InvalidTransition):
        services.parcel_link(parcel=parcel, return_request=rr, by=warehouse)

    parcel.refresh_from_db()
    assert not parcel.is_linked


@pytest.mark.parametrize("who", ["customer", "reviewer", "system"])
def test_only_warehouse_staff_link_parcels(order, customer, reviewer, warehouse, who):
    rr = authorized_return(order, customer)
    parcel = services.parcel_receive(by=warehouse, tracking_number="1ZSMUDGED").parcel

    with pytest.raises(PermissionDenied):
        services.parcel_link(parcel=parcel, return_request=rr, by={"customer": customer, "reviewer": reviewer,
                                                                   "system": None}[who])

    parcel.refresh_from_db()
    assert not parcel.is_linked
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED


def test_every_line_can_be_inspected_once_the_linked_return_is_received(order, customer, warehouse,
                                                                       django_capture_on_commit_callbacks):
    rr = authorized_return(order, customer)
    parcel = services.parcel_receive(by=warehouse).parcel
    assert parcel.problem == "The parcel carries neither an RMA nor a tracking number."
    services.parcel_link(parcel=parcel, return_request=rr, by=warehouse)

    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, Condition.LIKE_NEW))

    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REFUNDED


def test_a_late_parcel_whose_items_were_asked_back_again_waits_for_staff(order, customer, warehouse):
    expired = authorized_return(order, customer, {"shirt-blue-m": 2})
    services.return_expire(return_request=expired)
    again = authorized_return(order, customer, {"shirt-blue-m": 1})  # the units were free again

    receipt = services.parcel_receive(by=warehouse, rma_number=expired.rma_number)

    assert receipt.return_request is None
    assert receipt.parcel.problem == (f"{expired.rma_number} expired and its items were asked back again on "
                                      f"{again.rma_number}: link the parcel to the return it belongs to.")
    reason = receipt.parcel.history.first().history_change_reason  # cut to its column, not a failed save
    assert reason.startswith(f"unmatched parcel filed: {expired.rma_number} expired") and reason.endswith("…")
    expired.refresh_from_db()
    assert expired.status == ReturnStatus.EXPIRED and line_of(expired, "shirt-blue-m").received_quantity is None
    with pytest.raises(Conflict) as refused:
        services.parcel_link(parcel=receipt.parcel, return_request=expired, by=warehouse)
    assert refused.value.code == "units_asked_back_again"
    receipt.parcel.refresh_from_db()
    assert not receipt.parcel.is_linked

    linked = services.parcel_link(parcel=receipt.parcel, return_request=again, by=warehouse)
    assert linked.status == ReturnStatus.RECEIVED


def test_a_late_parcel_is_received_when_its_items_are_still_free(order, customer, warehouse):
    expired = authorized_return(order, customer, {"shirt-blue-m": 1})
    services.return_expire(return_request=expired)
    authorized_return(order, customer, {"shirt-blue-m": 1})  # the order's other shirt

    receipt = services.parcel_receive(by=warehouse, rma_number=expired.rma_number)

    assert receipt.return_request.pk == expired.pk
    expired.refresh_from_db()
    assert (expired.status, expired.arrived_late) == (ReturnStatus.RECEIVED, True)

