from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from inventory.models import Product


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ("sku", "name", "category", "returnable", "unit_cost")
    list_filter = ("category", "returnable")
    search_fields = ("sku", "name")
