"""Early refunds not earned, in the back-office: finance sees each receivable with its evidence and
history and records it paid back or written off; a supervisor can give a customer early refunds
back. Every button calls refunds.early_refunds, which checks the permission itself."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from core.admin_tools import call_service, posted
from refunds.choices import RecoveryStatus
from refunds.early_refunds import early_refund_settle, early_refunds_restore
from refunds.models import EarlyRefundRecovery, EarlyRefundRevocation


class SettleForm(forms.Form):
    outcome = forms.ChoiceField(choices=[(RecoveryStatus.REPAID.value, "The customer paid it back"),
                                         (RecoveryStatus.WRITTEN_OFF.value, "Write it off")],
                                widget=forms.RadioSelect)
    note = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                           help_text="Kept on record, e.g. the payment's reference, or why it is written off.")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Kept in the history.")


class _ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _viewable(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("Not found.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _done(self, obj) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse(f"admin:refunds_{self.opts.model_name}_change", args=[obj.pk]))

    def _page(self, request, obj, *, title: str, form, intro: str, submit: str):
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": obj, "form": form,
                   "title": title, "intro": intro, "submit": submit}
        return TemplateResponse(request, "admin/refunds/earlyrefundrecovery/action.html", context)


@admin.register(EarlyRefundRecovery)
class EarlyRefundRecoveryAdmin(_ReadOnlyAdmin):
    list_display = ("created_at", "return_request", "customer", "cause", "amount", "currency", "status",
                    "settled_at")
    list_filter = ("status", "cause", "currency")
    search_fields = ("return_request__rma_number", "customer__email")
    list_select_related = ("return_request", "customer")
    readonly_fields = [f.name for f in EarlyRefundRecovery._meta.fields]
    change_form_template = "admin/refunds/earlyrefundrecovery/change_form.html"

    def get_urls(self):
        settle = path("<path:object_id>/settle/", self.admin_site.admin_view(self.settle_view),
                      name="refunds_earlyrefundrecovery_settle")
        return [settle, *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_settle"] = request.user.has_perm("refunds.settle_earlyrefundrecovery")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def settle_view(self, request, object_id):
        recovery = self._viewable(request, object_id)
        form = SettleForm(posted(request))
        if request.method == "POST" and form.is_valid():
            succeeded, _ = call_service(
                request, early_refund_settle, recovery=recovery, by=request.user,
                outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"],
                success="Recorded; the receivable is cleared in the ledger.")
            if succeeded:
                return self._done(recovery)
        return self._page(request, recovery, title=f"Settle {recovery}", form=form, submit="Settle",
                          intro="Clears the whole receivable: paid back (money in) or written off (an expense).")


@admin.register(EarlyRefundRevocation)
class EarlyRefundRevocationAdmin(_ReadOnlyAdmin):
    list_display = ("customer", "revoked_at", "reason", "restored_at", "restored_by")
    list_filter = ("restored_at",)
    search_fields = ("customer__email", "customer__username", "reason")
    list_select_related = ("customer", "restored_by")
    readonly_fields = [f.name for f in EarlyRefundRevocation._meta.fields]
    change_form_template = "admin/refunds/earlyrefundrevocation/change_form.html"

    def get_urls(self):
        restore = path("<path:object_id>/restore/", self.admin_site.admin_view(self.restore_view),
                       name="refunds_earlyrefundrevocation_restore")
        return [restore, *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_restore"] = request.user.has_perm("refunds.restore_early_refunds")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def restore_view(self, request, object_id):
        revocation = self._viewable(request, object_id)
        form = ReasonForm(posted(request))
        if request.method == "POST" and form.is_valid():
            succeeded, _ = call_service(
                request, early_refunds_restore, customer=revocation.customer, by=request.user,
                reason=form.cleaned_data["reason"], success="Early refunds restored for this customer.")
            if succeeded:
                return self._done(revocation)
        return self._page(request, revocation, title=f"Give {revocation.customer} early refunds back", form=form,
                          submit="Restore", intro="Their next returns are refunded when the rules say again.")
