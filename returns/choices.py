from django.db import models
from django.utils.translation import gettext_lazy as _


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    AUTHORIZED = "authorized", _("Authorized")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    IN_TRANSIT = "in_transit", _("In transit")
    EXPIRED = "expired", _("Expired")
    RECEIVED = "received", _("Received")
    INSPECTED = "inspected", _("Inspected")
    REFUND_PENDING = "refund_pending", _("Refund pending")
    REFUNDED = "refunded", _("Refunded")
    CLOSED = "closed", _("Closed")


# Returns whose units still count against what is left to return on an order line.
OPEN_STATUSES = (
    ReturnStatus.REQUESTED,
    ReturnStatus.AUTHORIZED,
    ReturnStatus.IN_TRANSIT,
    ReturnStatus.RECEIVED,
    ReturnStatus.INSPECTED,
    ReturnStatus.REFUND_PENDING,
)
# Returns whose units have come back (or are on their way to being refunded).
SETTLED_STATUSES = (ReturnStatus.REFUNDED, ReturnStatus.CLOSED)
SHIPPED_STATUSES = (ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED, ReturnStatus.INSPECTED,
                    ReturnStatus.REFUND_PENDING, ReturnStatus.REFUNDED, ReturnStatus.CLOSED)


class ReviewMode(models.TextChoices):
    MANUAL = "manual", "Every return is reviewed"
    RISK_BASED = "risk_based", "Reviewed only when risky or large"


class Condition(models.TextChoices):
    NEW = "new", _("New")
    LIKE_NEW = "like_new", _("Like new")
    DAMAGED = "damaged", _("Damaged")
    UNSELLABLE = "unsellable", _("Unsellable")


class Disposition(models.TextChoices):
    RESTOCK = "restock", "Restock"
    QUARANTINE = "quarantine", "Quarantine and vendor claim"
    DISPOSE = "dispose", "Dispose"


DISPOSITION_BY_CONDITION = {
    Condition.NEW: Disposition.RESTOCK,
    Condition.LIKE_NEW: Disposition.RESTOCK,
    Condition.DAMAGED: Disposition.QUARANTINE,
    Condition.UNSELLABLE: Disposition.DISPOSE,
}


class RefundMethod(models.TextChoices):
    ORIGINAL_PAYMENT = "original_payment", _("Original payment")
    STORE_CREDIT = "store_credit", _("Store credit")
    CHEQUE = "cheque", _("Cheque")
    # A gift recipient's credit: never the purchaser's card (returns/gifts.py).
    GIFT_CARD = "gift_card", _("Gift card")


class Resolution(models.TextChoices):
    """What a returned line earns: money back the return's way, store credit, or a replacement."""

    REFUND = "refund", _("Refund")
    EXCHANGE = "exchange", _("Exchange")
    STORE_CREDIT = "store_credit", _("Store credit")


def default_allowed_resolutions() -> list[str]:
    return [Resolution.REFUND, Resolution.EXCHANGE, Resolution.STORE_CREDIT]


class RefundTiming(models.TextChoices):
    """When a return's refund is paid. Anything before inspection is an early refund: an advance
    on goods that have not been checked yet, recovered if they never come or fail inspection."""

    AT_REQUEST = "at_request", "When the return is authorised"
    FIRST_SCAN = "first_scan", "At the carrier's first scan"
    AT_RECEIPT = "at_receipt", "When the warehouse receives the parcel"
    AFTER_INSPECTION = "after_inspection", "After inspection"


# The moments an early refund can fall due, in the order a parcel reaches them.
EARLY_REFUND_TIMINGS = (RefundTiming.AT_REQUEST, RefundTiming.FIRST_SCAN, RefundTiming.AT_RECEIPT)


class ReturnMethod(models.TextChoices):
    """How the parcel travels back: each one a carrier adapter mode and a fee in the policy."""

    LABEL = "label", _("Printed label")
    QR_DROP_OFF = "qr_drop_off", _("QR code at a drop-off point")
    OWN_SHIPPING = "own_shipping", _("Own shipping")


def default_return_methods() -> dict[str, str]:
    return {ReturnMethod.LABEL: "0"}


class LabelStatus(models.TextChoices):
    NONE = "none", "No label yet"
    PENDING = "pending", "Label pending"
    ISSUED = "issued", "Label issued"


class InboundEventSource(models.TextChoices):
    CARRIER = "carrier", "Carrier"
    WAREHOUSE = "warehouse", "Warehouse"


class InboundEventKind(models.TextChoices):
    CARRIER_SCAN = "carrier_scan", "Carrier scan"
    DROP_OFF_SCAN = "drop_off_scan", "Drop-off counter scan"
    PARCEL_RECEIVED = "parcel_received", "Parcel received"
    INSPECTION = "inspection", "Inspection recorded"


# Which partner may send which event.
EVENT_KINDS_BY_SOURCE = {
    InboundEventSource.CARRIER: (InboundEventKind.CARRIER_SCAN, InboundEventKind.DROP_OFF_SCAN),
    InboundEventSource.WAREHOUSE: (InboundEventKind.PARCEL_RECEIVED, InboundEventKind.INSPECTION),
}


class InboundEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    WAITING = "waiting", "Waiting for an earlier step"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
