from django.contrib import admin

from fraud.models import CustomerRiskProfile, FraudSignal


@admin.register(FraudSignal)
class FraudSignalAdmin(admin.ModelAdmin):
    list_display = ("return_request", "stage", "kind", "score_delta", "created_at")
    list_filter = ("stage", "kind")


@admin.register(CustomerRiskProfile)
class CustomerRiskProfileAdmin(admin.ModelAdmin):
    list_display = ("customer", "flagged", "flagged_reason", "updated_at")
    list_filter = ("flagged",)
