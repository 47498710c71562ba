"""A line's resolution on the return's page, and the staff form that changes it until the return
is inspected (through returns.resolutions.return_line_change_resolution, which checks the
permission and moves the replacement's stock)."""

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.admin_tools import call_service
from returns.choices import Resolution
from returns.models import ReturnLine
from returns.resolutions import CHANGEABLE_STATUSES, return_line_change_resolution


class ResolutionForm(forms.Form):
    resolution = forms.ChoiceField(choices=Resolution.choices, widget=forms.RadioSelect)
    replacement_sku = forms.CharField(required=False, max_length=64,
                                      help_text="Exchanges: the product to send; the same product when empty.")
    reason = forms.CharField(required=False, max_length=200, help_text="Recorded in the line's history.")


@admin.display(description="resolution")
def line_resolution(line: ReturnLine) -> str:
    """What the line earns, what replaces it, whether the customer keeps it, and a link to change it."""
    text = line.get_resolution_display()
    if line.replacement_product_id:
        text += f" → {line.replacement_product.sku}"
        if line.replacement_order_line_id:
            text += " (ordered)"
    if line.returnless:
        text += " · kept by the customer"
    if line.return_request.status not in CHANGEABLE_STATUSES or line.replacement_order_line_id:
        return text
    url = reverse("admin:returns_returnrequest_line_resolution", args=[line.return_request_id, line.pk])
    return format_html('{} <a href="{}">Change…</a>', text, url)


def line_resolution_view(model_admin, request, object_id, line_id):
    obj = model_admin._viewable(request, object_id)
    line = get_object_or_404(ReturnLine.objects.select_related("order_line__product", "replacement_product"),
                             pk=line_id, return_request=obj)
    form = ResolutionForm(request.POST or None, initial={
        "resolution": line.resolution, "replacement_sku": getattr(line.replacement_product, "sku", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        succeeded, _ = call_service(
            request, return_line_change_resolution, line=line, by=request.user, resolution=data["resolution"],
            replacement_sku=data["replacement_sku"] or None, reason=data["reason"],
            success=f"{line.order_line.product.sku}: {Resolution(data['resolution']).label.lower()}.")
        if succeeded:
            return HttpResponseRedirect(model_admin._page_url(obj))
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "original": obj,
               "line": line, "form": form, "title": f"Resolution of {line.order_line.product.sku}"}
    return TemplateResponse(request, "admin/returns/returnrequest/line_resolution.html", context)
