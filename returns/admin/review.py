"""The review queue and a return's page.

Every button calls a service with the signed-in user; the services check permissions (the
fsm transition's permission, the agent's approval limit, fraud holds), so a forged POST is
refused as surely as a hidden button. Domain errors come back as messages.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin_tools import call_service, error_text, posted
from core.errors import DomainError
from core.money import round_money
from core.paginator import EstimatedCountPaginator
from core.transitions import allowed_transitions
from returns import backoffice, services
from returns.admin.filters import (
    CategoryFilter,
    FraudBandFilter,
    QueueStatusFilter,
    ReasonFilter,
    ReviewModeFilter,
    WaitingBecauseFilter,
)
from returns.admin.forms import CorrectInspectionForm, ReasonForm
from returns.admin.resolutions import line_resolution, line_resolution_view
from returns.choices import LabelStatus, ReturnMethod, ReturnStatus
from returns.models import ReturnLine, ReturnRequest


@dataclass(frozen=True)
class TransitionButton:
    """A state change offered on a return's page, and the service that makes it."""

    name: str
    label: str
    done: str
    run: object  # (return_request, by, reason) -> ReturnRequest
    reason_required: bool = False
    style: str = ""


def _approve(return_request, by, reason):
    return services.return_approve(return_request=return_request, by=by, reason=reason)


def _reject(return_request, by, reason):
    return services.return_reject(return_request=return_request, by=by, reason=reason)


def _cancel(return_request, by, reason):
    return services.return_cancel(return_request=return_request, by=by, reason=reason)


def _ship(return_request, by, reason):
    return services.return_mark_in_transit(return_request=return_request, by=by)


def _expire(return_request, by, reason):
    return services.return_expire(return_request=return_request, by=by)


def _receive(return_request, by, reason):
    return services.return_receive(return_request=return_request, by=by)


def _close(return_request, by, reason):
    return services.return_close(return_request=return_request, by=by, reason=reason)


# By fsm transition name. `inspect` needs a condition per line (the warehouse records it), and
# the refund's transitions belong to the system: neither is a button here.
TRANSITIONS = {
    button.name: button for button in (
        TransitionButton("authorize", "Approve", "approved", _approve, style="approve"),
        TransitionButton("reject", "Reject", "rejected", _reject, reason_required=True, style="reject"),
        TransitionButton("cancel", "Cancel return", "cancelled", _cancel),
        TransitionButton("ship", "Mark in transit", "marked in transit", _ship),
        TransitionButton("receive", "Mark received (everything arrived)", "received", _receive),
        TransitionButton("expire", "Expire", "expired", _expire),
        TransitionButton("close", "Close", "closed", _close),
    )
}


def _money(amount, currency: str) -> str:
    return "—" if amount is None else f"{round_money(amount, currency):,} {currency}"


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(0, int(hours * 60))} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} d"


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("product", "quantity", "received_quantity", "reason", line_resolution, "customer_note", "condition",
              "disposition", "inspection_notes")
    readonly_fields = (*fields, "correct")
    verbose_name_plural = "lines"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("return_request", "order_line__product", "reason",
                                                            "replacement_product")

    def get_fields(self, request, obj=None):
        if request.user.has_perm("returns.correct_inspection"):
            return (*self.fields, "correct")
        return self.fields

    # The lines are part of the return: whoever may see the return sees them; nobody edits them here.
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("returns.view_returnrequest")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="product")
    def product(self, line: ReturnLine) -> str:
        product = line.order_line.product
        return f"{product.sku} — {product.name}"

    @admin.display(description="inspection")
    def correct(self, line: ReturnLine) -> str:
        if not line.condition:
            return "—"
        url = reverse("admin:returns_returnrequest_correct_inspection", args=[line.return_request_id, line.pk])
        return format_html('<a href="{}">Correct…</a>', url)


