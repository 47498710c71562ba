"""The customer portal: orders, the return wizard, returns with their timeline, labels.

Reads go through selectors and writes through the services the API calls, so the portal
cannot allow what the API refuses. A customer reaches only their own orders and returns:
anyone else's is a 404, never a 403 that would confirm it exists.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError, InvalidTransition
from core.i18n import customer_language_set, supported_language
from orders import selectors as order_selectors
from orders.choices import OrderStatus
from returns import methods, selectors, services
from returns.choices import OPEN_STATUSES, SHIPPED_STATUSES, LabelStatus, RefundMethod, ReturnMethod, ReturnStatus
from returns.labels import render_label_pdf
from returns.portal import wording
from returns.portal.forms import CancelForm, ReturnWizard, ShipmentForm
from rules.engine import customer_view

PAGE_SIZE = 10
SUBMISSIONS_KEY = "portal_return_submissions"
QUOTE_PARTIAL_HEADER = "X-Portal-Partial"


def home(request):
    """The site's front door: customers go straight to their orders; everyone else sees the landing."""
    if request.user.is_authenticated and not request.user.is_staff:
        return redirect("portal:orders")
    return render(request, "home.html")


# --- orders ---

@login_required
@require_GET
def order_list(request):
    page = Paginator(order_selectors.orders_for_customer(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/orders.html", {"page": page, "orders": [_order_summary(o) for o in page]})


def _own_order(request, order_id: int):
    return get_object_or_404(order_selectors.orders_for_customer(request.user), pk=order_id)


def _order_summary(order, *, replacements: bool = False) -> dict:
    """The order's lines and what can be returned; with `replacements`, what each returnable line
    may be exchanged for (the wizard's choice, not needed on the orders page)."""
    lines = selectors.returnable_lines(order)
    policies = selectors.policies_by_category({line["order_line"].product.category for line in lines},
                                              country=order.shipping_country)
    options = selectors.replacement_options(order, [line["order_line"] for line in lines
                                                    if line["returnable_quantity"]]) if replacements else {}
    for line in lines:
        line["currency"] = order.currency
        line["replacements"] = options.get(line["order_line"].pk, [])
        line["why_not"] = _why_not(order, line)
        # The window ends at a moment of day (the delivery's time of day); the customer is shown the last
        # whole day they can return on, which is never later than that moment.
        line["last_day"] = (line["return_by"] + timedelta(microseconds=1) - timedelta(days=1)).date() \
            if line["return_by"] else None
        policy = policies[line["order_line"].product.category]
        line["restocking_fee_percent"] = policy.restocking_fee_percent
        line["store_credit_bonus_percent"] = policy.store_credit_bonus_percent
    returnable = [policies[line["order_line"].product.category] for line in lines if line["returnable_quantity"]]
    return {"order": order, "lines": lines, "can_return": any(line["returnable_quantity"] for line in lines),
            "return_methods": methods.offered_for_some(returnable, currency=order.currency)}


def _why_not(order, line: dict) -> str:
    code = line["not_returnable_reason"]
    if not code:
        return ""
    if order.status == OrderStatus.CANCELLED:
        return wording.ORDER_CANCELLED
    if code == "nothing_left_to_return" and line["quantity_shipped"] == 0:
        return wording.ITEM_NOT_SHIPPED
    return wording.NOT_RETURNABLE.get(code, wording.NOT_RETURNABLE["product_not_returnable"])


# --- the return wizard ---

@login_required
@require_http_methods(["GET", "POST"])
def return_start(request, order_id: int):
    """Choose items, quantities and reasons, see the quote, choose the refund, send the request.

    "Update quote" re-renders the page with the quote; the portal script asks the same view for
    just the quote panel as the form changes. A failed submit changes nothing and shows each
    error next to the field it concerns.
    """
    order = _own_order(request, order_id)
    summary = _order_summary(order, replacements=True)
    wizard = ReturnWizard(lines=summary["lines"], reasons=selectors.active_reasons(),
                          data=request.POST if request.method == "POST" else None,
                          return_methods=summary["return_methods"])
    quote = None
    if request.method == "POST" and wizard.is_valid():
        requested = wizard.requested_lines()
        if request.POST.get("action") == "submit":
            earlier = _submitted_before(request, wizard)
            if earlier:
                return redirect("portal:confirmation", rma=earlier)
            try:
                created = services.return_request_create(
                    by=request.user, order_id=order.pk, lines=requested, refund_method=wizard.refund_method,
                    note=wizard.form.cleaned_data["note"], return_method=wizard.return_method)
            except DomainError as error:
                wizard.add_domain_error(error)
            else:
                _remember_submission(request, wizard, created.rma_number)
                return redirect("portal:confirmation", rma=created.rma_number)
        elif requested:
            quote = _quote(request.user, order, requested, wizard)
    context = {
        "order": order, "summary": summary, "wizard": wizard, "quote": quote,
        "errors": wizard.error_summary() if request.method == "POST" else [],
        "bonus_percents": sorted({line["store_credit_bonus_percent"] for line in summary["lines"]
                                  if line["returnable_quantity"]}),
    }
    if request.headers.get(QUOTE_PARTIAL_HEADER) == "quote":
        return render(request, "portal/_quote.html", context)
    return render(request, "portal/return_start.html", context)


def _quote(user, order, requested: list[dict], wizard: ReturnWizard) -> dict | None:
    """Both refund choices quoted by the service the API uses, so the customer can compare them."""
    try:
        to_payment = services.return_quote_request(by=user, order_id=order.pk, lines=requested,
                                                   refund_method=RefundMethod.ORIGINAL_PAYMENT,
                                                   return_method=wizard.return_method)
        as_credit = services.return_quote_request(by=user, order_id=order.pk, lines=requested,
                                                  refund_method=RefundMethod.STORE_CREDIT,
                                                  return_method=wizard.return_method)
    except DomainError as error:
        wizard.add_domain_error(error)
        return None
    forms = wizard.requested_forms
    lines = [{"product": forms[amount.key].order_line.product, "quantity": amount.quantity, "gross": amount.gross,
              **_replacement_quoted(forms[amount.key], amount)}
             for amount in to_payment.lines]
    return {"currency": to_payment.currency, "lines": lines, "gross": to_payment.gross,
            "shipping_refund": to_payment.shipping_refund, "to_payment": to_payment.payment_amount,
            "replacement_total": to_payment.replacement_total, "charge": to_payment.charge,
            "fees": to_payment.fees, "notices": to_payment.notices,
            "store_credit": as_credit.store_credit_total, "store_credit_bonus": as_credit.store_credit_bonus,
            "method": wizard.refund_method, "method_fee": to_payment.method_fee,
            "return_method": ReturnMethod(to_payment.return_method).label}


def _replacement_quoted(form, amount) -> dict:
    """An exchanged line's replacement and what it costs beside what comes back: positive, the
    customer pays the difference; negative, they get it back. Nothing for a line quoted as a
    refund (an exchange out of stock is quoted as the refund it is offered instead)."""
    if amount.resolution != "exchange":
        return {}
    sku = form.replacement_sku
    chosen = next((option for option in form.line["replacements"]
                   if (option["product"].sku == sku if sku else option["same"])), None)
    name = chosen["product"].name if chosen else form.order_line.product.name
    difference = amount.replacement - amount.net
    return {"replacement_name": name, "replacement": amount.replacement,
            "to_pay": max(difference, 0), "back": max(-difference, 0)}


def _submitted_before(request, wizard: ReturnWizard) -> str | None:
    token = wizard.form.cleaned_data.get("submission")
    return request.session.get(SUBMISSIONS_KEY, {}).get(str(token)) if token else None


def _remember_submission(request, wizard: ReturnWizard, rma_number: str) -> None:
    token = wizard.form.cleaned_data.get("submission")
    if token:
        recent = list(request.session.get(SUBMISSIONS_KEY, {}).items())[-19:]
        request.session[SUBMISSIONS_KEY] = {**dict(recent), str(token): rma_number}


# --- returns ---

@login_required
@require_GET
def return_list(request):
    from refunds.credit import store_credit_balances

    page = Paginator(selectors.returns_for_customer(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/returns.html", {"page": page,
                                                   "store_credit": store_credit_balances(request.user)})


def _own_return(request, rma: str):
    found = selectors.customer_return(customer=request.user, rma_number=rma)
    if found is None:
        raise Http404("No such return.")
    return found


@login_required
@require_GET
def return_confirmation(request, rma: str):
    return render(request, "portal/confirmation.html", _return_context(_own_return(request, rma)))


@login_required
@require_GET
def return_detail(request, rma: str):
    return_request = _own_return(request, rma)
    context = _return_context(return_request)
    context["timeline"] = wording.timeline_entries(return_request, selectors.return_timeline(return_request))
    return render(request, "portal/return_detail.html", context)


def _refund_status(refund) -> str:
    from refunds.early_refunds import early_refund_held

    if refund is None:
        return ""
    if early_refund_held(refund, now=timezone.now()):
        return wording.REFUND_HELD_TEXT
    return wording.REFUND_STATUS_TEXT.get(refund.status, "")


def _return_context(return_request) -> dict:
    refund = return_request.refund if return_request.has_refund() else None
    estimate = None
    if refund is None and return_request.status in OPEN_STATUSES:
        estimate = services.return_quote(return_request=return_request)
    return {
        "rr": return_request, "status": wording.status_text(return_request.status), "refund": refund,
        "refund_status": _refund_status(refund),
        "refund_method": wording.REFUND_METHOD_TEXT.get(refund.paid_method if refund else return_request.refund_method),
        "estimate": estimate,
        "decision": customer_view(return_request.rule_decision, return_request),
        "label_ready": return_request.label_status == LabelStatus.ISSUED
        and return_request.status == ReturnStatus.AUTHORIZED,
        "label_pending": return_request.status == ReturnStatus.AUTHORIZED
        and return_request.label_status != LabelStatus.ISSUED,
        "can_cancel": return_request.status in wording.CANCELLABLE,
        "return_method": return_request.get_return_method_display(),
        "method_fee": Decimal((return_request.policy_snapshot.get("return_method") or {}).get("fee") or 0),
        "drop_off": return_request.return_method == ReturnMethod.QR_DROP_OFF,
        "own_shipping": return_request.return_method == ReturnMethod.OWN_SHIPPING
        and return_request.status == ReturnStatus.AUTHORIZED,
        "shipment_form": ShipmentForm(initial={"carrier": return_request.carrier,
                                               "tracking_number": return_request.tracking_number}),
        # An authorised return with no carrier scan LABEL_SCAN_DAYS after approval expires (at that time of
        # day, returns.tasks.expire_unshipped_returns); the customer is shown the last whole day before it.
        "send_by": (return_request.authorized_at + timedelta(days=settings.RETURNS["LABEL_SCAN_DAYS"] - 1)).date()
        if return_request.authorized_at else None,
    }


@login_required
@require_GET
def return_label(request, rma: str):
    return_request = _own_return(request, rma)
    if return_request.label_status != LabelStatus.ISSUED:
        messages.info(request, _("Your label is not ready yet: the carrier has not answered. Try again in a minute."))
        return redirect("portal:return", rma=return_request.rma_number)
    drop_off = return_request.return_method == ReturnMethod.QR_DROP_OFF
    render = methods.render_drop_off_pdf if drop_off else render_label_pdf
    response = HttpResponse(render(return_request), content_type="application/pdf")
    name = "drop-off-code" if drop_off else "return-label"
    response["Content-Disposition"] = f'attachment; filename="{name}-{return_request.rma_number}.pdf"'
    return response


@login_required
@require_GET
def return_drop_off_code(request, rma: str):
    """The QR code the customer shows at the drop-off counter, as an image for their phone."""
    return_request = _own_return(request, rma)
    if (return_request.return_method != ReturnMethod.QR_DROP_OFF or return_request.label_status != LabelStatus.ISSUED
            or return_request.status != ReturnStatus.AUTHORIZED):
        raise Http404("No drop-off code for this return.")
    response = HttpResponse(methods.render_drop_off_svg(return_request), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["POST"])
def return_shipment(request, rma: str):
    """An own shipment's carrier and tracking number, through the service the API uses."""
    return_request = _own_return(request, rma)
    form = ShipmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the carrier and the tracking number."))
        return redirect("portal:return", rma=return_request.rma_number)
    try:
        services.return_record_own_shipment(return_request=return_request, by=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Thank you: we will follow your parcel with this tracking number."))
    return redirect("portal:return", rma=return_request.rma_number)


@login_required
@require_http_methods(["GET", "POST"])
def return_cancel(request, rma: str):
    """Asks first (GET), cancels on POST; the service refuses once the carrier has the parcel."""
    return_request = _own_return(request, rma)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.return_cancel(return_request=return_request, by=request.user,
                                   reason=form.cleaned_data["reason"])
        except InvalidTransition:
            messages.error(request, _why_not_cancellable(request, rma))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Return %(rma)s is cancelled. Nothing more to do.")
                             % {"rma": return_request.rma_number})
        return redirect("portal:return", rma=return_request.rma_number)
    if request.method == "GET" and return_request.status not in wording.CANCELLABLE:
        messages.error(request, _why_not_cancellable(request, rma))
        return redirect("portal:return", rma=return_request.rma_number)
    return render(request, "portal/cancel.html", {"rr": return_request, "form": form})


def _why_not_cancellable(request, rma: str) -> str:
    status = _own_return(request, rma).status  # as it is now, not as the page showed it
    if status in SHIPPED_STATUSES:
        return _("This return can no longer be cancelled: the carrier already has your parcel.")
    if status == ReturnStatus.CANCELLED:
        return _("This return is already cancelled.")
    return _("This return can no longer be cancelled (its status: %(status)s).") % {
        "status": wording.status_text(status).title}


# --- language ---

@require_POST
def set_language(request):
    """Django's language switch (a CSRF-protected POST that sets the cookie and goes back to `next`);
    a logged-in customer's choice is also kept on their profile, for e-mails and their other devices."""
    response = i18n.set_language(request)
    language = supported_language(request.POST.get("language"))
    if language and request.user.is_authenticated and not request.user.is_staff:
        customer_language_set(user=request.user, language=language)
    return response
