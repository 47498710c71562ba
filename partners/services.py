"""Every write to partners: their API keys, their webhook subscriptions, and the delivery of
webhook events (recorded in the transaction that caused them, sent after it commits)."""

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.actors import PartnerActor
from core.errors import ErrorList, NotFound, PermissionDenied
from core.transitions import save_with_history
from orders.models import SalesChannel
from partners import selectors, webhooks
from partners.events import EVENT_TYPES
from partners.models import (
    SCOPES,
    DeliveryStatus,
    Partner,
    PartnerAPIKey,
    PartnerKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)


@transaction.atomic
def partner_key_create(*, partner_slug: str, channel_code: str, scopes: list[str], name: str = "",
                       partner_name: str = "", kind: str = PartnerKind.MERCHANT_TOOL) -> tuple[PartnerAPIKey, str]:
    """Create a key (and the partner, the first time). The clear key is returned once, never stored."""
    errors = ErrorList()
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        errors.add("unknown_scope", f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(SCOPES)}.", "scopes")
    if not scopes:
        errors.add("no_scopes", "Give the key at least one scope.", "scopes")
    channel = SalesChannel.objects.filter(code=channel_code).first()
    if channel is None:
        errors.add("unknown_channel", f"No sales channel {channel_code!r}.", "channel")
    if kind not in PartnerKind.values:
        errors.add("unknown_kind", f"Kind must be one of {', '.join(PartnerKind.values)}.", "kind")
    errors.raise_if_any()
    partner = Partner.objects.filter(slug=partner_slug).first()
    if partner is None:
        service_user = get_user_model()(username=f"partner:{partner_slug}"[:150])
        service_user.set_unusable_password()
        service_user.save()
        partner = Partner.objects.create(slug=partner_slug, name=partner_name or partner_slug, kind=kind,
                                         service_user=service_user)
    return PartnerAPIKey.objects.create_key(partner=partner, channel=channel, scopes=sorted(set(scopes)),
                                            name=name or f"{partner_slug} key")


# --- webhook subscriptions ---

MANAGE_SCOPE = "webhooks:manage"


def _config(key: str):
    return settings.WEBHOOKS[key]


def _require_manager(by, subscription: WebhookSubscription | None = None) -> None:
    """A partner key with the scope manages its own subscriptions on its channel; staff need the
    model permission. Another partner's subscription does not exist for the caller."""
    if isinstance(by, PartnerActor):
        if not by.has_scope(MANAGE_SCOPE):
            raise PermissionDenied("Your API key lacks the webhooks:manage scope.")
        if subscription is not None and (subscription.partner_id != by.partner.pk
                                         or subscription.channel_id != by.channel_id):
            raise NotFound("No such webhook subscription.", code="webhook_not_found")
    elif not (by is not None and by.is_authenticated and by.has_perm("partners.change_webhooksubscription")):
        raise PermissionDenied("You may not manage webhook subscriptions.")


def _check_event_types(event_types, errors: ErrorList) -> list[str]:
    if not isinstance(event_types, list) or not all(isinstance(e, str) for e in event_types):
        errors.add("invalid_event_types", "Give the event types as a list of strings.", "event_types")
        return []
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        errors.add("unknown_event_type", f"Unknown event types: {', '.join(unknown)}. "
                                         f"Known: {', '.join(EVENT_TYPES)}.", "event_types")
    elif not event_types:
        errors.add("no_event_types", "Subscribe to at least one event type.", "event_types")
    return [e for e in EVENT_TYPES if e in event_types]


def _check_url(url: str, errors: ErrorList) -> None:
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError:
        errors.add("invalid_url", "Give a complete http(s) URL.", "url")
        return
    if _config("REQUIRE_HTTPS") and not url.lower().startswith("https://"):
        errors.add("webhook_url_insecure", "Webhooks are only sent to https URLs.", "url")
        return
    if urlsplit(url).username is not None:
        errors.add("invalid_url", "Put no credentials in the URL; verify our signature instead.", "url")
        return
    if _config("BLOCK_PRIVATE_ADDRESSES"):
        refusal = webhooks.address_refusal(url)
        if refusal:
            errors.add("webhook_url_not_allowed", refusal, "url")


