"""Return methods: how the parcel comes back, what each costs, and the drop-off QR code.

- `label`: the carrier issues a label the customer prints (today's way);
- `qr_drop_off`: no printer, no box — the customer shows a QR code at a drop-off point; the code
  is a signed token naming the RMA, so a counter cannot be fooled by a typed-in RMA number;
- `own_shipping`: the customer ships it their way and tells us the carrier and tracking number.

Each policy lists the methods it offers with a fee in the policy's currency. A return whose items
fall under several policies offers the methods every one of them offers, at the highest fee.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

from django.conf import settings
from django.core import signing
from django.utils import timezone

from core.errors import ValidationFailed
from core.money import round_money
from returns.choices import ReturnMethod

DROP_OFF_SALT = "returns.drop-off"
# Which carrier adapter mode each method uses: a label PDF, a drop-off QR, or no carrier at all.
CARRIER_MODE = {ReturnMethod.LABEL: "label", ReturnMethod.QR_DROP_OFF: "qr", ReturnMethod.OWN_SHIPPING: None}


@dataclass(frozen=True)
class Offer:
    method: str
    fee: Decimal
    currency: str


def offers(policies, *, currency: str) -> dict[str, Offer]:
    """The methods every one of `policies` offers for an order in `currency`, at the highest fee.

    A policy's fee is in its own currency; a fee charged in another currency than the order's
    cannot be deducted from its refund, so that method is not offered (a free one always is)."""
    policies = [policy for policy in policies if policy is not None]
    if not policies:
        return {}
    common = None
    fees: dict[str, Decimal] = {}
    for policy in policies:
        usable = {method: fee for method, fee in policy.method_fees().items()
                  if fee == 0 or policy.currency == currency}
        common = set(usable) if common is None else common & set(usable)
        for method, fee in usable.items():
            fees[method] = max(fees.get(method, Decimal(0)), fee)
    return {method: Offer(method, round_money(fees[method], currency), currency)
            for method in ReturnMethod.values if method in common}


def offered_for_some(policies, *, currency: str) -> dict[str, Offer]:
    """Every method at least one of `policies` offers, at its highest fee: what a form lists before
    the customer has chosen items (`choose` then checks the chosen items' policies)."""
    found: dict[str, Offer] = {}
    for policy in {policy.pk: policy for policy in policies if policy is not None}.values():
        for method, offer in offers([policy], currency=currency).items():
            if method not in found or offer.fee > found[method].fee:
                found[method] = offer
    return {method: found[method] for method in ReturnMethod.values if method in found}


def choose(policies, *, currency: str, method) -> Offer:
    """The offer for `method`, or a refusal with a stable code."""
    if method not in ReturnMethod.values:
        raise ValidationFailed(f"Choose one of {', '.join(ReturnMethod.values)}.", code="invalid_return_method")
    offered = offers(policies, currency=currency)
    if method not in offered:
        names = ", ".join(ReturnMethod(m).label.lower() for m in offered) or "none"
        raise ValidationFailed(f"{ReturnMethod(method).label} is not offered for these items (offered: {names}).",
                               code="return_method_not_offered")
    return offered[method]


# --- the drop-off QR code ---

def drop_off_token(return_request) -> str:
    """The signed token the drop-off QR carries: the RMA and when it was authorised, so the same
    return always shows the same code, and a code stops working when the RMA would expire."""
    if return_request.return_method != ReturnMethod.QR_DROP_OFF or return_request.authorized_at is None:
        raise ValidationFailed("This return has no drop-off code.", code="no_drop_off_code")
    return signing.dumps({"rma": return_request.rma_number, "at": int(return_request.authorized_at.timestamp())},
                         salt=DROP_OFF_SALT, compress=True)


def drop_off_valid_until(return_request):
    return return_request.authorized_at + timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"])


def verify_drop_off_token(token, *, now=None, check_expiry: bool = True) -> str:
    """The RMA number a counter's scanned code names. A code we did not sign, one for a return
    that is not a drop-off (or was re-authorised since), and one past its RMA's scan deadline are
    refused with stable codes (`drop_off_code_invalid`, `drop_off_code_expired`)."""
    from returns.models import ReturnRequest

    invalid = ValidationFailed("This drop-off code is not valid.", code="drop_off_code_invalid")
    if not isinstance(token, str) or not token or len(token) > 500:
        raise invalid
    try:
        claims = signing.loads(token, salt=DROP_OFF_SALT)
    except signing.BadSignature:
        raise invalid from None
    if not isinstance(claims, dict) or not isinstance(claims.get("rma"), str) or not isinstance(claims.get("at"), int):
        raise invalid
    found = ReturnRequest.objects.filter(rma_number=claims["rma"]).only(
        "rma_number", "return_method", "authorized_at").first()
    if (found is None or found.return_method != ReturnMethod.QR_DROP_OFF or found.authorized_at is None
            or int(found.authorized_at.timestamp()) != claims["at"]):
        raise invalid
    if check_expiry and (now or timezone.now()) > drop_off_valid_until(found):
        raise ValidationFailed("This drop-off code has expired: the return was not handed in in time.",
                               code="drop_off_code_expired")
    return found.rma_number


def render_drop_off_svg(return_request, *, size_px: int = 320) -> str:
    """The QR the customer shows at the counter, as an SVG image for a phone screen."""
    from reportlab.graphics import renderSVG

    return renderSVG.drawToString(_qr_drawing(drop_off_token(return_request), size_px))


def render_drop_off_pdf(return_request) -> bytes:
    """The same QR on an A6 page, for a customer who would rather print it after all."""
    from reportlab.graphics import renderPDF
    from reportlab.lib.pagesizes import A6
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(f"Drop-off code {return_request.rma_number}")
    pdf.setFont("Helvetica-Bold", 13)
    pdf.drawString(8 * mm, height - 12 * mm, "DROP-OFF CODE")
    pdf.setFont("Helvetica", 9)
    pdf.drawString(8 * mm, height - 18 * mm, "Show this code at a drop-off point. No box, no label needed.")
    size = 70 * mm
    renderPDF.draw(_qr_drawing(drop_off_token(return_request), size), pdf, (width - size) / 2, 22 * mm)
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawCentredString(width / 2, 14 * mm, return_request.rma_number)
    pdf.setFont("Helvetica", 8)
    until = timezone.localtime(drop_off_valid_until(return_request)).date().isoformat()
    pdf.drawCentredString(width / 2, 9 * mm, f"Valid until {until}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _qr_drawing(data: str, size):
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    qr = QrCodeWidget(data)
    x1, y1, x2, y2 = qr.getBounds()
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(qr)
    return drawing
