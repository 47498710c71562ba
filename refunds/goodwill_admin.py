"""Goodwill in the back-office: the grants on record (never edited), and a form to grant one
that calls refunds.goodwill.goodwill_grant, which checks the permission and the role's limit."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from core.admin_tools import call_service
from orders.models import Order
from refunds.goodwill import GOODWILL_METHODS, goodwill_grant, goodwill_headroom, goodwill_limit
from refunds.models import GoodwillCredit
from returns.choices import RefundMethod


class GrantForm(forms.Form):
    order = forms.ModelChoiceField(queryset=Order.objects.all(), widget=forms.NumberInput,
                                   help_text="The order's id (from its page or the return's).")
    amount = forms.DecimalField(max_digits=14, decimal_places=3, min_value=0)
    method = forms.ChoiceField(choices=[(m.value, RefundMethod(m).label) for m in GOODWILL_METHODS],
                               widget=forms.RadioSelect, initial=RefundMethod.STORE_CREDIT.value)
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Kept on record, e.g. “Arrived damaged; the customer keeps it.”")


@admin.register(GoodwillCredit)
class GoodwillCreditAdmin(SimpleHistoryAdmin):
    list_display = ("created_at", "order", "customer", "amount", "currency", "method", "granted_by")
    list_filter = ("method", "currency")
    search_fields = ("order__external_id", "customer__email", "reason")
    list_select_related = ("order__channel", "customer", "granted_by")
    readonly_fields = [f.name for f in GoodwillCredit._meta.fields]

    def has_add_permission(self, request):
        return request.user.has_perm("refunds.grant_goodwill")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """Grant goodwill: the service refuses amounts above the granter's limit or the order."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = GrantForm(request.POST or None, initial={"order": request.GET.get("order")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            succeeded, grant = call_service(
                request, goodwill_grant, order=data["order"], by=request.user, amount=data["amount"],
                method=data["method"], reason=data["reason"],
                success=lambda grant: f"Goodwill of {grant.amount} {grant.currency} granted on {grant.order}.")
            if succeeded:
                return HttpResponseRedirect(reverse("admin:refunds_goodwillcredit_change", args=[grant.pk]))
        order = form.cleaned_data.get("order") if form.is_bound and form.is_valid() else None
        if order is None and str(request.GET.get("order", "")).isdigit():
            order = Order.objects.filter(pk=request.GET["order"]).first()
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "title": "Grant goodwill", "order": order,
                   "headroom": goodwill_headroom(order) if order else None,
                   "limit": goodwill_limit(request.user, order.currency) if order else None}
        return TemplateResponse(request, "admin/refunds/goodwillcredit/grant.html", context)
