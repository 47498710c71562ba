"""Every write to a return. Each service is atomic, locks what it changes and checks the actor.

`by` is the acting user, or None for the system itself (tasks and automatic decisions).
"""

import logging
import warnings
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image

from core import tracing
from core.actors import channel_of
from core.errors import Conflict, ErrorList, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from core.money import round_money
from core.transitions import apply_transition, save_with_history
from fraud.services import (
    fraud_return_ended,
    fraud_return_expired,
    fraud_return_refunded,
    fraud_score_inspection,
    fraud_score_request,
)
from orders.models import Order, OrderLine, Payment
from refunds.calculations import calculate_refund
from returns import methods, resolutions, selectors
from returns.choices import (
    DISPOSITION_BY_CONDITION,
    SHIPPED_STATUSES,
    Condition,
    Disposition,
    LabelStatus,
    RefundMethod,
    RefundTiming,
    Resolution,
    ReturnMethod,
    ReturnStatus,
)
from returns.markets import effective_window_days
from returns.models import (
    InspectionPhoto,
    ParcelPhoto,
    ReturnLine,
    ReturnLineInspection,
    ReturnRequest,
    UnmatchedParcel,
)
from returns.policies import (
    LINE_RULES,
    REQUEST_RULES,
    EligibilityContext,
    Outcome,
    RequestedLine,
)
from returns.rma import new_rma_number
from rules import decisions as rule_decisions
from rules import engine as rule_engine
from rules import facts as rule_facts
from rules import selectors as rule_selectors

logger = logging.getLogger(__name__)

CUSTOMER_REFUND_METHODS = (RefundMethod.ORIGINAL_PAYMENT, RefundMethod.STORE_CREDIT)


def _require_user(by) -> None:
    if by is None or not by.is_authenticated:
        raise PermissionDenied(_("Log in first."), code="not_authenticated")


def _lock(return_request, by=None) -> ReturnRequest:
    """Lock the return; a partner reaches only returns of its own channel."""
    pk = return_request.pk if isinstance(return_request, ReturnRequest) else return_request
    locked = ReturnRequest.objects.select_for_update().filter(pk=pk).first()
    partner_channel = channel_of(by)
    if locked is None or (partner_channel is not None
                          and not Order.objects.filter(pk=locked.order_id, channel_id=partner_channel).exists()):
        raise NotFound(_("No such return."), code="return_not_found")
    return locked


# --- request ---

def _initiate_attributes(*, by, order_id, lines, **_) -> dict:
    lines = lines if isinstance(lines, list) else []
    reasons = sorted({str(line.get("reason")) for line in lines if isinstance(line, dict) and line.get("reason")})
    return {"return.order_id": str(order_id), "return.user_id": getattr(by, "pk", None),
            "return.item_count": len(lines), "return.reason": ",".join(reasons)}


def _return_attributes(*, return_request=None, **_) -> dict:
    """The return a service acts on (a row or its key), as span attributes."""
    if isinstance(return_request, ReturnRequest):
        return {"return.rma_id": return_request.rma_number, "return.id": return_request.pk}
    return {"return.id": str(return_request)}


def _outcome_attributes(return_request: ReturnRequest) -> dict:
    return {"return.rma_id": return_request.rma_number, "return.status": return_request.status}


@tracing.traced("return.initiate", _initiate_attributes, rejected_as="return")
@transaction.atomic
def return_request_create(
    *, by, order_id, lines: list[dict], refund_method: str = RefundMethod.ORIGINAL_PAYMENT, note: str = "",
    gift_receipt=None, recipient_name: str = "", recipient_email: str = "", recipient_language: str = "",
    return_method: str = ReturnMethod.LABEL,
) -> ReturnRequest:
    """Check eligibility under a lock on the order, create the return, score it, and authorise
    it at once unless a review rule sends it to a person.

    The published rule set decides it (built-in and merchant rules, rules.decisions); the return
    keeps that version, the decision with its trace, and the facts it was decided on.

    `lines` are dicts with `order_line_id`, `quantity`, `reason` (a reason code), optional `note`,
    and optional `resolution` (refund, exchange or store_credit, as the policy allows) with, for an
    exchange, `replacement_sku` (the same product when absent). Lines worth less than their
    policy's returnless limit stay with the customer; when every line does, nothing is shipped.

    A gift return (`gift_receipt`, verified by returns/gifts.py, with `by=None`) is made for the
    purchaser's order on the recipient's behalf; it is credited to the recipient's gift card.
    The rules also say when the refund is paid (`refund_timing`); a customer who lost early refunds,
    an exchange and a gift return are refunded after inspection all the same, and the return says why.
    `return_method` is how the parcel comes back, as the policies offer it (`returns.methods`).
    """
    order, requested, ctx = _check_eligibility(by=by, order_id=order_id, lines=lines, refund_method=refund_method,
                                               lock=True, gift_receipt=gift_receipt)
    offer = _method_offer(order, requested, return_method)
    tracing.annotate(links=tracing.link_to(order.trace_context, "original_order"))
    decided = ctx.rules
    return_request = _create_with_unique_rma(
        order=order, customer=order.customer, note=(note or "")[:2000], refund_method=refund_method,
        return_method=offer.method, policy_snapshot=_policy_snapshot(order, requested, offer), by=by,
        trace_context=tracing.context_dict(),
        gift_receipt=gift_receipt, recipient_name=recipient_name, recipient_email=recipient_email,
        recipient_language=recipient_language, rule_version=decided.version, rule_decision=decided.early,
    )
    tracing.annotate({"return.rma_id": return_request.rma_number})
    created = ReturnLine.objects.bulk_create([
        ReturnLine(return_request=return_request, order_line=line.order_line, quantity=line.quantity,
                   reason=line.reason, customer_note=line.note, resolution=line.resolution,
                   replacement_product=line.replacement if line.resolution == Resolution.EXCHANGE else None,
                   replacement_unit_price=line.replacement_terms[0] if line.resolution == Resolution.EXCHANGE else None,
                   replacement_unit_tax=line.replacement_terms[1] if line.resolution == Resolution.EXCHANGE else None,
                   returnless=_kept(line))
        for line in requested
    ])
    _count_resolutions([line.resolution for line in requested])

    from refunds.selectors import refund_inputs_for_return

    inputs = refund_inputs_for_return(return_request, elsewhere=_held_for_money(ctx))
    order_line_of = {line.pk: line.order_line_id for line in created}
    rule_facts.add_money(decided.facts, inputs=inputs,
                         quoted_lines={order_line_of[item.key]: item for item in inputs["lines"]})
    ctx.amount = calculate_refund(**inputs).net
    scored = fraud_score_request(return_request=return_request, amount=ctx.amount)
    ctx.fraud_score, ctx.customer_flagged = scored.score, scored.customer_flagged
    rule_facts.add_score(decided.facts, fraud_score=ctx.fraud_score, customer_flagged=ctx.customer_flagged)
    decision = rule_decisions.decide(decided.compiled, decided.facts)
    review = decision["review"]
    return_request.fraud_score = ctx.fraud_score
    return_request.review_reasons = review
    return_request.rule_decision, return_request.rule_facts = decision, decided.facts
    # Set before authorisation, which pays a refund due at request.
    return_request.refund_timing, return_request.refund_timing_reason = _refund_timing(
        order, requested, wanted=decision.get("refund_timing") or RefundTiming.AFTER_INSPECTION,
        gift=gift_receipt is not None)
    if review:
        save_with_history(return_request, by=by, reason="scored")
    else:  # one write: the score and the authorisation (with its label request) in one history row
        _authorize(return_request, by=None, reason="Authorised automatically: policy and risk allow it.",
                   also=("scored",), lines=created)
    tracing.annotate({"return.refund_amount": Decimal(decision["money"]["net"]), "return.currency": order.currency,
                      "return.fraud_score": ctx.fraud_score, "return.needs_review": bool(review)})
    logger.info("return requested", extra={"rma": return_request.rma_number, "needs_review": bool(review)})
    return return_request


