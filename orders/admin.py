from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from orders.models import LoyaltyReversal, Order, OrderLine, Payment, SalesChannel


class OrderLineInline(admin.TabularInline):
    """Order lines come from the shop's OMS: shown, never edited here (a product picker per row
    would also read the whole catalogue once per line)."""

    model = OrderLine
    extra = 0
    can_delete = False
    fields = readonly_fields = ("product", "quantity_ordered", "quantity_shipped", "unit_price", "unit_tax")

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0


@admin.register(Order)
class OrderAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "customer", "status", "currency", "placed_at", "delivered_at")
    list_filter = ("status", "channel", "currency")
    search_fields = ("external_id", "customer__email", "customer__username")
    inlines = [OrderLineInline, PaymentInline]
    readonly_fields = ("goodwill",)

    @admin.display(description="goodwill")
    def goodwill(self, order: Order) -> str:
        """A supervisor's gesture for this order (e.g. it arrived damaged): credit, or a full refund."""
        if order.pk is None:
            return "—"
        url = reverse("admin:refunds_goodwillcredit_add") + f"?order={order.pk}"
        return format_html('<a href="{}">Grant goodwill…</a>', url)


admin.site.register(SalesChannel)
admin.site.register(LoyaltyReversal)