class QueueChangeList(ChangeList):
    """Computes the queue's per-return columns for the page shown, after paging."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = backoffice.queue_columns(list(self.result_list))


@admin.register(ReturnRequest)
class ReturnRequestAdmin(admin.ModelAdmin):
    list_display = ("rma", "status_column", "customer_column", "order_column", "items", "amount_column",
                    "fraud_badge", "sla_age", "reasons_column")
    list_display_links = ("rma",)
    list_filter = (QueueStatusFilter, ReasonFilter, FraudBandFilter, CategoryFilter, "requested_at",
                   ReviewModeFilter, WaitingBecauseFilter, "return_method")
    search_fields = ("rma_number",)  # shows the search box; get_search_results decides what matches
    search_help_text = "An RMA number, order id, carrier tracking number or customer e-mail (exact match)."
    ordering = ("requested_at", "id")  # oldest first: the queue is worked in the order it came in
    list_per_page = 50
    list_select_related = ("order", "customer")
    # Counting a million rows on every page view is what makes big admin lists slow.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    actions = ["approve_selected", "reject_selected"]
    inlines = [ReturnLineInline]
    fieldsets = (
        (None, {"fields": ("rma", "status", "customer_column", "order_column", "amounts", "fraud_badge",
                           "sla_age", "waiting_because", "refund_method", "return_method", "refund_timing",
                           "refund_timing_reason",
                           "note")}),
        ("Decision", {"fields": ("decision_reason", "authorized_at", "closed_at")}),
        ("Parcel", {"fields": ("label", "carrier", "tracking_number", "shipped_at", "received_at", "late",
                               "inspected_at", "inspection_fraud_score")}),
        ("Return rules", {"fields": ("rules_decision",)}),
        ("Policy that applied", {"classes": ("collapse",), "fields": ("policy_snapshot",)}),
    )
    readonly_fields = ("rma", "status", "customer_column", "order_column", "amounts", "fraud_badge", "sla_age",
                       "waiting_because", "refund_method", "return_method", "refund_timing", "refund_timing_reason",
                       "note",
                       "decision_reason", "authorized_at", "closed_at",
                       "label", "carrier", "tracking_number", "shipped_at", "received_at", "late",
                       "inspected_at", "inspection_fraud_score", "policy_snapshot", "rules_decision")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.is_gift:
            # Who returns it and how to reach them; the customer above is the purchaser.
            fieldsets = (*fieldsets, ("Gift return (credited to the recipient's gift card)",
                                      {"fields": ("gift_receipt", "recipient_name", "recipient_email")}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "gift_receipt", "recipient_name", "recipient_email")

    # --- who may do what: views for staff with the permission, changes only through the buttons ---

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return request.user.has_perm("returns.review_returnrequest")

    # --- the list ---

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "customer")

    def get_changelist(self, request, **kwargs):
        return QueueChangeList

    def get_list_display(self, request):
        # The status column says nothing while the list shows only returns needing review.
        if request.GET.get(QueueStatusFilter.parameter_name, QueueStatusFilter.DEFAULT) == QueueStatusFilter.DEFAULT:
            return tuple(column for column in self.list_display if column != "status_column")
        return self.list_display

    def get_search_results(self, request, queryset, search_term):
        return backoffice.search_returns(queryset, search_term), False

    @admin.display(description="RMA", ordering="rma_number")
    def rma(self, obj: ReturnRequest) -> str:
        return format_html('<span class="nowrap">{}</span>', obj.rma_number)

    @admin.display(description="status", ordering="status")
    def status_column(self, obj: ReturnRequest) -> str:
        return format_html('<span class="rr-status rr-status-{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description="customer")
    def customer_column(self, obj: ReturnRequest) -> str:
        customer = obj.customer
        return format_html('<span title="{}">{}</span>', customer.email,
                           customer.get_full_name() or customer.get_username())

    @admin.display(description="order")
    def order_column(self, obj: ReturnRequest) -> str:
        return format_html('<span class="nowrap">{}</span>', obj.order.external_id)

    @admin.display(description="items")
    def items(self, obj: ReturnRequest):
        return obj.item_count

    @admin.display(description="amount")
    def amount_column(self, obj: ReturnRequest) -> str:
        return format_html('<span class="nowrap">{}</span>', _money(obj.amount, obj.order.currency))

    @admin.display(description="fraud", ordering="fraud_score")
    def fraud_badge(self, obj: ReturnRequest) -> str:
        band = backoffice.fraud_band(obj.fraud_score)
        label = "—" if obj.fraud_score is None else obj.fraud_score
        return format_html('<span class="fraud-badge fraud-{}" title="Fraud score: {}">{}</span>', band, band, label)

    @admin.display(description="waiting", ordering="requested_at")
    def sla_age(self, obj: ReturnRequest) -> str:
        sla = backoffice.review_sla()
        age = backoffice.queue_age(obj, now=timezone.now())
        if obj.status != ReturnStatus.REQUESTED:
            return format_html('<span class="sla sla-done" title="Time to decision">{}</span>', _duration(age))
        state = "late" if age > sla else "soon" if age > sla * 0.75 else "ok"
        return format_html('<span class="sla sla-{}" title="Waiting {} of a {} review SLA">{}</span>', state,
                           _duration(age), _duration(sla), _duration(age))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "review_sla": _duration(backoffice.review_sla())}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.display(description="reason")
    def reasons_column(self, obj: ReturnRequest) -> str:
        held = format_html_join(" ", '<span class="held-for" title="{}">{}</span>', (
            (r.get("detail", ""), backoffice.REVIEW_REASON_LABELS.get(r.get("code"), r.get("code")))
            for r in obj.review_reasons or []))
        return format_html('<div class="reason">{}</div>{}', obj.reason_labels or "—", held)

    # --- a return's page ---

    @admin.display(description="amount")
    def amounts(self, obj: ReturnRequest) -> str:
        quote = services.return_quote(return_request=obj)
        parts = [f"items {_money(quote.gross, quote.currency)}"]
        if quote.restocking_fee:
            parts.append(f"restocking fee −{_money(quote.restocking_fee, quote.currency)}")
        if quote.shipping_refund:
            parts.append(f"shipping +{_money(quote.shipping_refund, quote.currency)}")
        if quote.method_fee:
            parts.append(f"{obj.get_return_method_display().lower()} fee −{_money(quote.method_fee, quote.currency)}")
        return format_html("<strong>{}</strong> <small>({})</small>", _money(quote.net, quote.currency),
                           ", ".join(parts))

    @admin.display(description="waiting because")
    def waiting_because(self, obj: ReturnRequest) -> str:
        reasons = obj.review_reasons or []
        if not reasons:
            return "—"
        return format_html_join("", "<div><strong>{}</strong>: {}</div>", (
            (backoffice.REVIEW_REASON_LABELS.get(r.get("code"), r.get("code")), r.get("detail", "")) for r in reasons))

    @admin.display(description="decision")
    def rules_decision(self, obj: ReturnRequest) -> str:
        """The version that decided the return, what it decided, and every rule that fired."""
        decision = obj.rule_decision or {}
        if not decision:
            return "Decided before the return rules existed."
        version = (format_html('<a href="{}">v{}</a>', reverse("admin:rules_rulesetversion_change",
                                                               args=[obj.rule_version_id]), obj.rule_version.number)
                   if obj.rule_version_id else "built-in rules only")
        fees = ", ".join(f"{kind.replace('_', ' ')} {amount}" for kind, amount in (decision.get("fees") or {}).items())
        trace = [entry["text"] for entry in decision.get("trace", []) + decision.get("builtin", [])]
        return format_html(
            "<div>Version: {}</div><div>Refund timing: {}</div><div>Fees: {}</div><div>Photos required: {}</div>"
            '<ol class="rules-trace">{}</ol>',
            version, decision.get("refund_timing", "after_inspection").replace("_", " "), fees or "none",
            "yes" if decision.get("requires_photos") else "no",
            format_html_join("", "<li>{}</li>", ((text,) for text in trace)) if trace
            else format_html("<li>{}</li>", "no rule fired"))

    @admin.display(description="arrived late")
    def late(self, obj: ReturnRequest) -> str:
        return "Yes: received after the RMA had expired" if obj.arrived_late else "No"

    @admin.display(description="return label")
    def label(self, obj: ReturnRequest) -> str:
        if obj.label_status != LabelStatus.ISSUED:
            return obj.get_label_status_display()
        url = reverse("admin:returns_returnrequest_label", args=[obj.pk])
        kind = "Drop-off QR code PDF" if obj.return_method == ReturnMethod.QR_DROP_OFF else "Label PDF"
        return format_html('<a href="{}">{}</a> ({} {})', url, kind, obj.carrier, obj.tracking_number)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._page_context(request, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _page_context(self, request, obj: ReturnRequest) -> dict:
        user = request.user
        allowed = set(allowed_transitions(obj, user))
        buttons = [button for name, button in TRANSITIONS.items() if name in allowed]
        approval_blocked = ""
        if any(button.name == "authorize" for button in buttons):
            try:
                services.check_approval_authority(return_request=obj, by=user)
            except DomainError as error:
                approval_blocked = error_text(error)
        return {
            "page": backoffice.return_page(obj),
            "transition_buttons": buttons,
            "approval_blocked": approval_blocked,
            "takes_reason": any(b.name in ("authorize", "reject", "cancel", "close") for b in buttons),
            "may_see_signals": user.has_perm("fraud.view_fraudsignal"),
            "may_see_refund": user.has_perm("refunds.view_refund"),
            "may_manage_refund": user.has_perm("refunds.manage_refund"),
            "sla_hours": backoffice.review_sla().total_seconds() / 3600,
        }

    # --- buttons ---

    def get_urls(self):
        urls = [
            path("<path:object_id>/transition/<str:name>/", self.admin_site.admin_view(self.transition_view),
                 name="returns_returnrequest_transition"),
            path("<path:object_id>/label.pdf", self.admin_site.admin_view(self.label_view),
                 name="returns_returnrequest_label"),
            path("<path:object_id>/lines/<int:line_id>/correct/", self.admin_site.admin_view(self.correct_view),
                 name="returns_returnrequest_correct_inspection"),
            path("<path:object_id>/lines/<int:line_id>/resolution/",
                 self.admin_site.admin_view(lambda request, object_id, line_id: line_resolution_view(
                     self, request, object_id, line_id)),
                 name="returns_returnrequest_line_resolution"),
        ]
        return urls + super().get_urls()

    def _viewable(self, request, object_id) -> ReturnRequest:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such return.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _page_url(self, obj) -> str:
        return reverse("admin:returns_returnrequest_change", args=[obj.pk])

    def transition_view(self, request, object_id, name):
        """GET: confirm (with a reason where one is asked). POST: make the change through its
        service, which refuses anyone without the permission."""
        obj = self._viewable(request, object_id)
        button = TRANSITIONS.get(name)
        if button is None:
            raise Http404("No such action.")
        form = ReasonForm(posted(request), required=button.reason_required,
                          help_text="The customer sees this." if button.reason_required else "")
        if request.method == "POST" and form.is_valid():
            call_service(request, button.run, return_request=obj, by=request.user,
                         reason=form.cleaned_data["reason"], success=f"{obj.rma_number} {button.done}.")
            return HttpResponseRedirect(self._page_url(obj))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": obj, "button": button,
                   "form": form, "title": f"{button.label}: {obj.rma_number}"}
        return TemplateResponse(request, "admin/returns/returnrequest/transition.html", context)

    def label_view(self, request, object_id):
        from returns.labels import render_label_pdf
        from returns.methods import render_drop_off_pdf

        obj = self._viewable(request, object_id)
        if obj.label_status != LabelStatus.ISSUED:
            raise Http404("This return has no label yet.")
        render = render_drop_off_pdf if obj.return_method == ReturnMethod.QR_DROP_OFF else render_label_pdf
        response = HttpResponse(render(obj), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{obj.rma_number}.pdf"'
        return response

    def correct_view(self, request, object_id, line_id):
        obj = self._viewable(request, object_id)
        line = get_object_or_404(ReturnLine.objects.select_related("order_line__product"), pk=line_id,
                                 return_request=obj)
        form = CorrectInspectionForm(posted(request), initial={"condition": line.condition})
        if request.method == "POST" and form.is_valid():
            succeeded, _ = call_service(
                request, services.inspection_correct, return_line=line, by=request.user,
                condition=form.cleaned_data["condition"], notes=form.cleaned_data["notes"],
                success=f"Inspection of {line.order_line.product.sku} corrected.")
            if succeeded:
                return HttpResponseRedirect(self._page_url(obj))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": obj, "line": line,
                   "form": form, "title": f"Correct the inspection of {line.order_line.product.sku}"}
        return TemplateResponse(request, "admin/returns/returnrequest/correct_inspection.html", context)

    # --- bulk actions ---

    @admin.action(description="Approve selected returns", permissions=["review"])
    def approve_selected(self, request, queryset):
        self._each(request, queryset, _approve, reason="", done="approved")

    @admin.action(description="Reject selected returns…", permissions=["review"])
    def reject_selected(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None, required=True,
                          help_text="Every selected customer sees this reason.")
        if "apply" in request.POST and form.is_valid():
            self._each(request, queryset, _reject, reason=form.cleaned_data["reason"], done="rejected")
            return None
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "returns": queryset.order_by("requested_at", "id"), "title": "Reject returns",
                   "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, "action": "reject_selected"}
        return TemplateResponse(request, "admin/returns/returnrequest/reject_selected.html", context)

    def _each(self, request, queryset, run, *, reason: str, done: str) -> None:
        """One service call per return, each in its own transaction: one refusal stops no other."""
        succeeded, refused = [], []
        for obj in queryset.order_by("requested_at", "id"):
            try:
                run(obj, request.user, reason)
            except DomainError as error:
                refused.append(f"{obj.rma_number}: {error_text(error)}")
            else:
                succeeded.append(obj.rma_number)
        if succeeded:
            messages.success(request, f"{len(succeeded)} {'return' if len(succeeded) == 1 else 'returns'} {done}: "
                                      f"{', '.join(succeeded)}.")
        for problem in refused:
            messages.error(request, problem)
