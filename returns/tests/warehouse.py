"""Helpers for warehouse tests: returns brought to the door, photos, and threads released together."""

import io
import threading

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from core.errors import DomainError
from inventory.models import StockLevel
from returns import services
from returns.choices import ReturnStatus
from returns.models import ReturnRequest
from tests import factories
from tests.factories import line_request


def three_line_order(shop, customer):
    """2 shirts (cost 8.00), 1 jacket (cost 45.00), 3 pairs of socks (cost 3.00)."""
    socks = factories.product("socks-wool", cost="3.00")
    return factories.make_order(customer=customer, lines=[
        (shop.shirt, 2, "25.00", "2.00"),
        (shop.jacket, 1, "120.00", "12.00"),
        (socks, 3, "9.00", "0.90"),
    ])


def authorized_return(order, customer, quantities: dict | None = None) -> ReturnRequest:
    """A return of every line of `order` (or `quantities` by SKU), authorised and labelled."""
    quantities = quantities or {line.product.sku: line.quantity_shipped for line in order.lines.all()}
    lines = [line_request(line, quantities[line.product.sku])
             for line in order.lines.select_related("product") if line.product.sku in quantities]
    return_request = services.return_request_create(by=customer, order_id=order.pk, lines=lines)
    if return_request.status == ReturnStatus.REQUESTED:
        reviewer = factories.staff_user("Support agent", username="agent")
        services.return_approve(return_request=return_request, by=reviewer, reason="Looks fine.")
    services.return_issue_label(return_request_id=return_request.pk)
    return ReturnRequest.objects.get(pk=return_request.pk)


def received_return(order, customer, warehouse, *, short: dict | None = None) -> ReturnRequest:
    """An authorised return the warehouse has received; `short` gives received units by SKU."""
    return_request = authorized_return(order, customer)
    received = {line.pk: short[line.order_line.product.sku]
                for line in return_request.lines.select_related("order_line__product")
                if short and line.order_line.product.sku in short}
    return services.return_receive(return_request=return_request, by=warehouse, received_quantities=received)


def line_of(return_request, sku: str):
    return return_request.lines.get(order_line__product__sku=sku)


def every_line(return_request, condition: str, **extra) -> dict:
    return {line.pk: {"condition": condition, **extra} for line in return_request.lines.all()}


def stock(product) -> tuple[int, int]:
    """(on hand, quarantined) of `product` at the main warehouse."""
    level = StockLevel.objects.filter(product=product, location__code="main").first()
    return (level.on_hand, level.quarantined) if level else (0, 0)


def png(name: str = "evidence.png", colour: str = "red") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def run_at_once(*calls):
    """Run each call in its own thread with its own connection, released together by a barrier.

    Returns ("ok", value) or ("error", DomainError) per call; anything else fails the test.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = ("ok", call())
        except DomainError as exc:
            results[index] = ("error", exc)
        except BaseException as exc:
            results[index] = ("crash", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    assert not [r for r in results if r[0] == "crash"], results
    return results