def return_quote_request(*, by, order_id, lines: list[dict], refund_method: str = RefundMethod.ORIGINAL_PAYMENT,
                         return_method: str = ReturnMethod.LABEL):
    """What a return of these lines would pay, by the same rules and computation as the real thing,
    the chosen return method's fee deducted.

    Writes nothing. Conditions are not known yet, so no restocking fee is assumed. An exchange
    whose replacement is out of stock is quoted as the refund the customer is offered instead, and
    `notices` say so (`replacement_out_of_stock`), as they say which lines the customer keeps
    (`returnless`), and when the refund would be paid (`refund_timing`, with the reason; a
    `refund_after_inspection` notice when the rules' early timing does not apply).
    """
    from dataclasses import replace

    from refunds.selectors import Exchange, refund_inputs_for_lines

    order, requested, ctx = _check_eligibility(by=by, order_id=order_id, lines=lines, refund_method=refund_method,
                                               lock=False, offer_refund_when_out_of_stock=True)
    offer = _method_offer(order, requested, return_method)
    items = []
    for line in requested:
        exchange = Exchange(resolution=line.resolution)
        if line.resolution == Resolution.EXCHANGE:
            price, tax = line.replacement_terms
            exchange = Exchange(resolution=line.resolution, quantity=line.quantity, unit_price=price, unit_tax=tax)
        if _kept(line):
            ctx.notices.append({"code": "returnless", "line": line.index,
                                "detail": f"Keep {line.order_line.product.name}: no need to send it back."})
        items.append((line.index, line.order_line, line.quantity, "", line.policy.snapshot(), exchange))
    wanted = ctx.rules.early.get("refund_timing") or RefundTiming.AFTER_INSPECTION
    timing, timing_reason = _refund_timing(order, requested, wanted=wanted)
    shown = rule_engine.customer_view(ctx.rules.early)
    ctx.notices.extend(note for note in shown["notes"] if note["code"] not in ("returnless", "rule_denied"))
    if timing != RefundTiming.AFTER_INSPECTION:  # paid sooner than usual: worth saying
        ctx.notices.append({"code": "refund_timing", "timing": timing, "detail": timing_reason})
    elif wanted != timing:
        ctx.notices.append({"code": "refund_after_inspection", "detail": timing_reason})
    inputs = refund_inputs_for_lines(order=order, store_credit=refund_method == RefundMethod.STORE_CREDIT,
                                     items=items, elsewhere=_held_for_money(ctx), decision=ctx.rules.early,
                                     return_method=offer.method, method_fee=offer.fee)
    return replace(calculate_refund(**inputs), notices=tuple(ctx.notices), refund_timing=timing,
                   refund_timing_reason=timing_reason)


def _held_for_money(ctx: EligibilityContext) -> dict[int, int]:
    """Units per order line the other live returns hold for money, from eligibility's aggregate
    (under the order's lock when the return is made, so before it existed: every other return)."""
    return {pk: claimed.for_money for pk, claimed in ctx.claimed.items()}


def _refund_timing(order, requested: list[RequestedLine], *, wanted: str, gift: bool = False) -> tuple[str, str]:
    """When the refund is paid: the rules' timing (`wanted`), unless early refunds do not apply."""
    from refunds.early_refunds import early_refund_timing

    return early_refund_timing(
        customer=order.customer, wanted=wanted, gift=gift,
        exchanges=any(line.resolution == Resolution.EXCHANGE for line in requested),
        returnless=all(_kept(line) for line in requested))


def _kept(line: RequestedLine) -> bool:
    """The customer keeps the line: worth less than the policy's returnless limit, or a rule says so."""
    return resolutions.is_returnless(line.order_line, line.quantity, line.policy) or bool(
        line.rule and line.rule["returnless"])


def _method_offer(order, requested: list[RequestedLine], return_method) -> methods.Offer:
    """The chosen return method as the lines' policies offer it, or a refusal with a stable code."""
    policies = list({line.policy.pk: line.policy for line in requested}.values())
    return methods.choose(policies, currency=order.currency, method=return_method or ReturnMethod.LABEL)


