"""What the customer reads about their orders, returns and refunds.

The codes and states are the system's; the sentences are written for a shopper, never name
who acted inside the shop and never hint at risk scoring.
"""

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from refunds.choices import RefundStatus
from returns.choices import RefundMethod, ReturnStatus

S = ReturnStatus


@dataclass(frozen=True)
class StatusText:
    title: str  # short, for a badge
    sentence: str  # what it means for the customer
    tone: str  # a CSS modifier; every badge also carries its words, so colour is never the only cue


STATUS_TEXT = {
    S.REQUESTED: StatusText(_("Being reviewed"), _("We have your request and are checking it."), "waiting"),
    S.AUTHORIZED: StatusText(_("Approved"), _("Your return is approved: pack the items and attach the label."),
                             "action"),
    S.REJECTED: StatusText(_("Declined"), _("We could not accept this return."), "ended"),
    S.CANCELLED: StatusText(_("Cancelled"), _("This return was cancelled."), "ended"),
    S.IN_TRANSIT: StatusText(_("On its way"), _("The carrier has your parcel and is bringing it to us."), "progress"),
    S.EXPIRED: StatusText(_("Expired"), _("The parcel was not sent in time, so the label has expired."), "ended"),
    S.RECEIVED: StatusText(_("Received"), _("Your parcel has arrived at our returns centre."), "progress"),
    S.INSPECTED: StatusText(_("Checked"), _("We have checked the items you sent back."), "progress"),
    S.REFUND_PENDING: StatusText(_("Refund on its way"), _("Your refund is being paid."), "progress"),
    S.REFUNDED: StatusText(_("Refunded"), _("Your refund has been paid."), "done"),
    S.CLOSED: StatusText(_("Complete"), _("This return is complete."), "done"),
}

# In the timeline a state is a step that happened, not where the return stands now.
TIMELINE_TEXT = {
    S.REQUESTED: StatusText(_("Requested"), _("We received your return request."), "progress"),
}

LABEL_READY = _("Your return label is ready to print.")

# Why an order line cannot be returned, by the code returns.selectors.returnable_lines gives.
NOT_RETURNABLE = {
    "order_not_fulfilled": _("This order has not shipped yet."),
    "product_not_returnable": _("This item cannot be returned."),
    "order_not_delivered": _("This order has not been delivered yet."),
    "return_window_closed": _("The return window has closed."),
    "nothing_left_to_return": _("Already returned, or in a return that is still open."),
}
ORDER_CANCELLED = _("This order was cancelled.")
# returnable_lines says "nothing_left_to_return" for a line of a partly shipped order that never shipped.
ITEM_NOT_SHIPPED = _("This item has not shipped yet.")

REFUND_STATUS_TEXT = {
    RefundStatus.PENDING: _("Being prepared"),
    RefundStatus.PROCESSING: _("Being paid"),
    RefundStatus.COMPLETED: _("Paid"),
    RefundStatus.FAILED: _("Delayed: we are retrying it, nothing for you to do"),
    RefundStatus.FALLBACK: _("Paid another way"),
    RefundStatus.WRITTEN_OFF: _("Settled"),
}

# An early refund whose parcel missed its deadline waits for the parcel (refunds.early_refunds).
REFUND_HELD_TEXT = _("On hold: it is paid once your parcel is scanned or reaches us")

REFUND_METHOD_TEXT = {
    RefundMethod.ORIGINAL_PAYMENT: _("Your original payment method"),
    RefundMethod.STORE_CREDIT: _("Store credit"),
    RefundMethod.CHEQUE: _("Cheque"),
}

CANCELLABLE = (S.REQUESTED, S.AUTHORIZED)


def status_text(status: str) -> StatusText:
    return STATUS_TEXT.get(status, StatusText(str(status).replace("_", " ").capitalize(), "", "waiting"))


def timeline_entries(return_request, events: list[dict]) -> list[dict]:
    """Turn the return's history events into lines the customer reads, oldest first."""
    entries = []
    for event in events:
        if event["kind"] == "label_issued":
            entries.append({"at": event["at"], "title": gettext("Label ready"), "detail": str(LABEL_READY),
                            "tone": "action"})
            continue
        text = TIMELINE_TEXT.get(event["status"]) or status_text(event["status"])
        detail = text.sentence
        # Rejection and cancellation reasons are written for the customer (the reviewer is told so).
        if event["status"] in (S.REJECTED, S.CANCELLED) and return_request.decision_reason:
            detail = gettext("%(status)s “%(reason)s”") % {"status": detail, "reason": return_request.decision_reason}
        entries.append({"at": event["at"], "title": text.title, "detail": detail, "tone": text.tone})
    return entries
