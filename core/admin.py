from django.contrib import admin, messages

from core.admin_tools import error_text
from core.errors import DomainError
from core.models import ApiToken
from core.services import api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Customers' API tokens, recognised by their prefix; the digest is never shown. Issued through
    the API only; revoking one (a lost phone, a leaked script) takes effect at once."""

    list_display = ("prefix", "user", "name", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("prefix", "user__username", "user__email")
    ordering = ("-created_at", "-pk")
    fields = ("prefix", "user", "name", "created_at", "last_used_at")
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for token in queryset.order_by("pk"):
            try:
                api_token_revoke(token=token, by=request.user)
            except DomainError as error:
                self.message_user(request, f"{token}: {error_text(error)}", messages.ERROR)
                return
            revoked += 1
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("core.revoke_apitoken")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
