"""Gift returns: a gift receipt's code lets its recipient return items without an account.

The purchaser stays the customer of record; the recipient's name and e-mail are stored on the
return and every e-mail about it goes to them. The credit is always a gift card for the
recipient (refunds/services.py), never money back to the purchaser's payment.

Codes are guarded like passwords: a wrong code gets one generic answer (whether it exists, was
revoked or was never issued), and wrong codes from one address, or attempts at one code, lock
that address or code out for a while (in the Django cache, so it holds across processes when
the cache is shared). Logs name an attempt by a fingerprint, never by the code.
"""

import logging

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from core import codes
from core.actors import channel_of
from core.errors import ErrorList, NotFound, PermissionDenied, TooManyAttempts, ValidationFailed
from core.i18n import supported_language
from core.transitions import save_with_history
from orders.models import Order, OrderLine
from returns.choices import RefundMethod, Resolution
from returns.models import GiftReceipt, ReturnRequest

logger = logging.getLogger(__name__)

CODE_PURPOSE = "gift-receipt"
STATUS_SALT = "returns.gift-status"
INVALID_CODE = "We could not find a gift receipt with this code. Check it and try again."


# --- issuing ---

def gift_receipt_code(receipt: GiftReceipt) -> str:
    """The code printed on the receipt (derived again from its nonce; never stored)."""
    return codes.code_from_nonce(receipt.nonce, purpose=CODE_PURPOSE)


@transaction.atomic
def gift_receipt_issue(*, by, order_id, order_line_id=None) -> tuple[GiftReceipt, str]:
    """Issue a gift receipt for an order (or one line of it) and return it with its code.

    Staff with `returns.issue_giftreceipt` or a partner key with `gift_receipts:write` (for orders
    of its channel) may. A receipt issued again for the same order or line replaces the one
    before: the old code stops working."""
    if by is None or not by.is_authenticated:
        raise PermissionDenied("Log in first.", code="not_authenticated")
    if not by.has_perm("returns.issue_giftreceipt"):
        raise PermissionDenied("You may not issue gift receipts.")
    order = (Order.objects.select_for_update().filter(pk=order_id).first()
             if str(order_id).isdigit() else None)
    partner_channel = channel_of(by)
    if order is None or (partner_channel is not None and order.channel_id != partner_channel):
        raise NotFound("No such order.", code="order_not_found")
    order_line = None
    if order_line_id is not None:
        order_line = (OrderLine.objects.filter(pk=order_line_id, order=order).first()
                      if str(order_line_id).isdigit() else None)
        if order_line is None:
            raise ValidationFailed("That item is not part of this order.", code="line_not_in_order")
    now = timezone.now()
    for earlier in GiftReceipt.objects.select_for_update().filter(order=order, order_line=order_line,
                                                                   revoked_at__isnull=True):
        earlier.revoked_at = now
        save_with_history(earlier, by=by, reason="replaced by a new gift receipt")
    for _ in range(3):
        nonce = codes.new_nonce()
        code = codes.code_from_nonce(nonce, purpose=CODE_PURPOSE)
        receipt = GiftReceipt(order=order, order_line=order_line, nonce=nonce, code_hint=code[-4:],
                              code_digest=codes.digest(code, purpose=CODE_PURPOSE),
                              issued_by=getattr(by, "history_user", by))
        try:
            with transaction.atomic():
                save_with_history(receipt, by=by, reason="gift receipt issued")
        except IntegrityError:
            continue  # a digest collision: astronomically rare, draw again
        logger.info("gift receipt issued", extra={"order_id": order.pk, "gift_receipt_id": receipt.pk})
        return receipt, code
    raise RuntimeError("Could not draw a unique gift-return code")


# --- guarding the code ---

def _config(key: str) -> int:
    return settings.RETURNS[key]


def _counter_keys(client_ip: str, fingerprint: str) -> tuple[str, str]:
    return f"gift-code:failures:ip:{client_ip or 'unknown'}", f"gift-code:attempts:code:{fingerprint}"


