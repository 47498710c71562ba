from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from orders.models import LoyaltyReversal, Order, OrderLine, Payment, SalesChannel


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0


@admin.register(Order)
class OrderAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "customer", "status", "currency", "placed_at", "delivered_at")
    list_filter = ("status", "channel", "currency")
    search_fields = ("external_id", "customer__email", "customer__username")
    inlines = [OrderLineInline, PaymentInline]


admin.site.register(SalesChannel)
admin.site.register(LoyaltyReversal)