@tracing.traced("return.check_eligibility")
def _check_eligibility(*, by, order_id, lines, refund_method, lock: bool, offer_refund_when_out_of_stock=False,
                       gift_receipt=None):
    """Run every eligibility rule; raise the denials, or return what the request resolved to.

    A quote offers a refund for an exchange out of stock (noted in `ctx.notices`) instead of
    refusing it. A gift receipt stands in for the purchaser's login: its recipient is held to
    the rules a customer is, for the receipt's order, and is credited only by gift card."""
    if gift_receipt is not None:
        by, order_id = None, gift_receipt.order_id
    else:
        _require_user(by)
    now = timezone.now()
    acting_for_customer = gift_receipt is not None or not by.has_perm("returns.manage_returnrequest")
    # The order's lines (with products), customer and whether anything was paid are read once here
    # and reused by every later step of the request; only the order row itself is locked.
    orders = Order.objects.select_for_update(of=("self",)) if lock else Order.objects
    orders = orders.select_related("customer", "channel").prefetch_related(
        Prefetch("lines", OrderLine.objects.select_related("product"))).annotate(
        has_payment=Exists(Payment.objects.filter(order=OuterRef("pk"))))
    order = orders.filter(pk=order_id).first() if str(order_id).isdigit() else None
    partner_channel = channel_of(by)
    if order is None or (
            gift_receipt is None and acting_for_customer and order.customer_id != by.pk) or (
            partner_channel is not None and order.channel_id != partner_channel):
        raise NotFound(_("We could not find that order on your account."), code="order_not_found")
    if gift_receipt is not None:
        by = order.customer  # the receipt is the purchaser's consent: the rules see the return as theirs

    requested = [
        RequestedLine(index=i, order_line_id=line.get("order_line_id"), quantity=line.get("quantity"),
                      reason_code=line.get("reason"), note=str(line.get("note") or "")[:500],
                      resolution=line.get("resolution") or Resolution.REFUND,
                      replacement_sku=line.get("replacement_sku") or None)
        for i, line in enumerate(lines or [])
    ]
    ctx = EligibilityContext(actor=by, order=order, lines=requested, now=now, acting_for_customer=acting_for_customer)
    for rule in REQUEST_RULES:
        verdict = rule(ctx)
        if verdict.outcome == Outcome.DENY:
            raise ValidationFailed(verdict.message, code=verdict.code)
    if gift_receipt is not None and refund_method != RefundMethod.GIFT_CARD:
        raise ValidationFailed(_("A gift return is credited to the recipient’s gift card."),
                               code="gift_return_gift_card_only")
    if gift_receipt is None and refund_method not in CUSTOMER_REFUND_METHODS:
        raise ValidationFailed(_("Choose a refund to the original payment or store credit."),
                               code="invalid_refund_method")

    ctx.claimed = _resolve_lines(order, requested)
    ctx.rules = _decide_early(order, requested, now=now, acting_for_customer=acting_for_customer)
    tracing.annotate(_eligibility_attributes(order, requested, now))
    ctx.order_has_payment = order.has_payment
    errors = ErrorList()
    for line in requested:
        for rule in LINE_RULES:
            verdict = rule(ctx, line)
            if verdict.code == "replacement_out_of_stock" and offer_refund_when_out_of_stock:
                ctx.notices.append({"code": verdict.code, "line": line.index, "detail": verdict.message,
                                    "offered_resolution": Resolution.REFUND})
                line.resolution, line.replacement, line.replacement_terms = Resolution.REFUND, None, None
                continue
            if verdict.outcome == Outcome.DENY:
                errors.add(verdict.code, verdict.message, field=f"lines[{line.index}]")
                break
    errors.raise_if_any()
    return order, requested, ctx


@dataclass
class RulesDecision:
    version: object  # the RuleSetVersion, or None when none is published (built-in rules only)
    compiled: rule_engine.CompiledVersion
    facts: dict
    early: dict  # the merchant rules that do not need the fraud score, on every line


def _decide_early(order, requested: list[RequestedLine], *, now, acting_for_customer: bool) -> RulesDecision:
    """The published rules on the request's facts, before eligibility's line rules run: they
    deny lines, change windows and what may be asked for (read through each line's policy)."""
    version = rule_selectors.published_version()
    compiled = rule_selectors.compiled(version)
    facts = rule_facts.gather(order=order, requested=requested, now=now, acting_for_customer=acting_for_customer,
                              review_threshold=settings.RETURNS["REVIEW_SCORE_THRESHOLD"])
    early = rule_engine.evaluate(compiled, facts, scored=False)
    by_index = {line["index"]: line for line in early["lines"]}
    for line in requested:
        line.rule = by_index.get(line.index)
        if line.policy is not None:
            line.policy = rule_decisions.adjusted_policy(line.policy, line.rule)
    return RulesDecision(version=version, compiled=compiled, facts=facts, early=early)


def _eligibility_attributes(order, requested: list[RequestedLine], now) -> dict:
    resolved = [line for line in requested if line.order_line is not None]
    days = (now - order.delivered_at).total_seconds() / 86400 if order.delivered_at else None
    unreturnable = next((line.order_line.product.sku for line in resolved if not line.order_line.product.returnable),
                        None)
    return {"return.order_id": str(order.pk),
            "return.days_since_delivery": round(days, 1) if days is not None else None,
            "return.within_window": days is not None and all(
                (now - order.delivered_at).days <= effective_window_days(line.policy, order.shipping_country)
                for line in resolved),
            "return.non_returnable_item": unreturnable}


def _resolve_lines(order, requested: list[RequestedLine]) -> dict:
    """Fill in each requested line's order line, reason, policy and returnable units; returns the
    units other returns claim per order line (returns.selectors.claimed_units)."""
    order_lines = {str(line.pk): line for line in order.lines.all()}
    reasons = {reason.code: reason for reason in selectors.active_reasons()}
    policies = selectors.policies_by_category({line.product.category for line in order_lines.values()},
                                              country=order.shipping_country)
    claimed = selectors.claimed_units(line.pk for line in order_lines.values())
    returnable = selectors.returnable_quantities(order, claimed=claimed)
    for line in requested:
        line.order_line = order_lines.get(str(line.order_line_id))
        line.reason = reasons.get(line.reason_code) if isinstance(line.reason_code, str) else None
        if line.order_line is not None:
            line.policy = policies[line.order_line.product.category]
            line.returnable_quantity = returnable[line.order_line.pk]
    _resolve_replacements(order, requested)
    return claimed


def _resolve_replacements(order, requested: list[RequestedLine]) -> None:
    """For exchanges: the replacement (by SKU, else the same product), its price, and whether the
    stock that can still be reserved covers every line that asks for it."""
    from inventory.models import Product
    from inventory.selectors import available_to_reserve

    exchanges = [line for line in requested if line.resolution == Resolution.EXCHANGE and line.order_line is not None]
    if not exchanges:
        return
    skus = {str(line.replacement_sku) for line in exchanges if line.replacement_sku}
    by_sku = {product.sku: product for product in Product.objects.filter(sku__in=skus)}
    for line in exchanges:
        line.replacement = by_sku.get(str(line.replacement_sku)) if line.replacement_sku else line.order_line.product
        if line.replacement is not None:
            line.replacement_terms = resolutions.replacement_terms(line.order_line, line.replacement,
                                                                   currency=order.currency)
    left = available_to_reserve({line.replacement for line in exchanges if line.replacement is not None})
    for line in exchanges:
        units = line.quantity if isinstance(line.quantity, int) and not isinstance(line.quantity, bool) else 0
        if line.replacement is not None and units > 0:
            line.replacement_in_stock = left[line.replacement.pk] >= units
            left[line.replacement.pk] -= units if line.replacement_in_stock else 0


