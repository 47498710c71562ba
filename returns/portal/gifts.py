"""Return a gift: no login, a gift receipt's code instead.

Step one checks the code (refused and throttled by returns/gifts.py) and remembers, in the
server-side session, which receipt it opened and who the recipient is; step two chooses the
items; the recipient then follows the return on a page whose address is signed.
"""

import time
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from core.client_address import client_address
from core.errors import DomainError, TooManyAttempts, ValidationFailed
from returns import gifts, selectors, services
from returns.choices import LabelStatus
from returns.labels import render_label_pdf
from returns.models import GiftReceipt
from returns.portal import wording
from returns.portal.forms import ReturnWizard

SESSION_KEY = "portal_gift_return"
SUBMISSIONS_KEY = "portal_gift_submissions"
# How long a checked code opens its receipt in this browser.
SESSION_SECONDS = 30 * 60


class GiftCodeForm(forms.Form):
    code = forms.CharField(label=_("Gift receipt code"), max_length=40,
                           help_text=_("16 letters and digits, printed on your gift receipt."),
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false"}))
    recipient_name = forms.CharField(label=_("Your name"), max_length=200)
    recipient_email = forms.EmailField(label=_("Your e-mail address"),
                                       help_text=_("We send your label and your gift card here."))


class GiftReturnForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                           label=_("Anything we should know? (optional)"))
    submission = forms.UUIDField(required=False, widget=forms.HiddenInput)


class GiftWizard(ReturnWizard):
    """The customer's wizard without the refund choice: a gift is credited to a gift card."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        import uuid

        self.form = GiftReturnForm(kwargs.get("data"), initial={"submission": uuid.uuid4()})


@require_http_methods(["GET", "POST"])
def gift_start(request):
    form = GiftCodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            receipt = gifts.gift_receipt_verify(code=form.cleaned_data["code"], client_ip=client_address(request))
        except TooManyAttempts as error:
            form.add_error(None, error.message)
            status = 429
        except ValidationFailed as error:
            form.add_error("code", error.message)
        else:
            request.session.cycle_key()  # a new session for what the code opened
            request.session[SESSION_KEY] = {"receipt": receipt.pk, "name": form.cleaned_data["recipient_name"],
                                            "email": form.cleaned_data["recipient_email"], "at": time.time()}
            return redirect("portal:gift_items")
    errors = [{"anchor": "main" if name == "__all__" else form[name].auto_id, "message": message}
              for name, field_errors in form.errors.items() for message in field_errors]
    return render(request, "portal/gift_start.html", {"form": form, "errors": errors}, status=status)


def _opened_receipt(request) -> tuple[GiftReceipt, dict] | None:
    opened = request.session.get(SESSION_KEY)
    if not opened or time.time() - opened.get("at", 0) > SESSION_SECONDS:
        return None
    receipt = GiftReceipt.objects.select_related("order").filter(pk=opened["receipt"], revoked_at__isnull=True).first()
    return (receipt, opened) if receipt else None


def _gift_lines(receipt: GiftReceipt) -> list[dict]:
    lines = gifts.gift_receipt_lines(receipt)
    for line in lines:
        line["last_day"] = (line["return_by"] + timedelta(microseconds=1) - timedelta(days=1)).date() \
            if line["return_by"] else None
        line["why_not"] = wording.NOT_RETURNABLE.get(line["not_returnable_reason"], "") \
            if line["not_returnable_reason"] else ""
    return lines


@require_http_methods(["GET", "POST"])
def gift_items(request):
    opened = _opened_receipt(request)
    if opened is None:
        messages.info(request, _("Enter the code from your gift receipt first."))
        return redirect("portal:gift_start")
    receipt, recipient = opened
    lines = _gift_lines(receipt)
    wizard = GiftWizard(lines=lines, reasons=selectors.active_reasons(),
                        data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and wizard.is_valid():
        token = str(wizard.form.cleaned_data.get("submission") or "")
        earlier = request.session.get(SUBMISSIONS_KEY, {}).get(token) if token else None
        if earlier:
            return redirect("portal:gift_status", token=earlier)
        try:
            created = gifts.gift_return_create(
                gift_receipt=receipt, recipient_name=recipient["name"], recipient_email=recipient["email"],
                lines=wizard.requested_lines(), note=wizard.form.cleaned_data["note"])
        except DomainError as error:
            wizard.add_domain_error(error)
        else:
            status_token = gifts.gift_status_token(created)
            if token:
                request.session[SUBMISSIONS_KEY] = {**request.session.get(SUBMISSIONS_KEY, {}), token: status_token}
            return redirect("portal:gift_status", token=status_token)
    context = {"receipt": receipt, "recipient": recipient, "wizard": wizard,
               "can_return": any(line["returnable_quantity"] for line in lines),
               "errors": wizard.error_summary() if request.method == "POST" else []}
    return render(request, "portal/gift_items.html", context)


def _gift_return(token: str):
    found = gifts.gift_return_for_token(token)
    if found is None:
        raise Http404("No such return.")
    return found


@require_GET
def gift_status(request, token: str):
    return_request = _gift_return(token)
    refund = return_request.refund if return_request.has_refund() else None
    context = {
        "rr": return_request, "token": token, "status": wording.status_text(return_request.status),
        "refund": refund, "estimate": services.return_quote(return_request=return_request) if refund is None else None,
        "label_ready": return_request.label_status == LabelStatus.ISSUED
        and return_request.status == "authorized",
        "label_pending": return_request.status == "authorized" and return_request.label_status != LabelStatus.ISSUED,
        "timeline": wording.timeline_entries(return_request, selectors.return_timeline(return_request)),
    }
    return render(request, "portal/gift_status.html", context)


@require_GET
def gift_label(request, token: str):
    return_request = _gift_return(token)
    if return_request.label_status != LabelStatus.ISSUED:
        messages.info(request, _("Your label is not ready yet: the carrier has not answered. Try again in a minute."))
        return redirect("portal:gift_status", token=token)
    response = HttpResponse(render_label_pdf(return_request), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="return-label-{return_request.rma_number}.pdf"'
    return response
