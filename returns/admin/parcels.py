"""The unmatched-parcels queue: staff link a parcel to its return through returns.services.parcel_link."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from core.admin_tools import call_service, posted
from returns import selectors, services
from returns.admin.forms import LinkParcelForm
from returns.models import ParcelPhoto, UnmatchedParcel


class ParcelPhotoInline(admin.TabularInline):
    model = ParcelPhoto
    extra = 0
    can_delete = False
    readonly_fields = ("image", "uploaded_at")

    def has_add_permission(self, request, obj=None):
        return False


class LinkedFilter(admin.SimpleListFilter):
    """Opens on the parcels still waiting to be linked: the queue."""

    title = "linked"
    parameter_name = "linked"

    def lookups(self, request, model_admin):
        return [("no", "Waiting to be linked"), ("yes", "Linked"), ("all", "All")]

    def value(self):
        return super().value() or "no"

    def queryset(self, request, queryset):
        value = self.value()
        if value == "all":
            return queryset
        return queryset.filter(return_request__isnull=value == "no")

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}


@admin.register(UnmatchedParcel)
class UnmatchedParcelAdmin(SimpleHistoryAdmin):
    list_display = ("received_at", "tracking_number", "claimed_rma", "problem", "return_request", "linked_at")
    list_filter = (LinkedFilter,)
    list_select_related = ("return_request",)
    search_fields = ("tracking_number", "claimed_rma")
    readonly_fields = [f.name for f in UnmatchedParcel._meta.fields]
    inlines = [ParcelPhotoInline]
    change_form_template = "admin/returns/unmatchedparcel/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("<path:object_id>/link/", self.admin_site.admin_view(self.link_view),
                 name="returns_unmatchedparcel_link"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_link"] = obj is not None and not obj.is_linked and request.user.has_perm(
            "returns.receive_returnrequest")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def link_view(self, request, object_id):
        parcel = self.get_object(request, unquote(object_id))
        if parcel is None:
            raise Http404("No such parcel.")
        if not self.has_view_permission(request, parcel):
            raise PermissionDenied
        form = LinkParcelForm(posted(request), initial={"rma_number": parcel.claimed_rma})
        if request.method == "POST" and form.is_valid():
            return_request_id = selectors.return_for_parcel(rma_number=form.cleaned_data["rma_number"].strip())
            if return_request_id is None:
                form.add_error("rma_number", "No return has this RMA number.")
            else:
                succeeded, linked = call_service(
                    request, services.parcel_link, parcel=parcel, return_request=return_request_id, by=request.user,
                    success=lambda rr: format_html("Parcel linked to {} and received.", rr.rma_number))
                if succeeded:
                    return HttpResponseRedirect(reverse("admin:returns_returnrequest_change", args=[linked.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": parcel, "form": form,
                   "title": f"Link {parcel} to its return"}
        return TemplateResponse(request, "admin/returns/unmatchedparcel/link.html", context)
