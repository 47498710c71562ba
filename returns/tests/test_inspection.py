"""Inspection: a condition per line with notes and evidence, recorded once; a supervisor's
correction is a new revision whose stock and books follow by new entries, never edits."""

from decimal import Decimal

import pytest

from core.errors import NotFound, PermissionDenied, ValidationFailed
from inventory.choices import MovementKind
from inventory.models import StockLevel, StockMovement
from inventory.selectors import stock_discrepancies
from inventory.services import stock_apply_inspection
from refunds.choices import EntryKind, RefundStatus
from refunds.models import JournalEntry, Refund
from returns import services
from returns.choices import Condition, Disposition, ReturnStatus
from returns.models import InspectionPhoto, ReturnLineInspection
from returns.tests.warehouse import every_line, line_of, png, received_return, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def inspected(order, customer, warehouse, django_capture_on_commit_callbacks):
    """Inspect every line of a received return of `order` as `condition`; the refund is paid."""

    def make(condition=Condition.NEW):
        rr = received_return(order, customer, warehouse)
        with django_capture_on_commit_callbacks(execute=True):
            services.return_inspect(return_request=rr, by=warehouse, inspections=every_line(rr, condition))
        rr.refresh_from_db()
        return rr

    return make


def correct(line, by, condition, capture, **extra):
    with capture(execute=True):
        return services.inspection_correct(return_line=line, by=by, condition=condition, **extra)


def movements(line) -> list[tuple[str, int, int, int]]:
    return list(StockMovement.objects.filter(return_line=line).order_by("id")
                .values_list("kind", "revision", "on_hand_delta", "quarantined_delta"))


def test_notes_and_evidence_photos_are_kept_with_the_inspection(order, customer, warehouse, settings, tmp_path,
                                                                django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    rr = received_return(order, customer, warehouse)
    shirt_line = line_of(rr, "shirt-blue-m")

    services.return_inspect(return_request=rr, by=warehouse, inspections={
        shirt_line.pk: {"condition": Condition.DAMAGED, "notes": "Torn seam on the left sleeve.",
                        "photos": [png("sleeve.png"), png("label.png", "blue")]},
    })

    record = ReturnLineInspection.objects.get(return_line=shirt_line)
    assert (record.revision, record.condition, record.disposition, record.quantity) == (
        1, Condition.DAMAGED, Disposition.QUARANTINE, 2)
    assert (record.notes, record.inspected_by) == ("Torn seam on the left sleeve.", warehouse)
    photos = InspectionPhoto.objects.filter(inspection=record)
    assert photos.count() == 2
    assert all((tmp_path / photo.image.name).exists() for photo in photos)
    shirt_line.refresh_from_db()
    assert shirt_line.inspection_notes == "Torn seam on the left sleeve."
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED  # the jacket is still to be inspected


def test_a_line_inspected_again_with_the_same_condition_is_a_repeat(order, customer, warehouse,
                                                                    django_capture_on_commit_callbacks):
    rr = received_return(order, customer, warehouse)
    shirt = {line_of(rr, "shirt-blue-m").pk: {"condition": Condition.NEW}}
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse, inspections=shirt)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        services.return_inspect(return_request=rr, by=warehouse, inspections=shirt)

    assert ReturnLineInspection.objects.count() == 1
    assert queued == []  # no stock task, no refund: nothing happened
    assert stock(order.lines.get(product__sku="shirt-blue-m").product) == (2, 0)


def test_inspecting_an_inspected_line_as_something_else_needs_a_supervisor(order, customer, warehouse):
    rr = received_return(order, customer, warehouse)
    shirt_line = line_of(rr, "shirt-blue-m")
    services.return_inspect(return_request=rr, by=warehouse, inspections={shirt_line.pk: {"condition": "new"}})

    with pytest.raises(ValidationFailed) as refused:
        services.return_inspect(return_request=rr, by=warehouse,
                                inspections={shirt_line.pk: {"condition": Condition.DAMAGED}})

    assert refused.value.code == "line_already_inspected"
    assert ReturnLineInspection.objects.get().condition == Condition.NEW


def test_a_supervisor_corrects_a_restocked_item_to_unsellable_after_the_refund_was_paid(
        shop, inspected, supervisor, django_capture_on_commit_callbacks):
    rr = inspected(Condition.NEW)
    assert rr.status == ReturnStatus.REFUNDED
    shirt_line = line_of(rr, "shirt-blue-m")
    refund_entries = set(JournalEntry.objects.filter(refund=rr.refund).values_list("pk", flat=True))

    record = correct(shirt_line, supervisor, Condition.UNSELLABLE, django_capture_on_commit_callbacks,
                     notes="Stained inside; missed at first.")

    assert (record.revision, record.disposition, record.inspected_by) == (2, Disposition.DISPOSE, supervisor)
    assert list(ReturnLineInspection.objects.filter(return_line=shirt_line).values_list("revision", "condition")) == [
        (1, Condition.NEW), (2, Condition.UNSELLABLE)]
    assert movements(shirt_line) == [
        (MovementKind.RESTOCK, 1, 2, 0), (MovementKind.REVERSAL, 2, -2, 0), (MovementKind.DISPOSE, 2, 0, 0)]
    assert stock(shop.shirt) == (0, 0)
    write_off = JournalEntry.objects.get(kind=EntryKind.WRITE_OFF, reference=f"return_line:{shirt_line.pk}:r2")
    assert {(line.account.code, line.amount) for line in write_off.lines.all()} == {
        ("inventory_write_off", Decimal("16.000")), ("returned_inventory", Decimal("-16.000"))}
    # the customer keeps the money: the refund and its entries are untouched
    refund = Refund.objects.get(return_request=rr)
    assert refund.status == RefundStatus.COMPLETED and refund.net == rr.refund.net
    assert set(JournalEntry.objects.filter(refund=refund).values_list("pk", flat=True)) == refund_entries
    shirt_line.refresh_from_db()
    assert (shirt_line.condition, shirt_line.disposition) == (Condition.UNSELLABLE, Disposition.DISPOSE)
    assert shirt_line.history.first().history_change_reason == "inspection corrected: new → unsellable (revision 2)"
    assert shirt_line.history.first().history_user == supervisor