@transaction.atomic
def webhook_subscription_create(*, by, url: str, event_types: list[str], active: bool = True) -> WebhookSubscription:
    """Subscribe the calling partner's endpoint to events of its key's channel. The returned row's
    `secret` is shown to the caller once; deliveries are signed with it."""
    _require_manager(by)
    if not isinstance(by, PartnerActor):
        raise PermissionDenied("Webhook subscriptions are created by partners with their API key.")
    errors = ErrorList()
    _check_url(url, errors)
    event_types = _check_event_types(event_types, errors)
    errors.raise_if_any()
    subscription = WebhookSubscription(partner=by.partner, channel_id=by.channel_id, url=url,
                                       event_types=event_types, active=active)
    save_with_history(subscription, by=by, reason="subscribed")
    return subscription


def _lock_subscription(subscription) -> WebhookSubscription:
    pk = subscription.pk if isinstance(subscription, WebhookSubscription) else subscription
    locked = WebhookSubscription.objects.select_for_update().filter(pk=pk, deleted_at__isnull=True).first()
    if locked is None:
        raise NotFound("No such webhook subscription.", code="webhook_not_found")
    return locked


@transaction.atomic
def webhook_subscription_update(*, subscription, by, url: str | None = None, event_types: list[str] | None = None,
                                active: bool | None = None) -> WebhookSubscription:
    subscription = _lock_subscription(subscription)
    _require_manager(by, subscription)
    errors = ErrorList()
    if url is not None and url != subscription.url:
        _check_url(url, errors)
        subscription.url = url
    if event_types is not None:
        subscription.event_types = _check_event_types(event_types, errors)
    errors.raise_if_any()
    if active is not None:
        subscription.active = active
    save_with_history(subscription, by=by, reason="changed")
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, subscription, by) -> None:
    """Stop delivering. The row stays (marked deleted) so its deliveries keep their history;
    pending ones are given up when next due."""
    subscription = _lock_subscription(subscription)
    _require_manager(by, subscription)
    subscription.active = False
    subscription.deleted_at = timezone.now()
    save_with_history(subscription, by=by, reason="deleted")


# --- webhook events and their delivery ---

def webhook_event_emit(*, event_type: str, channel_id: int, data, contained: bool = False) -> list[int]:
    """Record the event for every active subscription listening on the channel, in the caller's
    transaction (so a rollback emits nothing and a lost message loses nothing: the sweeper finds
    the row), and queue the sending for after the commit. Returns the delivery ids.

    `data` is the event's data, or a function building it: then it is built only when someone listens.
    `contained`: a failure to record it is logged instead of undoing the caller's change. The
    savepoint that takes is opened only when someone listens: most events have no subscriber."""
    subscriptions = list(selectors.subscriptions_listening(channel_id=channel_id, event_type=event_type))
    if not subscriptions:
        return []
    if not contained:
        return _record_event(subscriptions, event_type=event_type, data=data)
    try:
        with transaction.atomic():
            return _record_event(subscriptions, event_type=event_type, data=data)
    except DatabaseError:
        logger.exception("webhook event not recorded", extra={"event_type": event_type})
        return []


def _record_event(subscriptions, *, event_type: str, data) -> list[int]:
    if callable(data):
        data = data()
    now = timezone.now()
    event = {"id": str(uuid.uuid4()), "type": event_type, "created_at": now.isoformat(), "data": data}
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(subscription=subscription, event_id=event["id"], event_type=event_type, payload=event,
                        next_attempt_at=now)
        for subscription in subscriptions
    ])
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _enqueue(ids), robust=True)
    return ids


def _enqueue(delivery_ids: list[int]) -> None:
    from partners.tasks import deliver_webhook

    for delivery_id in delivery_ids:
        deliver_webhook.delay(delivery_id)


@dataclass(frozen=True)
class DeliveryClaim:
    delivery_id: int
    number: int
    url: str
    secret: str
    event_type: str
    payload: dict


@dataclass(frozen=True)
class DeliveryResult:
    status: str
    retry_in: float | None = None


