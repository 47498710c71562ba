from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from core.admin_tools import ReadOnlyAdminMixin, call_service, posted
from refunds import collections, services
from refunds.choices import CollectionSettlement, RefundStatus
from refunds.models import Account, CreditSpending, GiftCard, JournalEntry, JournalLine, Refund, RefundAttempt
from refunds.selectors import early_refund_held_q
from returns.choices import RefundMethod


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields  # non-editable columns (created_at) too, which a form could not hold


class RefundAttemptInline(ReadOnlyInline):
    model = RefundAttempt
    fields = ("number", "started_at", "outcome", "error_code", "latency_ms", "response")


class JournalEntryInline(ReadOnlyInline):
    model = JournalEntry
    fields = ("kind", "reference", "memo", "created_at")


class FinanceQueueFilter(admin.SimpleListFilter):
    """The failed-refunds queue: what finance must act on."""

    title = "finance queue"
    parameter_name = "queue"
    QUEUES = {
        "needs_attention": ("Failed: finance must act", Q(status=RefundStatus.FAILED, needs_attention=True)),
        "failed": ("Failed (all, retrying too)", Q(status=RefundStatus.FAILED)),
        "collections": ("Collections finance must settle", Q(status=RefundStatus.FAILED, needs_attention=True,
                                                             charge_amount__gt=0)),
        "awaiting_cheque": ("Cheque to write", Q(status=RefundStatus.PROCESSING, method=RefundMethod.CHEQUE)
                            | Q(status=RefundStatus.FALLBACK, fallback_method=RefundMethod.CHEQUE, cheque_number="")),
        # Not finance's to act on: paid once the parcel is scanned or received (the sweeper does it).
        "held_for_parcel": ("Early refund held: parcel overdue", lambda: early_refund_held_q(now=timezone.now())),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.QUEUES.items()]

    def queryset(self, request, queryset):
        queue = self.QUEUES.get(self.value())
        if queue is None:
            return queryset
        condition = queue[1]
        return queryset.filter(condition() if callable(condition) else condition)


class FallBackForm(forms.Form):
    method = forms.ChoiceField(choices=[(RefundMethod.STORE_CREDIT.value, "Store credit (with the bonus)"),
                                        (RefundMethod.CHEQUE.value, "Cheque")], widget=forms.RadioSelect)
    reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Recorded in the refund's history.")


class ChequeForm(forms.Form):
    cheque_number = forms.CharField(max_length=50)


class SettleCollectionForm(forms.Form):
    method = forms.ChoiceField(choices=[(c.value, c.label) for c in collections.SETTLE_METHODS],
                               widget=forms.RadioSelect)
    reference = forms.CharField(required=False, max_length=100,
                                help_text="For a payment by other means: its reference (a bank transfer's, say).")


class WriteOffForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Kept on record with the write-off.")


