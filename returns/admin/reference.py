"""Reference data and the partner-event log: policies, reasons, inbound events."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from returns.models import InboundEvent, Market, ReturnPolicy, ReturnReason


@admin.register(Market)
class MarketAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "country_list", "currency")
    search_fields = ("code", "name")

    @admin.display(description="countries")
    def country_list(self, obj: Market) -> str:
        return ", ".join(obj.countries)


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "market", "window_days", "restocking_fee_percent", "review_mode", "auto_approve_limit",
                    "store_credit_bonus_percent", "methods_column")
    list_filter = ("market",)
    list_select_related = ("market",)

    @admin.display(description="return methods (fee)")
    def methods_column(self, obj: ReturnPolicy) -> str:
        return ", ".join(f"{method} {fee} {obj.currency}" for method, fee in obj.method_fees().items())


@admin.register(ReturnReason)
class ReturnReasonAdmin(SimpleHistoryAdmin):
    list_display = ("code", "label", "active", "claims_damage", "position")
    list_editable = ("active", "position")


@admin.register(InboundEvent)
class InboundEventAdmin(SimpleHistoryAdmin):
    list_display = ("received_at", "source", "kind", "external_id", "status", "return_request", "attempts",
                    "error_code")
    list_filter = ("status", "source", "kind")
    search_fields = ("external_id", "return_request__rma_number")
    list_select_related = ("return_request",)
    readonly_fields = [f.name for f in InboundEvent._meta.fields]

    def has_add_permission(self, request):
        return False
