import json

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from fraud.models import CustomerRiskProfile, FraudRule, FraudSignal


@admin.register(FraudRule)
class FraudRuleAdmin(SimpleHistoryAdmin):
    list_display = ("kind", "weight", "active", "thresholds", "updated_at")
    list_editable = ("weight", "active")
    readonly_fields = ("kind", "description", "thresholds", "updated_at")
    fields = ("kind", "description", "weight", "active", "params", "thresholds", "updated_at")

    def has_add_permission(self, request):
        return False  # one row per signal kind, created with its defaults

    def has_delete_permission(self, request, obj=None):
        return False  # switch a rule off instead; deleting it would only bring the defaults back

    @admin.display(description="Thresholds in effect")
    def thresholds(self, rule: FraudRule) -> str:
        return json.dumps(rule.effective_params(), ensure_ascii=False) if rule.effective_params() else "—"


class FraudSignalInline(admin.TabularInline):
    """The score's breakdown, for the return's admin page."""

    model = FraudSignal
    extra = 0
    can_delete = False
    fields = ("stage", "kind", "score_delta", "evidence", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FraudSignal)
class FraudSignalAdmin(admin.ModelAdmin):
    list_display = ("return_request", "customer", "stage", "kind", "score_delta", "created_at")
    list_filter = ("stage", "kind")
    search_fields = ("return_request__rma_number", "customer__username", "customer__email")
    list_select_related = ("return_request", "customer")
    readonly_fields = ("return_request", "customer", "stage", "kind", "score_delta", "evidence", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(CustomerRiskProfile)
class CustomerRiskProfileAdmin(admin.ModelAdmin):
    list_display = ("customer", "flagged", "lifetime_score", "returns_90d", "orders_90d", "open_returns",
                    "lifetime_returns", "lifetime_refunds", "refreshed_at")
    list_filter = ("flagged",)
    search_fields = ("customer__username", "customer__email")
    list_select_related = ("customer",)
    ordering = ("-lifetime_score",)
    fields = ("customer", "flagged", "flagged_reason", "lifetime_score", "orders_90d", "returns_90d", "open_returns",
              "lifetime_orders", "lifetime_returns", "lifetime_refunds", "refreshed_at", "updated_at")
    readonly_fields = ("customer", "lifetime_score", "orders_90d", "returns_90d", "open_returns", "lifetime_orders",
                       "lifetime_returns", "lifetime_refunds", "refreshed_at", "updated_at")

    def has_add_permission(self, request):
        return False  # profiles are computed; flag a customer on theirs

