from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from partners.models import Partner, PartnerAPIKey, WebhookAttempt, WebhookDelivery, WebhookSubscription
from partners.services import webhook_subscription_update


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "active")


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "partner", "channel", "scopes"]


# --- webhooks ---

class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "succeeded", "status_code", "error", "response_excerpt")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(SimpleHistoryAdmin):
    """Partners manage their subscriptions through the API; staff can look, and pause one."""

    list_display = ("url", "partner", "channel", "active", "deleted_at", "created_at")
    list_filter = ("active", "channel", "partner")
    search_fields = ("url", "partner__name", "partner__slug")
    fields = ("partner", "channel", "url", "event_types", "secret_hint", "active", "deleted_at", "created_at",
              "updated_at")
    readonly_fields = ("partner", "channel", "url", "event_types", "secret_hint", "deleted_at", "created_at",
                       "updated_at")

    @admin.display(description="secret")
    def secret_hint(self, obj) -> str:
        return f"…{obj.secret[-4:]} (shown to the partner once, when created)" if obj.secret else "—"

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.deleted_at is not None:
            return (*self.readonly_fields, "active")
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        webhook_subscription_update(subscription=obj, by=request.user, active=obj.active)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "subscription", "status", "attempt_count", "last_status_code", "created_at",
                    "delivered_at")
    list_filter = ("status", "event_type")
    search_fields = ("event_id", "subscription__url", "payload__data__rma_number")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
