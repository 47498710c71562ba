"""The customer e-mails: a subject, a text body and an HTML body per event, from
templates/emails/<event>{_subject.txt,.txt,.html}; the authorisation carries the label as a PDF."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.i18n import customer_language, supported_language
from core.money import format_money
from notifications.choices import NotificationEvent
from returns.choices import LabelStatus, RefundMethod

# How a refund reaches the customer, as the end of a sentence ("we have refunded $27.00 …").
REFUND_WAY = {
    RefundMethod.ORIGINAL_PAYMENT: _("to your original payment method"),
    RefundMethod.STORE_CREDIT: _("as store credit"),
    RefundMethod.CHEQUE: _("by cheque"),
    RefundMethod.GIFT_CARD: _("as a gift card"),
}


def _portal_url(return_request, event: str = "") -> str:
    if event == NotificationEvent.GIFT_RETURNED:
        return ""  # the recipient's status page is theirs, not the purchaser's
    try:
        if return_request.gift_receipt_id is not None:
            from returns.gifts import gift_status_token

            path = reverse("portal:gift_status", args=[gift_status_token(return_request)])
        else:
            path = reverse("portal:return", args=[return_request.rma_number])
    except NoReverseMatch:
        return ""
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _money(amount, currency: str) -> str:
    return format_money(amount, currency)


def context_for(notification) -> dict:
    return_request = notification.return_request
    refund = return_request.refund if return_request.has_refund() else None
    lines = [{"name": line.order_line.product.name, "quantity": line.quantity,
              "received": line.received_quantity, "kept": line.returnless}
             for line in return_request.lines.select_related("order_line__product")]
    kept_lines = [line for line in lines if line["kept"]]
    if notification.event == NotificationEvent.RETURN_AUTHORIZED and len(kept_lines) < len(lines):
        # The approval lists what to pack: items the customer keeps (returnless) are named apart.
        lines = [line for line in lines if not line["kept"]]
    context = {
        "event": notification.event,
        "return_request": return_request,
        "rma": return_request.rma_number,
        "customer_name": _addressee(return_request, notification.event),
        "order_number": return_request.order.external_id,
        "lines": lines,
        "portal_url": _portal_url(return_request, notification.event),
        "kept_lines": kept_lines,
        "kept_names": ", ".join(line["name"] for line in kept_lines),
        "all_kept": bool(kept_lines) and lines == kept_lines,
        "decision_reason": return_request.decision_reason,
        "label_attached": notification.event == NotificationEvent.RETURN_AUTHORIZED
        and return_request.label_status == LabelStatus.ISSUED,
        "carrier": return_request.carrier,
        "tracking_number": return_request.tracking_number,
        "return_method": return_request.return_method,
        "return_method_label": return_request.get_return_method_display(),
        "shop_name": settings.SHOP_NAME,
    }
    if notification.event == NotificationEvent.GIFT_CARD_ISSUED and refund is not None:
        from refunds.services import gift_card_code

        gift_card = getattr(refund, "gift_card", None)
        context.update(gift_card=gift_card, gift_card_code=gift_card_code(gift_card) if gift_card else "",
                       gift_card_amount=_money(gift_card.initial_amount, gift_card.currency) if gift_card else "")
    if refund is not None:
        context.update(
            refund=refund, refund_amount=_money(refund.net, refund.currency),
            refund_way=str(REFUND_WAY.get(refund.fallback_method or refund.method, "")),
            store_credit_bonus=_money(refund.store_credit_bonus, refund.currency) if refund.store_credit_bonus
            else "",
            fallback_method=refund.fallback_method,
            charge_amount=_money(refund.charge_amount, refund.currency), charge_to_card=bool(refund.charge_reference),
        )
    return context


def to_gift_recipient(return_request, event: str) -> bool:
    """Whether an e-mail about the return goes to its gift recipient: every one of a gift return but
    the one a policy may send the purchaser."""
    return return_request.gift_receipt_id is not None and event != NotificationEvent.GIFT_RETURNED


def _addressee(return_request, event: str) -> str:
    if to_gift_recipient(return_request, event):
        return return_request.recipient_name
    return return_request.customer.first_name or return_request.customer.get_username()


def language_of(return_request, event: str) -> str:
    """The gift recipient's language for their e-mails (the one they used the portal in), else the
    customer's."""
    if to_gift_recipient(return_request, event):
        return supported_language(return_request.recipient_language) or settings.LANGUAGE_CODE
    return customer_language(return_request.customer)


def build_message(notification, *, recipient: str | None = None) -> EmailMultiAlternatives:
    event = notification.event
    language = language_of(notification.return_request, event)
    with translation.override(language):
        context = context_for(notification)
        subject = " ".join(render_to_string(f"emails/{event}_subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject=subject, body=render_to_string(f"emails/{event}.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient or notification.return_request.customer.email],
            headers={"X-RMA": notification.return_request.rma_number, "Content-Language": language},
        )
        message.attach_alternative(render_to_string(f"emails/{event}.html", context), "text/html")
        if context["label_attached"]:
            from returns.choices import ReturnMethod
            from returns.labels import render_label_pdf
            from returns.methods import render_drop_off_pdf

            if context["return_method"] == ReturnMethod.QR_DROP_OFF:
                message.attach(f"drop-off-code-{context['rma']}.pdf",
                               render_drop_off_pdf(notification.return_request), "application/pdf")
            else:
                message.attach(f"return-label-{context['rma']}.pdf",
                               render_label_pdf(notification.return_request), "application/pdf")
    return message