def test_correcting_a_damaged_item_to_new_releases_the_quarantine_and_reverses_the_vendor_claim(
        shop, inspected, supervisor, django_capture_on_commit_callbacks):
    rr = inspected(Condition.DAMAGED)
    shirt_line = line_of(rr, "shirt-blue-m")
    assert stock(shop.shirt) == (0, 2)
    claim = JournalEntry.objects.get(kind=EntryKind.WRITE_OFF, reference=f"return_line:{shirt_line.pk}:r1")

    correct(shirt_line, supervisor, Condition.NEW, django_capture_on_commit_callbacks)

    assert stock(shop.shirt) == (2, 0)
    assert movements(shirt_line) == [
        (MovementKind.QUARANTINE, 1, 0, 2), (MovementKind.REVERSAL, 2, 0, -2), (MovementKind.RESTOCK, 2, 2, 0)]
    reversal = JournalEntry.objects.get(kind=EntryKind.REVERSAL, reference=claim.reference)
    assert sorted(line.amount for line in reversal.lines.all()) == sorted(-line.amount for line in claim.lines.all())
    assert not JournalEntry.objects.filter(reference=f"return_line:{shirt_line.pk}:r2").exists()


def test_corrections_delivered_out_of_order_end_at_the_latest_revision(
        shop, inspected, supervisor, django_capture_on_commit_callbacks):
    rr = inspected(Condition.NEW)
    shirt_line = line_of(rr, "shirt-blue-m")
    with django_capture_on_commit_callbacks(execute=False):
        services.inspection_correct(return_line=shirt_line, by=supervisor, condition=Condition.DAMAGED)
        services.inspection_correct(return_line=shirt_line, by=supervisor, condition=Condition.UNSELLABLE)

    stock_apply_inspection(return_line_id=shirt_line.pk, revision=3)
    stock_apply_inspection(return_line_id=shirt_line.pk, revision=2)  # late: superseded, changes nothing
    stock_apply_inspection(return_line_id=shirt_line.pk, revision=3)  # repeated: changes nothing

    assert movements(shirt_line) == [
        (MovementKind.RESTOCK, 1, 2, 0), (MovementKind.REVERSAL, 3, -2, 0), (MovementKind.DISPOSE, 3, 0, 0)]
    assert stock(shop.shirt) == (0, 0)
    assert not stock_discrepancies().exists()


@pytest.mark.parametrize("who", ["warehouse", "reviewer", "customer", "system"])
def test_only_a_supervisor_may_correct_an_inspection(shop, inspected, warehouse, reviewer, customer, who,
                                                     django_capture_on_commit_callbacks):
    rr = inspected(Condition.NEW)
    shirt_line = line_of(rr, "shirt-blue-m")
    by = {"warehouse": warehouse, "reviewer": reviewer, "customer": customer, "system": None}[who]

    with pytest.raises(PermissionDenied):
        correct(shirt_line, by, Condition.UNSELLABLE, django_capture_on_commit_callbacks)

    assert ReturnLineInspection.objects.filter(return_line=shirt_line).count() == 1
    assert stock(shop.shirt) == (2, 0)
    assert not JournalEntry.objects.filter(kind=EntryKind.WRITE_OFF).exists()


@pytest.mark.parametrize(("condition", "code"), [("new", "condition_unchanged"), ("broken", "invalid_condition")])
def test_a_correction_must_change_the_condition_to_a_known_one(inspected, supervisor, condition, code):
    rr = inspected(Condition.NEW)

    with pytest.raises(ValidationFailed) as refused:
        services.inspection_correct(return_line=line_of(rr, "shirt-blue-m"), by=supervisor, condition=condition)

    assert refused.value.code == code


def test_a_line_not_yet_inspected_cannot_be_corrected(order, customer, warehouse, supervisor):
    rr = received_return(order, customer, warehouse)

    with pytest.raises(ValidationFailed) as refused:
        services.inspection_correct(return_line=line_of(rr, "shirt-blue-m"), by=supervisor, condition="damaged")

    assert refused.value.code == "not_inspected"
    with pytest.raises(NotFound):
        services.inspection_correct(return_line=0, by=supervisor, condition="damaged")


def test_restocked_units_already_gone_cannot_be_pulled_back(shop, inspected, supervisor):
    rr = inspected(Condition.NEW)
    StockLevel.objects.filter(product=shop.shirt).update(on_hand=1)  # one shirt sold off the shelf since

    with pytest.raises(ValidationFailed) as refused:
        services.inspection_correct(return_line=line_of(rr, "shirt-blue-m"), by=supervisor, condition="unsellable")

    assert refused.value.code == "stock_already_moved"
    assert ReturnLineInspection.objects.filter(revision=2).count() == 0


@pytest.mark.django_db
def test_an_empty_parcel_is_inspected_with_no_lines_and_closes(order, customer, warehouse,
                                                                django_capture_on_commit_callbacks):
    from tests import factories as f

    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[f.line_request(order.lines.first(), 1)])
    services.return_receive(return_request=rr, by=warehouse, received_quantities={rr.lines.get().pk: 0})
    with django_capture_on_commit_callbacks(execute=True):
        closed = services.return_inspect(return_request=rr, by=warehouse, inspections={})
    assert closed.status == ReturnStatus.CLOSED and not closed.has_refund()
