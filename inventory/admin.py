from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.admin_tools import ReadOnlyAdminMixin
from inventory.models import Location, Product, StockLevel, StockMovement


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ("sku", "name", "category", "returnable", "unit_cost")
    list_filter = ("category", "returnable")
    search_fields = ("sku", "name")


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Stock changes only through inventory.services; the admin shows it."""


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ("product", "location", "on_hand", "quarantined", "updated_at")
    list_filter = ("location",)
    search_fields = ("product__sku", "product__name")
    list_select_related = ("product", "location")


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "product", "location", "kind", "quantity", "on_hand_delta", "quarantined_delta",
                    "return_line", "revision")
    list_filter = ("kind", "location")
    search_fields = ("product__sku", "return_line__return_request__rma_number")
    list_select_related = ("product", "location", "return_line__order_line__product")
    date_hierarchy = "created_at"
