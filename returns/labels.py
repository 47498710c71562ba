"""The printable return label: addresses, RMA as a Code 128 barcode and a QR code."""

from io import BytesIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

RETURNS_ADDRESS = ("Returns Centre", "Unit 4, Harbour Logistics Park", "Rotterdam 3089 JB", "Netherlands")


def render_label_pdf(return_request) -> bytes:
    buffer = BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(f"Return label {return_request.rma_number}")
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(8 * mm, height - 12 * mm, "RETURN")
    pdf.setFont("Helvetica", 8)
    pdf.drawRightString(width - 8 * mm, height - 12 * mm, return_request.carrier or "carrier pending")

    y = height - 22 * mm
    pdf.setFont("Helvetica-Bold", 8)
    pdf.drawString(8 * mm, y, "FROM")
    pdf.setFont("Helvetica", 9)
    customer = return_request.customer
    sender = return_request.recipient_name or customer.get_full_name() or customer.get_username()
    for line in (sender, f"Order {return_request.order.external_id}"):
        y -= 4 * mm
        pdf.drawString(8 * mm, y, line)

    y -= 8 * mm
    pdf.setFont("Helvetica-Bold", 8)
    pdf.drawString(8 * mm, y, "TO")
    pdf.setFont("Helvetica", 10)
    for line in RETURNS_ADDRESS:
        y -= 4.5 * mm
        pdf.drawString(8 * mm, y, line)

    barcode = code128.Code128(return_request.rma_number, barHeight=14 * mm, barWidth=0.36 * mm)
    barcode.drawOn(pdf, 6 * mm, 34 * mm)
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawString(8 * mm, 28 * mm, return_request.rma_number)
    if return_request.tracking_number:
        pdf.setFont("Helvetica", 8)
        pdf.drawString(8 * mm, 23 * mm, f"Tracking {return_request.tracking_number}")

    qr = QrCodeWidget(return_request.rma_number)
    x1, y1, x2, y2 = qr.getBounds()
    size = 26 * mm
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, pdf, width - size - 6 * mm, 6 * mm)

    lines = return_request.lines.select_related("order_line__product")
    pdf.setFont("Helvetica", 7)
    pdf.drawString(8 * mm, 14 * mm, f"{sum(line.quantity for line in lines)} item(s) inside")
    pdf.drawString(8 * mm, 10 * mm, "Attach to the parcel. Keep the receipt of drop-off.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