def webhook_delivery_attempt(*, delivery_id: int) -> DeliveryResult:
    """Send one due delivery once: claim it under a lease, POST outside any transaction, record
    the attempt and decide what comes next. Safe to call any number of times: a delivery that
    succeeded, is not yet due or is being sent by another worker is left alone."""
    claim = _claim_delivery(delivery_id)
    if claim is None:
        status = WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return DeliveryResult(status=status or "missing")
    body = json.dumps(claim.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        webhooks.EVENT_HEADER: claim.event_type,
        webhooks.DELIVERY_HEADER: str(claim.delivery_id),
        webhooks.SIGNATURE_HEADER: webhooks.sign(claim.secret, body),
    }
    started_at, clock = timezone.now(), time.monotonic()
    answer, error = None, ""
    try:
        # Checked again as the connection opens, on the address connected to: the name may
        # resolve elsewhere now than when it was subscribed (DNS rebinding).
        answer = webhooks.send(claim.url, body, headers, _config("TIMEOUT_SECONDS"),
                               public_only=_config("BLOCK_PRIVATE_ADDRESSES"))
    except webhooks.SendError as exc:
        error = str(exc)
    return _settle_delivery(claim, answer=answer, error=error, started_at=started_at,
                            duration_ms=int((time.monotonic() - clock) * 1000))


@transaction.atomic
def _claim_delivery(delivery_id: int) -> DeliveryClaim | None:
    delivery = (WebhookDelivery.objects.select_for_update(of=("self",))
                .select_related("subscription__partner").filter(pk=delivery_id).first())
    now = timezone.now()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    if (delivery.next_attempt_at and delivery.next_attempt_at > now) or \
            (delivery.lease_expires_at and delivery.lease_expires_at > now):
        return None
    subscription = delivery.subscription
    if not (subscription.active and subscription.deleted_at is None and subscription.partner.active):
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = "The subscription was disabled or deleted before this event could be delivered."
        delivery.next_attempt_at = None
        delivery.save(update_fields=["status", "last_error", "next_attempt_at", "updated_at"])
        return None
    delivery.attempt_count += 1
    delivery.lease_expires_at = now + timedelta(seconds=_config("TIMEOUT_SECONDS") * 2 + 30)
    delivery.save(update_fields=["attempt_count", "lease_expires_at", "updated_at"])
    return DeliveryClaim(delivery_id=delivery.pk, number=delivery.attempt_count, url=subscription.url,
                         secret=subscription.secret, event_type=delivery.event_type, payload=delivery.payload)


@transaction.atomic
def _settle_delivery(claim: DeliveryClaim, *, answer: webhooks.Answer | None, error: str, started_at,
                     duration_ms: int) -> DeliveryResult:
    delivery = WebhookDelivery.objects.select_for_update().get(pk=claim.delivery_id)
    succeeded = answer is not None and 200 <= answer.status_code < 300
    if answer is not None and not succeeded:
        error = f"The endpoint answered {answer.status_code}."
    WebhookAttempt.objects.create(
        delivery=delivery, number=claim.number, started_at=started_at, duration_ms=duration_ms, succeeded=succeeded,
        status_code=answer.status_code if answer else None, response_excerpt=answer.excerpt if answer else "",
        error=error[:500])
    stale = delivery.status != DeliveryStatus.PENDING or delivery.attempt_count != claim.number
    if stale and (not succeeded or delivery.status == DeliveryStatus.SUCCEEDED):
        # Our lease lapsed and another worker took over; its attempt decides what comes next.
        return DeliveryResult(status=delivery.status)
    now = timezone.now()
    delivery.last_status_code = answer.status_code if answer else None
    delivery.last_response_excerpt = answer.excerpt if answer else ""
    delivery.last_error = error[:500]
    delivery.lease_expires_at = None
    retry_in = None
    if succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif claim.number >= _config("MAX_ATTEMPTS"):
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        logger.warning("webhook delivery given up", extra={"delivery_id": delivery.pk, "attempts": claim.number,
                                                           "event_type": delivery.event_type})
    else:
        retry_in = backoff_seconds(claim.number)
        delivery.next_attempt_at = now + timedelta(seconds=retry_in)
    delivery.save()
    return DeliveryResult(status=delivery.status, retry_in=retry_in)


def backoff_seconds(attempt: int) -> float:
    """Exponential in the attempts made so far, jittered so that retries of many deliveries to
    an endpoint that was down do not all arrive at the same moment."""
    return _config("BACKOFF_BASE_SECONDS") * 2 ** max(0, attempt - 1) * random.uniform(0.5, 1.5)