def _count_resolutions(chosen: list[str]) -> None:
    from refunds.metrics import RMA_RESOLUTIONS

    transaction.on_commit(lambda: [RMA_RESOLUTIONS.labels(resolution).inc() for resolution in chosen])


def _policy_snapshot(order, requested: list[RequestedLine], offer: methods.Offer) -> dict:
    """Each category's policy as it applied, its window the effective one for the shipping
    country (the EU minimum raises it), and the return method chosen with its fee."""
    categories = {}
    for line in requested:
        snapshot = line.policy.snapshot()
        snapshot["policy_window_days"] = snapshot["window_days"]
        snapshot["window_days"] = effective_window_days(line.policy, order.shipping_country)
        categories[line.order_line.product.category] = snapshot
    return {"categories": categories, "review_threshold": settings.RETURNS["REVIEW_SCORE_THRESHOLD"],
            "shipping_country": order.shipping_country,
            "return_method": {"code": offer.method, "fee": str(offer.fee), "currency": offer.currency}}


def _create_with_unique_rma(*, by, **fields) -> ReturnRequest:
    for _attempt in range(5):
        return_request = ReturnRequest(rma_number=new_rma_number(), **fields)
        try:
            with transaction.atomic():
                save_with_history(return_request, by=by, reason="requested")
            return return_request
        except IntegrityError:
            if ReturnRequest.objects.filter(rma_number=return_request.rma_number).exists():
                continue
            raise
    raise RuntimeError("Could not allocate a unique RMA number")


def return_quote(*, return_request: ReturnRequest, store_credit: bool | None = None):
    """What this return pays out, by the same computation the refund commits."""
    from refunds.selectors import refund_inputs_for_return

    inputs = refund_inputs_for_return(return_request, store_credit=store_credit)
    return calculate_refund(**inputs)


# --- review ---

def _authorize(return_request: ReturnRequest, *, by, reason: str, also: tuple[str, ...] = (),
               lines: list[ReturnLine] | None = None) -> None:
    """Authorised: replacements' stock is held; a return the customer keeps whole goes straight on
    to its money, any other gets its label (and a trusted customer may get replacements now).

    `also` names the changes already made to the return since its last save: with them, the label
    request is saved in the authorisation's own write and history row. `lines` are the return's
    lines when the caller holds them all (it has just written them), so none is read again."""
    returnless = (bool(lines) and all(line.returnless for line in lines)) if lines is not None \
        else return_request.is_returnless
    label = not returnless and methods.CARRIER_MODE[return_request.return_method] is not None
    if label and also:
        return_request.label_status = LabelStatus.PENDING
        also = (*also, "label requested")
    apply_transition(return_request, "authorize", by=by, reason=reason, also=also, at=timezone.now())
    exchanges = lines is None or any(line.resolution == Resolution.EXCHANGE for line in lines)
    if exchanges:
        resolutions.exchange_reserve(return_request, by=by)
    if returnless:
        resolutions.return_keep(return_request, by=None)
        return
    if exchanges:
        resolutions.exchange_dispatch_early(return_request, by=by)
    _refund_early(return_request, reached=RefundTiming.AT_REQUEST)
    if not label:
        return  # own shipping: the customer tells us the carrier and tracking number
    if return_request.label_status != LabelStatus.PENDING:
        return_request.label_status = LabelStatus.PENDING
        save_with_history(return_request, by=by, reason="label requested")
    from returns.tasks import request_label

    pk = return_request.pk
    transaction.on_commit(lambda: request_label.delay(pk), robust=True)  # sweep_pending_labels re-drives it


def _refund_early(return_request: ReturnRequest, *, reached: str) -> None:
    from refunds.early_refunds import refund_issue_early

    refund_issue_early(return_request=return_request, reached=reached)


# Review reasons that hold a return for a supervisor: only they may release it.
FRAUD_HOLD_CODES = ("high_fraud_score", "customer_flagged")


def agent_approval_limit(currency: str) -> Decimal:
    config = settings.RETURNS
    return config["AGENT_APPROVAL_LIMIT_BY_CURRENCY"].get(currency, config["AGENT_APPROVAL_LIMIT"])


def check_approval_authority(*, return_request: ReturnRequest, by) -> None:
    """Raise unless `by` may approve this waiting return: a support agent approves up to the
    agent limit and never releases a fraud hold; a supervisor may do both. Whether `by` may
    review at all, and whether the return still waits, the transition itself checks."""
    if by is None or return_request.status != ReturnStatus.REQUESTED or not by.has_perm(
            "returns.review_returnrequest"):
        return
    held = [r["code"] for r in return_request.review_reasons or [] if r.get("code") in FRAUD_HOLD_CODES]
    if held and not by.has_perm("returns.release_fraud_hold"):
        raise PermissionDenied(
            f"This return is held for fraud review ({', '.join(held).replace('_', ' ')}); a supervisor must "
            "release it.", code="fraud_hold_requires_supervisor")
    if not by.has_perm("returns.approve_any_amount"):
        amount = return_quote(return_request=return_request).net
        limit = agent_approval_limit(return_request.order.currency)
        if amount > limit:
            raise PermissionDenied(
                f"{amount} {return_request.order.currency} is above your approval limit of {limit}; "
                "a supervisor must approve it.", code="approval_limit_exceeded")


@tracing.traced("return.approve", _return_attributes, result=_outcome_attributes)
@transaction.atomic
def return_approve(*, return_request, by, reason: str = "") -> ReturnRequest:
    _require_user(by)
    return_request = _lock(return_request, by)
    check_approval_authority(return_request=return_request, by=by)
    reason = (reason or "").strip()
    _authorize(return_request, by=by, reason=reason or "Approved by a reviewer.")
    return_request.decision_reason = reason
    save_with_history(return_request, by=by, reason="decision recorded")
    return return_request


