from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from returns.models import (
    InboundEvent,
    ParcelPhoto,
    ReturnLine,
    ReturnPolicy,
    ReturnReason,
    ReturnRequest,
    UnmatchedParcel,
)


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    can_delete = False
    fields = ("order_line", "quantity", "reason", "received_quantity", "condition", "disposition")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReturnRequest)
class ReturnRequestAdmin(SimpleHistoryAdmin):
    list_display = ("rma_number", "status", "customer", "order", "fraud_score", "requested_at")
    list_filter = ("status", "refund_method", "label_status")
    search_fields = ("rma_number", "order__external_id", "customer__email", "tracking_number")
    date_hierarchy = "requested_at"
    inlines = [ReturnLineInline]
    readonly_fields = [f.name for f in ReturnRequest._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "window_days", "restocking_fee_percent", "review_mode", "auto_approve_limit",
                    "store_credit_bonus_percent")


@admin.register(ReturnReason)
class ReturnReasonAdmin(SimpleHistoryAdmin):
    list_display = ("code", "label", "active", "claims_damage", "position")
    list_editable = ("active", "position")


class ParcelPhotoInline(admin.TabularInline):
    model = ParcelPhoto
    extra = 0
    can_delete = False
    readonly_fields = ("image", "uploaded_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(UnmatchedParcel)
class UnmatchedParcelAdmin(SimpleHistoryAdmin):
    """The unmatched-parcels queue; linking goes through returns.services.parcel_link."""

    list_display = ("received_at", "tracking_number", "claimed_rma", "problem", "return_request", "linked_at")
    list_filter = (("return_request", admin.EmptyFieldListFilter),)
    search_fields = ("tracking_number", "claimed_rma", "contents_note")
    readonly_fields = [f.name for f in UnmatchedParcel._meta.fields]
    inlines = [ParcelPhotoInline]

    def has_add_permission(self, request):
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(SimpleHistoryAdmin):
    list_display = ("received_at", "source", "kind", "external_id", "status", "return_request", "attempts",
                    "error_code")
    list_filter = ("status", "source", "kind")
    search_fields = ("external_id", "return_request__rma_number")
    readonly_fields = [f.name for f in InboundEvent._meta.fields]

    def has_add_permission(self, request):
        return False
