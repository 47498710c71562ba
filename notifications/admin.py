from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """What the customer was told, and when: read-only (the outbox is written by the system)."""

    list_display = ("return_request", "event", "status", "recipient", "created_at", "sent_at", "attempts")
    list_filter = ("event", "status")
    search_fields = ("return_request__rma_number", "recipient")
    list_select_related = ("return_request",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