def _bump(key: str) -> int:
    window = _config("GIFT_CODE_LOCKOUT_SECONDS")
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def gift_receipt_verify(*, code: str, client_ip: str) -> GiftReceipt:
    """The live gift receipt a typed code names, or one generic refusal.

    Refused with `too_many_attempts` (429) while the address has had too many wrong codes or the
    code too many attempts, even when the code is right; otherwise a wrong, revoked or malformed
    code is `gift_code_invalid` and counts against the address."""
    fingerprint = codes.fingerprint(code)
    ip_key, code_key = _counter_keys(client_ip, fingerprint)
    attempts_at_code = _bump(code_key)
    if (cache.get(ip_key, 0) >= _config("GIFT_CODE_MAX_FAILURES_PER_IP")
            or attempts_at_code > _config("GIFT_CODE_MAX_ATTEMPTS_PER_CODE")):
        logger.warning("gift code attempt while locked out",
                       extra={"client_ip": client_ip, "code_fingerprint": fingerprint})
        raise TooManyAttempts("Too many attempts. Wait a few minutes, then try again.", code="too_many_attempts")
    receipt = None
    if codes.looks_like_code(code):
        receipt = (GiftReceipt.objects.select_related("order", "order_line")
                   .filter(code_digest=codes.digest(code, purpose=CODE_PURPOSE), revoked_at__isnull=True).first())
    if receipt is None:
        failures = _bump(ip_key)
        logger.warning("gift code refused", extra={"client_ip": client_ip, "code_fingerprint": fingerprint,
                                                   "failures_from_address": failures})
        raise ValidationFailed(INVALID_CODE, code="gift_code_invalid")
    return receipt


# --- the recipient's return ---

def gift_receipt_lines(receipt: GiftReceipt) -> list[dict]:
    """The receipt's items with what can still be returned of each (`selectors.returnable_lines`)."""
    from returns.selectors import returnable_lines

    lines = returnable_lines(receipt.order)
    if receipt.order_line_id is not None:
        lines = [line for line in lines if line["order_line"].pk == receipt.order_line_id]
    return lines


def _checked_recipient(name: str, email: str) -> tuple[str, str]:
    errors = ErrorList()
    name, email = str(name or "").strip()[:200], str(email or "").strip()[:254]
    if not name:
        errors.add("recipient_name_required", "Enter your name.", field="recipient_name")
    try:
        validate_email(email)
    except DjangoValidationError:
        errors.add("invalid_email", "Enter the e-mail address we should write to.", field="recipient_email")
    errors.raise_if_any()
    return name, email


def gift_return_create(*, gift_receipt: GiftReceipt, recipient_name: str, recipient_email: str, lines: list[dict],
                       refund_method: str = RefundMethod.GIFT_CARD, note: str = "") -> ReturnRequest:
    """The recipient of a verified gift receipt returns items of it for a gift card. Their e-mails are
    written in the language they use the portal in now (they have no account to keep a choice in).

    Each line is `{"order_line_id", "quantity", "reason", "note"}`; the usual eligibility applies
    (window, returnable, quantity left, under a lock on the order). Anything but a gift card, and
    any line asking for an exchange or store credit (both would fall to the purchaser), is refused.
    """
    from returns.services import return_request_create

    name, email = _checked_recipient(recipient_name, recipient_email)
    if refund_method != RefundMethod.GIFT_CARD:
        raise ValidationFailed("A gift return is credited to a gift card for you, never refunded to the "
                               "purchaser's payment.", code="gift_return_gift_card_only")
    errors = ErrorList()
    for index, line in enumerate(lines or []):
        if not isinstance(line, dict):
            errors.add("invalid_line", "Each line names an item, a quantity and a reason.", field=f"lines[{index}]")
        elif (line.get("resolution") or Resolution.REFUND) != Resolution.REFUND or line.get("replacement_sku"):
            errors.add("gift_return_gift_card_only", "A gift return is credited to a gift card; it cannot be "
                       "exchanged or turned into the purchaser's store credit.", field=f"lines[{index}]")
        elif gift_receipt.order_line_id is not None and str(line.get("order_line_id")) != str(
                gift_receipt.order_line_id):
            errors.add("line_not_in_order", "That item is not part of this gift receipt.", field=f"lines[{index}]")
    errors.raise_if_any()
    lines = [{**line, "resolution": Resolution.REFUND} for line in lines or []]
    return return_request_create(by=None, order_id=gift_receipt.order_id, lines=lines,
                                 refund_method=RefundMethod.GIFT_CARD, note=note, gift_receipt=gift_receipt,
                                 recipient_name=name, recipient_email=email,
                                 recipient_language=supported_language(translation.get_language()) or "")


# --- the recipient's status page ---

def gift_status_token(return_request: ReturnRequest) -> str:
    """The signed, unguessable part of the recipient's status link (the same every time it is made)."""
    return signing.Signer(salt=STATUS_SALT).sign_object(return_request.pk)


def gift_return_for_token(token: str) -> ReturnRequest | None:
    try:
        pk = signing.Signer(salt=STATUS_SALT).unsign_object(str(token))
    except signing.BadSignature:
        return None
    return (ReturnRequest.objects.filter(pk=pk, gift_receipt__isnull=False)
            .select_related("order", "customer", "refund")
            .prefetch_related("lines__order_line__product", "lines__reason").first())
