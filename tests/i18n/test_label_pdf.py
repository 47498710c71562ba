"""The return label PDF is written in the customer's language with a font that has its letters."""

import re

import pytest
from django.urls import reverse
from django.utils import translation
from reportlab.pdfgen.canvas import Canvas

from returns import services
from returns.labels import render_label_pdf
from returns.models import ReturnRequest
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled(customer, order):
    customer.first_name, customer.last_name = "Jürgen", "Müller-Lüdenscheidt"
    customer.save()
    shirt = order.lines.get(product__sku="shirt-blue-m")
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirt, 2)])
    services.return_issue_label(return_request_id=rr.pk)
    return ReturnRequest.objects.get(pk=rr.pk)


@pytest.fixture
def drawn(monkeypatch):
    """Every string the label draws (the PDF's own text is compressed and subset-encoded)."""
    texts = []
    for name in ("drawString", "drawRightString"):
        original = getattr(Canvas, name)

        def record(self, x, y, text, *args, _original=original, **kwargs):
            texts.append(text)
            return _original(self, x, y, text, *args, **kwargs)

        monkeypatch.setattr(Canvas, name, record)
    return texts


def pdf_title(pdf: bytes) -> str:
    raw = re.search(rb"/Title \((.*?)\) /", pdf).group(1)
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), raw).decode("latin-1")


def test_a_german_label(labelled, drawn):
    with translation.override("de"):
        pdf = render_label_pdf(labelled)
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf_title(pdf) == f"Rücksendeetikett {labelled.rma_number}"
    assert {"RÜCKSENDUNG", "ABSENDER", "EMPFÄNGER", "Jürgen Müller-Lüdenscheidt", "2 Artikel im Paket",
            f"Bestellung {labelled.order.external_id}", f"Sendungsnummer {labelled.tracking_number}",
            "Auf das Paket kleben. Bewahren Sie den Einlieferungsbeleg auf."} <= set(drawn)
    # The letters are drawn from an embedded TrueType font, not left to the viewer's Helvetica.
    assert b"/FontFile2" in pdf and b"BitstreamVeraSans" in pdf


def test_a_french_label_counts_in_french(labelled, drawn):
    with translation.override("fr"):
        render_label_pdf(labelled)
    assert {"RETOUR", "EXPÉDITEUR", "2 articles dans le colis", "À coller sur le colis. Conservez le reçu de dépôt."
            } <= set(drawn)


def test_the_portal_hands_out_the_label_in_the_customers_language(client, customer, labelled):
    client.force_login(customer)
    client.cookies["django_language"] = "fr"
    response = client.get(reverse("portal:label", args=[labelled.rma_number]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert pdf_title(response.content) == f"Étiquette de retour {labelled.rma_number}"