@tracing.traced("return.reject", _return_attributes, result=_outcome_attributes)
@transaction.atomic
def return_reject(*, return_request, by, reason: str) -> ReturnRequest:
    _require_user(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the return is rejected; the customer will see it.", code="reason_required")
    return_request = _lock(return_request)
    apply_transition(return_request, "reject", by=by, reason=reason, at=timezone.now(), decision=reason)
    resolutions.exchange_release(return_request, by=by, reason="return rejected")
    fraud_return_ended(return_request=return_request)
    return return_request


@tracing.traced("return.cancel", _return_attributes, result=_outcome_attributes)
@transaction.atomic
def return_cancel(*, return_request, by, reason: str = "") -> ReturnRequest:
    """The customer (until the parcel is scanned) or an agent calls the return off."""
    _require_user(by)
    return_request = _lock(return_request, by)
    is_customer = not by.is_staff and channel_of(by) is None
    if is_customer and return_request.customer_id != by.pk:
        raise NotFound(_("No such return."), code="return_not_found")
    reason = (reason or "").strip() or "Cancelled by the customer."
    if return_request.refund_is_early and return_request.status == ReturnStatus.AUTHORIZED \
            and return_request.has_refund():
        raise InvalidTransition(_("This return was refunded early: send the items back instead of cancelling it."),
                                code="returnrequest_refunded_early")
    apply_transition(return_request, "cancel", by=by, reason=reason, at=timezone.now(), decision=reason)
    resolutions.exchange_release(return_request, by=by, reason="return cancelled")
    fraud_return_ended(return_request=return_request)
    return return_request


# --- logistics ---

@transaction.atomic
def return_mark_in_transit(*, return_request, by=None, tracking_number: str = "") -> ReturnRequest:
    """The carrier's first scan. A scan for a return already past this point changes nothing."""
    return_request = _lock(return_request)
    # Scans arrive late and out of order: one for a parcel the warehouse already has is a repeat.
    if return_request.status in SHIPPED_STATUSES:
        return return_request
    apply_transition(return_request, "ship", by=by, reason="carrier first scan", at=timezone.now())
    if tracking_number and not return_request.tracking_number:
        return_request.tracking_number = tracking_number[:64]
        save_with_history(return_request, by=by, reason="tracking number recorded")
    _refund_early(return_request, reached=RefundTiming.FIRST_SCAN)
    return return_request


@transaction.atomic
def return_expire(*, return_request, by=None) -> ReturnRequest:
    return_request = _lock(return_request)
    apply_transition(return_request, "expire", by=by, reason="No carrier scan within the allowed days.",
                     at=timezone.now())
    resolutions.exchange_release(return_request, by=by, reason="return expired")
    fraud_return_expired(return_request=return_request)
    return return_request


def _require_permission(by, perm: str, message: str) -> None:
    """`by=None` is the system (a warehouse or carrier webhook); anyone else needs `perm`."""
    if by is None:
        return
    if not by.is_authenticated:
        raise PermissionDenied("Log in first.", code="not_authenticated")
    if not by.has_perm(perm):
        raise PermissionDenied(message)


def _as_user(by):
    """The User row a record names for `by` (a partner acts through its service user)."""
    return getattr(by, "history_user", by)


@tracing.traced("return.receive", _return_attributes, result=_outcome_attributes)
@transaction.atomic
def return_receive(*, return_request, by, received_quantities: dict | None = None) -> ReturnRequest:
    """The warehouse has the parcel. `received_quantities` maps line ids to units that arrived
    (a short shipment); lines not named arrived complete. A shortfall stays visible: the line
    keeps both quantities, its history says "short", and `selectors.short_shipped_lines` lists it."""
    _require_permission(by, "returns.receive_returnrequest", "You may not record the receipt of returns.")
    return_request = _lock(return_request, by)
    lines = {str(line.pk): line for line in return_request.lines.select_for_update()}
    received = {str(k): v for k, v in (received_quantities or {}).items()}
    errors = ErrorList()
    for key, quantity in received.items():
        line = lines.get(key)
        if line is None:
            errors.add("line_not_in_return", "That line is not part of this return.", field=f"lines[{key}]")
        elif line.returnless:
            errors.add("line_kept_by_customer", "The customer keeps this line; it is not in the parcel.",
                       field=f"lines[{key}]")
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= line.quantity:
            errors.add("invalid_received_quantity",
                       f"Received quantity must be between 0 and {line.quantity}.", field=f"lines[{key}]")
    errors.raise_if_any()
    asked_again = _units_asked_back_again(return_request)
    if asked_again:
        raise Conflict(f"{return_request.rma_number} expired and its items were asked back again on "
                       f"{', '.join(asked_again)}: receive the parcel against that return.",
                       code="units_asked_back_again")
    apply_transition(return_request, "receive", by=by, reason="parcel received", at=timezone.now())
    short = []
    for key, line in lines.items():
        line.received_quantity = received.get(key, line.quantity)
        missing = line.quantity - line.received_quantity
        if missing:
            short.append(line.pk)
        reason = f"received {line.received_quantity} of {line.quantity}: short shipment" if missing else "received"
        save_with_history(line, by=by, reason="kept by the customer (returnless)" if line.returnless else reason)
    resolutions.exchange_dispatch(return_request, by=by, reason="parcel received")
    _refund_early(return_request, reached=RefundTiming.AT_RECEIPT)
    if short:
        logger.info("short shipment", extra={"rma": return_request.rma_number, "lines": short})
    if return_request.arrived_late:
        logger.warning("late parcel on an expired RMA", extra={"rma": return_request.rma_number})
    pk = return_request.pk
    transaction.on_commit(lambda: _redrive_waiting_events(pk), robust=True)
    return return_request


def _redrive_waiting_events(return_request_id: int) -> None:
    from returns.tasks import redrive_waiting_events

    redrive_waiting_events.delay(return_request_id)


def _units_asked_back_again(return_request) -> list[str]:
    """An expired return holds no units, so the customer may ask for them again on a new return
    before the late parcel turns up. Receiving it against the expired one would then count those
    units, and their refund, twice. Under the order's lock (the one a new request takes), the RMA
    numbers of the live returns that now hold units this expired return would need; none otherwise."""
    if return_request.status != ReturnStatus.EXPIRED:
        return []
    Order.objects.select_for_update(of=("self",)).filter(pk=return_request.order_id).exists()
    lines = list(return_request.lines.select_related("order_line"))
    claimed = selectors.claimed_quantities(line.order_line_id for line in lines)
    taken = [line.order_line_id for line in lines
             if line.quantity > line.order_line.quantity_shipped - claimed.get(line.order_line_id, 0)]
    if not taken:
        return []
    return list(ReturnRequest.objects.filter(lines__order_line_id__in=taken)
                .exclude(status__in=selectors.VOID_STATUSES).order_by("requested_at")
                .values_list("rma_number", flat=True).distinct())


# --- parcels at the warehouse door ---

RECEIVABLE_STATUSES = (ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT, ReturnStatus.EXPIRED)


@dataclass(frozen=True)
class ParcelReceipt:
    """What became of a parcel: received against its return, or filed as unmatched."""

    return_request: ReturnRequest | None = None
    parcel: UnmatchedParcel | None = None
    already_received: bool = False


@transaction.atomic
def parcel_receive(*, by, rma_number: str | None = None, tracking_number: str = "",
                   received_quantities: dict | None = None, contents_note: str = "", photos=()) -> ParcelReceipt:
    """A parcel at the warehouse door. It is received against the return its RMA number (or the
    carrier's tracking number) names, when that return expects a parcel; otherwise it is filed
    in the unmatched-parcels queue for staff to link. The same parcel twice is received once."""
    _require_permission(by, "returns.receive_returnrequest", "You may not record the receipt of returns.")
    rma_number = str(rma_number or "").strip()[:40]
    tracking_number = str(tracking_number or "").strip()[:64]
    errors = ErrorList()
    photos = _checked_photos(photos, errors=errors, field="photos")
    errors.raise_if_any()
    return_request_id = selectors.return_for_parcel(rma_number=rma_number, tracking_number=tracking_number)
    if return_request_id is not None:
        return_request = _lock(return_request_id, by)
        if return_request.received_at is not None:
            return ParcelReceipt(return_request=return_request, already_received=True)
        asked_again = _units_asked_back_again(return_request)
        if asked_again:
            problem = (f"{return_request.rma_number} expired and its items were asked back again on "
                       f"{', '.join(asked_again)}: link the parcel to the return it belongs to.")
        elif return_request.status in RECEIVABLE_STATUSES:
            received = return_receive(return_request=return_request, by=by, received_quantities=received_quantities)
            return ParcelReceipt(return_request=received)
        else:
            problem = (f"{return_request.rma_number} is {return_request.get_status_display().lower()}: "
                       "no parcel is due.")
    elif rma_number or tracking_number:
        problem = "No return has this RMA or tracking number."
    else:
        problem = "The parcel carries neither an RMA nor a tracking number."
    parcel = _file_unmatched(by=by, rma_number=rma_number, tracking_number=tracking_number,
                             contents_note=str(contents_note or "")[:2000], problem=problem, photos=photos)
    return ParcelReceipt(parcel=parcel)


def _file_unmatched(*, by, rma_number: str, tracking_number: str, contents_note: str, problem: str,
                    photos: list) -> UnmatchedParcel:
    if tracking_number:
        filed = UnmatchedParcel.objects.select_for_update().filter(tracking_number=tracking_number).first()
        if filed is not None:
            return filed  # the same parcel reported again
    parcel = UnmatchedParcel(tracking_number=tracking_number, claimed_rma=rma_number, contents_note=contents_note,
                             problem=problem[:300], received_at=timezone.now(), received_by=_as_user(by))
    try:
        with transaction.atomic():
            save_with_history(parcel, by=by, reason=f"unmatched parcel filed: {problem}")
    except IntegrityError:
        # A concurrent report of the same parcel filed it first.
        return UnmatchedParcel.objects.get(tracking_number=tracking_number)
    for photo in photos:
        ParcelPhoto.objects.create(parcel=parcel, image=photo)
    logger.info("unmatched parcel", extra={"parcel_id": parcel.pk, "tracking_number": tracking_number})
    return parcel


@transaction.atomic
def parcel_link(*, parcel, return_request, by, received_quantities: dict | None = None) -> ReturnRequest:
    """Staff link an unmatched parcel to its return; the return is then received as usual."""
    if by is None:
        raise PermissionDenied("Log in first.", code="not_authenticated")
    _require_permission(by, "returns.receive_returnrequest", "You may not link parcels to returns.")
    return_request = _lock(return_request, by)
    parcel_pk = parcel.pk if isinstance(parcel, UnmatchedParcel) else parcel
    parcel = UnmatchedParcel.objects.select_for_update().filter(pk=parcel_pk).first()
    if parcel is None:
        raise NotFound("No such parcel.", code="parcel_not_found")
    if parcel.return_request_id == return_request.pk:
        return return_request
    if parcel.return_request_id is not None:
        raise Conflict("This parcel is already linked to another return.", code="parcel_already_linked")
    return_request = return_receive(return_request=return_request, by=by, received_quantities=received_quantities)
    parcel.return_request = return_request
    parcel.linked_at = timezone.now()
    parcel.linked_by = _as_user(by)
    save_with_history(parcel, by=by, reason=f"linked to {return_request.rma_number}")
    return return_request


def _checked_photos(photos, *, errors: ErrorList, field: str) -> list:
    """Uploaded evidence photos, each checked to be a readable image of a sane size in bytes and
    in pixels (a small file can decode to a huge image)."""
    if not photos:
        return []
    limits = settings.RETURNS
    if not isinstance(photos, list | tuple):
        errors.add("invalid_photo", "Send photos as a list of image files.", field=field)
        return []
    if len(photos) > limits["MAX_PHOTOS"]:
        errors.add("too_many_photos", f"Attach at most {limits['MAX_PHOTOS']} photos.", field=field)
        return []
    checked = []
    for index, photo in enumerate(photos):
        if (getattr(photo, "size", None) or 0) > limits["MAX_PHOTO_BYTES"]:
            errors.add("photo_too_large", f"A photo may be at most {limits['MAX_PHOTO_BYTES'] // 2**20} MB.",
                       field=f"{field}[{index}]")
            continue
        try:
            with warnings.catch_warnings():
                # Pillow warns on a large image and refuses a huge one; the pixel limit below decides.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = forms.ImageField().clean(photo).image
        except (DjangoValidationError, AttributeError):
            errors.add("invalid_photo", "That file is not an image we can read.", field=f"{field}[{index}]")
            continue
        width, height = image.size
        if width * height > limits["MAX_PHOTO_PIXELS"]:
            errors.add("photo_too_large", f"A photo may have at most {limits['MAX_PHOTO_PIXELS'] // 10**6} "
                                          f"million pixels; this one has {width} × {height}.",
                       field=f"{field}[{index}]")
            continue
        if hasattr(photo, "seek"):
            photo.seek(0)
        checked.append(photo)
    return checked


# --- inspection ---

@tracing.traced("return.inspect", _return_attributes, result=_outcome_attributes)
@transaction.atomic
def return_inspect(*, return_request, by, inspections: dict) -> ReturnRequest:
    """Record the condition of each received line; when every line has one, the return is
    inspected and the refund starts.

    `inspections` maps line ids to `{"condition": ..., "notes": ..., "photos": [image files]}`;
    photos are required when the return rules asked for them (`rule_decision.requires_photos`).
    A line already inspected with the same condition is a repeat and is left as it is; another
    condition needs a supervisor's `inspection_correct`. Each line's stock moves after commit in
    its own task, so one failing line holds up no other.
    """
    return_request = _lock(return_request, by)
    if return_request.status != ReturnStatus.RECEIVED:
        raise InvalidTransition(f"Cannot inspect a return that is {return_request.status}.",
                                code="returnrequest_cannot_inspect")
    _require_permission(by, "returns.inspect_returnrequest", "You may not inspect returns.")
    lines = {str(line.pk): line for line in
             return_request.lines.select_for_update(of=("self",)).select_related("order_line__product")}
    latest = selectors.latest_inspections(lines.values())
    errors = ErrorList()
    new = []
    for key, inspection in (inspections or {}).items():
        field = f"lines[{key}]"
        line = lines.get(str(key))
        condition = inspection.get("condition") if isinstance(inspection, dict) else None
        if line is None:
            errors.add("line_not_in_return", "That line is not part of this return.", field=field)
        elif line.returnless:
            errors.add("line_kept_by_customer", "The customer keeps this line: there is nothing to inspect.",
                       field=field)
        elif condition not in Condition.values:
            errors.add("invalid_condition", f"Condition must be one of {', '.join(Condition.values)}.", field=field)
        elif line.received_quantity == 0:
            errors.add("nothing_received", "Nothing of this line arrived, so there is nothing to inspect.",
                       field=field)
        elif line.pk in latest:
            if latest[line.pk].condition != condition:
                errors.add("line_already_inspected",
                           f"This line was inspected as {latest[line.pk].get_condition_display().lower()}; "
                           "a supervisor can correct that.", field=field)
        else:
            photos = _checked_photos(inspection.get("photos"), errors=errors, field=f"{field}.photos")
            if not photos and return_request.rule_decision.get("requires_photos"):
                errors.add("photos_required", "The return rules ask for photos of every inspected line.",
                           field=f"{field}.photos")
            new.append((line, condition, str(inspection.get("notes") or "")[:2000], photos))
    if not inspections and not return_request.all_lines_inspected():
        # An empty parcel (nothing of any line arrived) is inspected with no lines at all.
        errors.add("no_lines", "Give the condition of at least one line.")
    errors.raise_if_any()
    now = timezone.now()
    paid = _refund_paid(return_request)
    tracing.annotate({"return.rma_id": return_request.rma_number, "inspection.line_count": len(new)})
    # Each line's stock moves in its own task, queued on commit inside this span.
    with tracing.span("refund.restock", {"return.rma_id": return_request.rma_number, "restock.item_count": len(new)}):
        for line, condition, notes, photos in new:
            _record_inspection(line, by=by, condition=condition, notes=notes, photos=photos, at=now, previous=None,
                               paid=paid)
    if return_request.all_lines_inspected():
        return_request.inspection_fraud_score = fraud_score_inspection(return_request=return_request)
        apply_transition(return_request, "inspect", by=by, reason="every line inspected", at=now)
        from refunds.services import refund_start_for_return

        refund_start_for_return(return_request=return_request)
        return_request.refresh_from_db()  # the refund moved it on (refund pending, or closed)
    return return_request


@tracing.traced("return.inspection_correct", lambda *, return_line, condition, **_: {
    "return_line.id": str(getattr(return_line, "pk", return_line)), "inspection.condition": condition})
@transaction.atomic
def inspection_correct(*, return_line, by, condition: str, notes: str = "", photos=()) -> ReturnLineInspection:
    """A supervisor corrects a line's inspection. The correction is the line's next inspection
    revision: earlier revisions and stock movements are kept, the stock the old disposition put
    in is reversed by new movements, and the books follow (a vendor claim or write-off of the
    old revision is reversed; a write-off is posted when the item is found unsellable after
    the customer was paid — the customer is never charged back)."""
    if by is None:
        raise PermissionDenied("Log in first.", code="not_authenticated")
    _require_permission(by, "returns.correct_inspection", "Only a supervisor may correct an inspection.")
    line_pk = return_line.pk if isinstance(return_line, ReturnLine) else return_line
    return_request_id = (ReturnLine.objects.filter(pk=line_pk).values_list("return_request_id", flat=True).first()
                         if str(line_pk).isdigit() else None)
    if return_request_id is None:
        raise NotFound("No such return line.", code="return_line_not_found")
    return_request = _lock(return_request_id, by)
    line = (ReturnLine.objects.select_for_update(of=("self",)).select_related("order_line__product")
            .get(pk=line_pk))
    previous = selectors.latest_inspections([line]).get(line.pk)
    errors = ErrorList()
    if condition not in Condition.values:
        errors.add("invalid_condition", f"Condition must be one of {', '.join(Condition.values)}.",
                   field="condition")
    elif previous is None:
        errors.add("not_inspected", "This line has not been inspected yet; record its inspection first.")
    elif previous.condition == condition:
        errors.add("condition_unchanged", f"This line is already recorded as {previous.get_condition_display()}.",
                   field="condition")
    photos = _checked_photos(photos, errors=errors, field="photos")
    errors.raise_if_any()
    _check_stock_can_be_reversed(line)
    return _record_inspection(line, by=by, condition=condition, notes=str(notes or "")[:2000], photos=photos,
                              at=timezone.now(), previous=previous, paid=_refund_paid(return_request))


def _check_stock_can_be_reversed(line: ReturnLine) -> None:
    """Restocked units may have been sold since: then there is nothing left to pull back."""
    from inventory.selectors import line_stock_effect, stock_level

    on_hand, quarantined = line_stock_effect(line)
    level = stock_level(product=line.order_line.product)
    if level is not None and (level.on_hand < on_hand or level.quarantined < quarantined):
        raise ValidationFailed(
            f"Only {level.on_hand} units of {line.order_line.product.sku} are on hand, fewer than this line "
            f"restocked ({on_hand}); adjust the stock before correcting the inspection.",
            code="stock_already_moved")


def _record_inspection(line: ReturnLine, *, by, condition: str, notes: str, photos: list, at,
                       previous: ReturnLineInspection | None, paid: bool) -> ReturnLineInspection:
    """Append the line's next inspection revision, post what it owes the books, and queue its
    stock movement for after the commit."""
    revision = previous.revision + 1 if previous else 1
    disposition = DISPOSITION_BY_CONDITION[condition]
    quantity = previous.quantity if previous else line.received_quantity
    if previous is not None:
        _reverse_claim(previous)
    record = ReturnLineInspection(
        return_line=line, revision=revision, condition=condition, disposition=disposition, quantity=quantity,
        notes=notes, inspected_by=_as_user(by), inspected_at=at,
        claim_entry=_post_claim(line, revision=revision, disposition=disposition, quantity=quantity, paid=paid),
    )
    save_with_history(record, by=by, reason="inspection recorded")
    for photo in photos:
        InspectionPhoto.objects.create(inspection=record, image=photo)
    if previous is not None:
        reason = f"inspection corrected: {previous.condition} → {condition} (revision {revision})"
    else:
        reason = f"inspected: {condition}"
    line.condition = condition
    line.disposition = disposition
    line.inspection_notes = notes or line.inspection_notes
    line.inspected_at = at
    save_with_history(line, by=by, reason=reason)
    line_pk = line.pk
    transaction.on_commit(tracing.in_current_context(lambda: _queue_disposition(line_pk, revision)), robust=True)
    return record


def _queue_disposition(return_line_id: int, revision: int) -> None:
    from inventory.tasks import apply_disposition

    apply_disposition.delay(return_line_id, revision)


def _refund_paid(return_request: ReturnRequest) -> bool:
    from refunds.models import Refund

    if return_request.status in (ReturnStatus.REFUNDED, ReturnStatus.CLOSED):
        return True
    return Refund.objects.filter(return_request=return_request, completed_at__isnull=False).exists()


def _post_claim(line: ReturnLine, *, revision: int, disposition: str, quantity: int, paid: bool):
    """Damaged stock is claimed from the vendor; stock found worthless after the customer was
    paid is written off. Both at cost."""
    from refunds import ledger

    vendor_claim = disposition == Disposition.QUARANTINE
    if not (vendor_claim or (disposition == Disposition.DISPOSE and paid)):
        return None
    product = line.order_line.product
    amount = round_money(product.unit_cost * quantity, product.currency)
    if amount <= 0:
        return None
    return ledger.post_write_off(return_line=line, amount=amount, currency=product.currency,
                                 vendor_claim=vendor_claim, revision=revision)


def _reverse_claim(previous: ReturnLineInspection) -> None:
    """A corrected revision's vendor claim or write-off no longer holds: post its mirror image."""
    from refunds import ledger
    from refunds.choices import EntryKind

    entry = previous.claim_entry
    if entry is None:
        return
    lines = list(entry.lines.select_related("account"))
    ledger.post(kind=EntryKind.REVERSAL, reference=entry.reference, currency=lines[0].currency,
                return_request=entry.return_request, memo=f"Reversal of {entry}: inspection corrected",
                lines=[(line.account, -line.amount) for line in lines])


# --- money follows ---

def return_mark_refund_pending(*, return_request: ReturnRequest) -> None:
    """Called by the refunds app, inside its transaction, once the refund row exists."""
    apply_transition(return_request, "issue_refund", by=None, reason="refund issued")


def return_mark_refunded(*, return_request_id, early: bool = False) -> ReturnRequest | None:
    """Called by the refunds app, inside its transaction (the refund locked), when the refund has
    been paid. A refund paid `early` leaves the return following its parcel: inspection closes it.
    Such a return is locked only when it waits for this payment, which only an inspection that
    has committed can have made it do, so this never waits on an inspection holding the return."""
    status = ReturnRequest.objects.filter(pk=return_request_id).values_list("status", flat=True).first() \
        if early else None
    if early and status != ReturnStatus.REFUND_PENDING:
        logger.info("refund paid before inspection", extra={"return_id": return_request_id, "status": status})
        return None
    return_request = _lock(return_request_id)
    apply_transition(return_request, "complete_refund", by=None, reason="refund completed")
    fraud_return_refunded(return_request=return_request)
    return return_request


@transaction.atomic
def return_close(*, return_request, by=None, reason: str = "") -> ReturnRequest:
    return_request = _lock(return_request)
    was_open = return_request.status == ReturnStatus.INSPECTED  # a refunded return left the open count already
    paid_early = return_request.refund_paid_early()
    apply_transition(return_request, "close", by=by, reason=reason or "closed", at=timezone.now())
    if was_open and paid_early:
        fraud_return_refunded(return_request=return_request)
    elif was_open:
        fraud_return_ended(return_request=return_request)
    return return_request


# --- label ---

def return_issue_label(*, return_request_id) -> None:
    """Ask the carrier for a label outside any transaction, then store it. Safe to run twice."""
    from returns.carriers import get_carrier

    return_request = ReturnRequest.objects.filter(pk=return_request_id).first()
    if return_request is None or return_request.label_status != LabelStatus.PENDING:
        return
    mode = methods.CARRIER_MODE[return_request.return_method]
    if mode is None:
        return
    label = get_carrier().create_label(rma_number=return_request.rma_number, mode=mode)
    with transaction.atomic():
        return_request = _lock(return_request_id)
        if return_request.label_status != LabelStatus.PENDING:
            return
        return_request.carrier = label.carrier
        return_request.tracking_number = label.tracking_number
        return_request.label_status = LabelStatus.ISSUED
        save_with_history(return_request, by=None,
                          reason="drop-off code issued" if mode == "qr" else "label issued")
        from notifications.services import notifications_dispatch

        notifications_dispatch(return_request_id=return_request.pk)  # the approval e-mail waited for the label



# --- own shipping ---

@transaction.atomic
def return_record_own_shipment(*, return_request, by, carrier: str, tracking_number: str) -> ReturnRequest:
    """The customer ships the parcel their own way and tells us the carrier and tracking number;
    the carrier's first scan of that number then puts the return in transit."""
    _require_user(by)
    return_request = _lock(return_request, by)
    if channel_of(by) is None and by.is_staff:
        _require_permission(by, "returns.manage_returnrequest", "You may not act on returns for customers.")
    elif channel_of(by) is None and return_request.customer_id != by.pk:
        raise NotFound(_("No such return."), code="return_not_found")
    carrier, tracking_number = str(carrier or "").strip(), str(tracking_number or "").strip()
    errors = ErrorList()
    if not carrier or len(carrier) > 50:
        errors.add("invalid_carrier", _("Name the carrier (at most 50 characters)."), field="carrier")
    if not tracking_number or len(tracking_number) > 64 or not tracking_number.replace("-", "").isalnum():
        errors.add("invalid_tracking_number", _("Give the tracking number: letters and digits, at most 64."),
                   field="tracking_number")
    errors.raise_if_any()
    if return_request.return_method != ReturnMethod.OWN_SHIPPING:
        raise ValidationFailed(_("This return comes back with our label or drop-off code, not your own shipping."),
                               code="not_own_shipping")
    if return_request.status != ReturnStatus.AUTHORIZED:
        raise InvalidTransition(_("Tracking can be given while the return is authorised, not %(status)s.")
                                % {"status": return_request.get_status_display()},
                                code="returnrequest_cannot_record_shipment")
    if (carrier, tracking_number) == (return_request.carrier, return_request.tracking_number):
        return return_request
    if ReturnRequest.objects.filter(tracking_number=tracking_number).exclude(pk=return_request.pk).exists():
        raise Conflict(_("This tracking number belongs to another return."), code="tracking_number_in_use")
    return_request.carrier, return_request.tracking_number = carrier, tracking_number
    save_with_history(return_request, by=by, reason=f"own shipment: {carrier} {tracking_number}")
    return return_request
