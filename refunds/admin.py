from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from refunds.models import Account, JournalEntry, JournalLine, Refund, RefundAttempt


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RefundAttemptInline(ReadOnlyInline):
    model = RefundAttempt
    fields = ("number", "started_at", "outcome", "error_code", "latency_ms", "response")


class JournalEntryInline(ReadOnlyInline):
    model = JournalEntry
    fields = ("kind", "reference", "memo", "created_at")


@admin.register(Refund)
class RefundAdmin(SimpleHistoryAdmin):
    list_display = ("return_request", "status", "method", "net", "currency", "attempts", "needs_attention")
    list_filter = ("status", "method", "needs_attention")
    search_fields = ("return_request__rma_number", "gateway_reference")
    readonly_fields = [f.name for f in Refund._meta.fields]
    inlines = [RefundAttemptInline, JournalEntryInline]

    def has_add_permission(self, request):
        return False


class JournalLineInline(ReadOnlyInline):
    model = JournalLine
    fields = ("account", "amount", "currency")


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "reference", "memo")
    list_filter = ("kind",)
    inlines = [JournalLineInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind")
    search_fields = ("code", "name")
