"""Reference data and the partner-event log: policies, reasons, inbound events."""

from django import forms
from django.conf import settings
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


def _other_languages() -> list[tuple[str, str]]:
    return [(code, name) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class _ReturnReasonForm(forms.ModelForm):
    """The English label plus one field per other language; an empty one falls back to English."""

    class Meta:
        model = ReturnReason
        fields = ("code", "label", "active", "claims_damage", "position")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = self.instance.translated_labels or {}
        for code, _ in _other_languages():
            self.fields[f"label_{code}"].initial = labels.get(code, "")

    def clean(self):
        data = super().clean()
        self.instance.translated_labels = {code: data[f"label_{code}"].strip() for code, _ in _other_languages()
                                           if data.get(f"label_{code}", "").strip()}
        return data


# The admin builds its form from declared fields, so the per-language ones are declared here.
ReturnReasonForm = type("ReturnReasonForm", (_ReturnReasonForm,), {
    f"label_{code}": forms.CharField(label=f"Label ({name})", max_length=200, required=False,
                                     help_text="Empty: customers reading this language see the English label.")
    for code, name in _other_languages()})


@admin.register(ReturnReason)
class ReturnReasonAdmin(SimpleHistoryAdmin):
    form = ReturnReasonForm
    list_display = ("code", "label", "translations", "active", "claims_damage", "position")
    list_editable = ("active", "position")

    def get_fields(self, request, obj=None):
        return [*ReturnReasonForm.Meta.fields[:2], *(f"label_{code}" for code, _ in _other_languages()),
                *ReturnReasonForm.Meta.fields[2:]]

    @admin.display(description="Translated into")
    def translations(self, obj) -> str:
        return ", ".join(sorted(obj.translated_labels or {})) or "—"


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
