"""The printable gift receipt: what was given (no prices) and the code to return it with."""

from io import BytesIO

from django.conf import settings
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from returns.labels import BOLD, REGULAR, register_fonts


def render_gift_receipts_pdf(receipts: list[tuple[object, str]]) -> bytes:
    """One A6 page per (gift receipt, its code)."""
    register_fonts()  # the label's embedded fonts: ä, ß, é print on every viewer
    buffer = BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(_("Gift receipt"))
    for receipt, code in receipts:
        _page(pdf, receipt, code, width, height)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _page(pdf, receipt, code: str, width: float, height: float) -> None:
    pdf.setFont(BOLD, 14)
    pdf.drawString(8 * mm, height - 12 * mm, _("GIFT RECEIPT"))
    pdf.setFont(REGULAR, 8)
    pdf.drawRightString(width - 8 * mm, height - 12 * mm, settings.SHOP_NAME)
    y = height - 22 * mm
    pdf.setFont(REGULAR, 9)
    lines = [receipt.order_line] if receipt.order_line_id else list(
        receipt.order.lines.select_related("product").order_by("id"))
    for line in lines[:12]:
        pdf.drawString(8 * mm, y, f"{line.quantity_shipped} × {line.product.name}"[:60])
        y -= 4.5 * mm
    if len(lines) > 12:
        pdf.drawString(8 * mm, y, _("and %(count)d more") % {"count": len(lines) - 12})

    pdf.setFont(BOLD, 9)
    pdf.drawString(8 * mm, 44 * mm, _("Gift return code"))
    pdf.setFont("Courier-Bold", 15)
    pdf.drawString(8 * mm, 36 * mm, code)
    pdf.setFont(REGULAR, 7)
    site = settings.SITE_URL.rstrip("/")
    for index, text in enumerate((
            _("Not the right gift? Return it at %(url)s/gift/") % {"url": site},
            _("with this code, your name and e-mail. You get a gift card;"),
            _("the giver is not refunded. Keep the code private."))):
        pdf.drawString(8 * mm, (28 - 4 * index) * mm, text)
