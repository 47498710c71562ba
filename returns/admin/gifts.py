"""Gift receipts in the back-office: issued from the orders list (an action), printed again
from their own list. Both print a PDF with the code; the code is shown nowhere else."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from core.admin_tools import error_text
from core.errors import DomainError
from orders.admin import OrderAdmin
from returns import gifts
from returns.gift_receipt_pdf import render_gift_receipts_pdf
from returns.models import GiftReceipt


def _pdf_response(receipts: list[tuple[GiftReceipt, str]], name: str) -> HttpResponse:
    response = HttpResponse(render_gift_receipts_pdf(receipts), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


@admin.action(description="Issue a gift receipt (PDF with the return code)")
def issue_gift_receipts(model_admin, request, queryset):
    """A new receipt for each selected order (replacing any earlier one), printed at once."""
    issued = []
    for order in queryset.order_by("pk"):
        try:
            issued.append(gifts.gift_receipt_issue(by=request.user, order_id=order.pk))
        except DomainError as error:
            model_admin.message_user(request, f"{order}: {error_text(error)}", messages.ERROR)
            return None
    return _pdf_response(issued, "gift-receipts")


OrderAdmin.actions = [*(OrderAdmin.actions or []), issue_gift_receipts]


@admin.register(GiftReceipt)
class GiftReceiptAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "order", "order_line", "created_at", "revoked_at", "print_link")
    list_filter = ("revoked_at",)
    search_fields = ("order__external_id", "code_hint")
    readonly_fields = ("order", "order_line", "code_hint", "issued_by", "created_at", "revoked_at", "print_link")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # issued from the orders list, through the service

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="print")
    def print_link(self, receipt: GiftReceipt) -> str:
        if receipt.pk is None or not receipt.is_live:
            return "—"
        return format_html('<a href="{}">Print again (PDF)</a>',
                           reverse("admin:returns_giftreceipt_print", args=[receipt.pk]))

    def get_urls(self):
        return [path("<path:object_id>/print/", self.admin_site.admin_view(self.print_view),
                     name="returns_giftreceipt_print"), *super().get_urls()]

    def print_view(self, request, object_id):
        if not request.user.has_perm("returns.issue_giftreceipt"):
            raise PermissionDenied
        receipt = GiftReceipt.objects.filter(pk=unquote(object_id), revoked_at__isnull=True).first() \
            if str(unquote(object_id)).isdigit() else None
        if receipt is None:
            raise Http404("No such live gift receipt.")
        return _pdf_response([(receipt, gifts.gift_receipt_code(receipt))], f"gift-receipt-{receipt.pk}")
