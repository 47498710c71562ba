from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin

from partners.models import Partner, PartnerAPIKey


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "active")


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(APIKeyModelAdmin):
    list_display = [*APIKeyModelAdmin.list_display, "partner", "channel", "scopes"]