@admin.register(Refund)
class RefundAdmin(SimpleHistoryAdmin):
    """Refunds, and finance's buttons: each calls refunds.services, which checks the permission."""

    list_display = ("return_request", "status", "method", "net", "currency", "attempts", "needs_attention",
                    "failure_code", "updated_at")
    list_filter = (FinanceQueueFilter, "status", "method", "needs_attention")
    list_select_related = ("return_request",)
    search_fields = ("return_request__rma_number", "gateway_reference")
    readonly_fields = [f.name for f in Refund._meta.fields]
    inlines = [RefundAttemptInline, JournalEntryInline]
    change_form_template = "admin/refunds/refund/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        def view(name, func):
            return path(f"<path:object_id>/{name.replace('_', '-')}/", self.admin_site.admin_view(func),
                        name=f"refunds_refund_{name}")

        return [view("retry", self.retry_view), view("fall_back", self.fall_back_view),
                view("cheque_issued", self.cheque_issued_view), view("settle_collection", self.settle_collection_view),
                view("write_off", self.write_off_view), *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_manage"] = request.user.has_perm("refunds.manage_refund")
        context["may_settle"] = request.user.has_perm("refunds.settle_collection")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _viewable(self, request, object_id) -> Refund:
        refund = self.get_object(request, unquote(object_id))
        if refund is None:
            raise Http404("No such refund.")
        if not self.has_view_permission(request, refund):
            raise PermissionDenied
        return refund

    def _done(self, refund) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:refunds_refund_change", args=[refund.pk]))

    def _page(self, request, refund, *, title: str, form, intro: str, submit: str):
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": refund, "form": form,
                   "title": title, "intro": intro, "submit": submit}
        return TemplateResponse(request, "admin/refunds/refund/action.html", context)

    def retry_view(self, request, object_id):
        refund = self._viewable(request, object_id)
        if request.method == "POST":
            call_service(request, services.refund_retry, refund=refund, by=request.user,
                         success="Retry queued: the gateway is called again with the same idempotency key.")
            return self._done(refund)
        return self._page(request, refund, title=f"Retry {refund}", form=None, submit="Retry now",
                          intro="The gateway is called again with the refund's idempotency key, so it can never pay "
                                "twice.")

    def fall_back_view(self, request, object_id):
        refund = self._viewable(request, object_id)
        form = FallBackForm(posted(request), initial={"method": request.GET.get("method")})
        if request.method == "POST" and form.is_valid():
            method = form.cleaned_data["method"]
            succeeded, _ = call_service(
                request, services.refund_fall_back, refund=refund, by=request.user, method=method,
                reason=form.cleaned_data["reason"], success=f"Refund switched to {RefundMethod(method).label.lower()}.")
            if succeeded:
                return self._done(refund)
        return self._page(request, refund, title=f"Pay {refund} another way", form=form, submit="Switch",
                          intro="The customer is told. Store credit is issued at once; a cheque waits until you mark "
                                "it issued.")

    def cheque_issued_view(self, request, object_id):
        refund = self._viewable(request, object_id)
        form = ChequeForm(posted(request))
        if request.method == "POST" and form.is_valid():
            succeeded, _ = call_service(request, services.refund_mark_cheque_issued, refund=refund, by=request.user,
                                        cheque_number=form.cleaned_data["cheque_number"],
                                        success="Cheque recorded; the refund is paid.")
            if succeeded:
                return self._done(refund)
        return self._page(request, refund, title=f"Cheque for {refund}", form=form, submit="Mark issued",
                          intro="Record the cheque written for this refund; the ledger and the return follow.")

    def settle_collection_view(self, request, object_id):
        refund = self._viewable(request, object_id)
        form = SettleCollectionForm(posted(request), initial={"method": request.GET.get("method")})
        if request.method == "POST" and form.is_valid():
            method = form.cleaned_data["method"]
            succeeded, _ = call_service(
                request, collections.collection_settle, refund=refund, by=request.user, method=method,
                reference=form.cleaned_data["reference"],
                success=f"Collection settled: {CollectionSettlement(method).label.lower()}.")
            if succeeded:
                return self._done(refund)
        return self._page(request, refund, title=f"Collect {refund} another way", form=form, submit="Settle",
                          intro="The card keeps declining. Deduct what is owed from the customer's store credit "
                                "(only when it covers all of it), or record a payment received by other means.")

    def write_off_view(self, request, object_id):
        refund = self._viewable(request, object_id)
        form = WriteOffForm(posted(request))
        if request.method == "POST" and form.is_valid():
            succeeded, _ = call_service(request, collections.collection_write_off, refund=refund, by=request.user,
                                        reason=form.cleaned_data["reason"], success="Collection written off.")
            if succeeded:
                return self._done(refund)
        return self._page(request, refund, title=f"Write off {refund}", form=form, submit="Write off",
                          intro="Nothing more is collected from the customer: what they owe becomes an expense. "
                                "This cannot be undone.")


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


class CreditSpendingInline(ReadOnlyInline):
    """What was spent from the card at checkout (the storefront spends and reverses through the API)."""

    model = CreditSpending
    fields = ("created_at", "amount", "currency", "reference", "reversed_at", "reversal_reason")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("gift_card")  # each row is named after its card


@admin.register(CreditSpending)
class CreditSpendingAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Gift cards and store credit spent at the storefront's checkout (which spends and reverses
    through the API): read-only here."""

    list_display = ("created_at", "source", "amount", "currency", "reference", "reversed_at")
    list_filter = ("currency", ("reversed_at", admin.EmptyFieldListFilter))
    list_select_related = ("gift_card", "customer")
    search_fields = ("reference", "customer__email", "gift_card__code_hint")
    fields = ("source", "amount", "currency", "reference", "spent_by", "created_at", "reversed_at", "reversed_by",
              "reversal_reason")
    readonly_fields = fields

    @admin.display(description="spent from")
    def source(self, spending) -> str:
        return str(spending.gift_card) if spending.gift_card_id else f"store credit of {spending.customer}"


@admin.register(GiftCard)
class GiftCardAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Gift recipients' cards: read-only here (issued by a gift return's refund, spent at checkout)."""

    inlines = [CreditSpendingInline]
    list_select_related = ("refund__return_request",)

    list_display = ("__str__", "recipient_email", "initial_amount", "balance", "currency", "refund", "created_at")
    list_filter = ("currency",)
    search_fields = ("recipient_email", "code_hint", "refund__return_request__rma_number")
    fields = ("refund", "code_hint", "currency", "initial_amount", "balance", "recipient_name", "recipient_email",
              "created_at")
    readonly_fields = fields


# Goodwill's and the early refunds' admin live in their own modules.
from refunds import early_refunds_admin, goodwill_admin  # noqa: E402, F401
