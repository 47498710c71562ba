"""The printable return label: addresses, RMA as a Code 128 barcode and a QR code.

Written in the active language (the customer's, in the portal and in e-mails), in Bitstream Vera,
which reportlab ships, embedded in the PDF: every viewer and label printer then draws the same
glyphs, and Vera has the letters German and French need (ä, ß, é, ç, œ) beyond plain ASCII.
"""

from functools import cache
from io import BytesIO
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

# A postal address is written the way the destination's post reads it, so it is not translated.
RETURNS_ADDRESS = ("Returns Centre", "Unit 4, Harbour Logistics Park", "Rotterdam 3089 JB", "Netherlands")
REGULAR, BOLD = "LabelSans", "LabelSans-Bold"


@cache
def register_fonts() -> None:
    import reportlab

    fonts = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont(REGULAR, str(fonts / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(fonts / "VeraBd.ttf")))


def render_label_pdf(return_request) -> bytes:
    register_fonts()
    buffer = BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(_("Return label %(rma)s") % {"rma": return_request.rma_number})
    pdf.setFont(BOLD, 14)
    pdf.drawString(8 * mm, height - 12 * mm, _("RETURN"))
    pdf.setFont(REGULAR, 8)
    pdf.drawRightString(width - 8 * mm, height - 12 * mm, return_request.carrier or _("carrier pending"))

    y = height - 22 * mm
    pdf.setFont(BOLD, 8)
    pdf.drawString(8 * mm, y, _("FROM"))
    pdf.setFont(REGULAR, 9)
    customer = return_request.customer
    sender = return_request.recipient_name or customer.get_full_name() or customer.get_username()
    order = _("Order %(number)s") % {"number": return_request.order.external_id}
    for line in (sender, order):
        y -= 4 * mm
        pdf.drawString(8 * mm, y, line)

    y -= 8 * mm
    pdf.setFont(BOLD, 8)
    pdf.drawString(8 * mm, y, _("TO"))
    pdf.setFont(REGULAR, 10)
    for line in RETURNS_ADDRESS:
        y -= 4.5 * mm
        pdf.drawString(8 * mm, y, line)

    barcode = code128.Code128(return_request.rma_number, barHeight=14 * mm, barWidth=0.36 * mm)
    barcode.drawOn(pdf, 6 * mm, 34 * mm)
    pdf.setFont(BOLD, 12)
    pdf.drawString(8 * mm, 28 * mm, return_request.rma_number)
    if return_request.tracking_number:
        pdf.setFont(REGULAR, 8)
        pdf.drawString(8 * mm, 23 * mm, _("Tracking %(number)s") % {"number": return_request.tracking_number})

    qr = QrCodeWidget(return_request.rma_number)
    x1, y1, x2, y2 = qr.getBounds()
    size = 26 * mm
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, pdf, width - size - 6 * mm, 6 * mm)

    lines = return_request.lines.select_related("order_line__product")
    pdf.setFont(REGULAR, 7)
    items = sum(line.quantity for line in lines)
    pdf.drawString(8 * mm, 14 * mm, ngettext("%(count)d item inside", "%(count)d items inside", items)
                   % {"count": items})
    pdf.drawString(8 * mm, 10 * mm, _("Attach to the parcel. Keep the receipt of drop-off."))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
