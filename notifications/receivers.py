"""Which changes of state the customer hears about. Connected in NotificationsConfig.ready() to
django-fsm's post_transition and to the return's creation; each writes its outbox row in the
transaction of the change."""

from notifications.choices import NotificationEvent
from notifications.services import notification_record, notification_supersede
from refunds.choices import RefundStatus
from returns.choices import RefundTiming, ReturnStatus

RETURN_EVENTS = {
    ReturnStatus.AUTHORIZED: NotificationEvent.RETURN_AUTHORIZED,
    ReturnStatus.REJECTED: NotificationEvent.RETURN_REJECTED,
    ReturnStatus.RECEIVED: NotificationEvent.RETURN_RECEIVED,
    ReturnStatus.REFUNDED: NotificationEvent.RETURN_REFUNDED,
}


def return_created(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        notification_record(return_request_id=instance.pk, event=NotificationEvent.RETURN_REQUESTED)
        if instance.gift_receipt_id is not None and purchaser_told_of_gift_return(instance):
            notification_record(return_request_id=instance.pk, event=NotificationEvent.GIFT_RETURNED)


def purchaser_told_of_gift_return(return_request) -> bool:
    """Only when a policy that applied to the return says so: by default a gift stays a surprise."""
    policies = (return_request.policy_snapshot or {}).get("categories", {}).values()
    return any(policy.get("gift_returns_notify_purchaser") for policy in policies)


def return_transitioned(sender, instance, source, target, **kwargs) -> None:
    if "exception" in kwargs or source == target:
        return
    if source == ReturnStatus.REQUESTED:
        # Decided before "we have your request" went out (at once, when it is authorised
        # automatically): the decision's e-mail says it all.
        notification_supersede(return_request_id=instance.pk, event=NotificationEvent.RETURN_REQUESTED,
                               reason=f"Superseded: the return was {target} before it was sent.")
    if target == ReturnStatus.REFUNDED and instance.gift_receipt_id is not None:
        # The recipient's "refunded" e-mail is the one that carries their gift card.
        notification_record(return_request_id=instance.pk, event=NotificationEvent.GIFT_CARD_ISSUED)
    elif target in RETURN_EVENTS:
        notification_record(return_request_id=instance.pk, event=RETURN_EVENTS[target])


def refund_transitioned(sender, instance, source, target, **kwargs) -> None:
    # Only a return's refund has an e-mail of this kind (a refund may have no return, e.g. goodwill),
    # and only one that pays: a collection settled another way has nothing to tell about a payment.
    if ("exception" in kwargs or source == target or getattr(instance, "return_request_id", None) is None
            or instance.charge_amount):
        return
    if target == RefundStatus.FALLBACK:
        notification_record(return_request_id=instance.return_request_id, event=NotificationEvent.REFUND_FALLBACK)
    elif target == RefundStatus.COMPLETED and instance.timing != RefundTiming.AFTER_INSPECTION:
        # Paid early, the return itself is still on its way: the refund's e-mail goes out now (once;
        # the return becoming refunded later does not send it again).
        notification_record(return_request_id=instance.return_request_id, event=NotificationEvent.RETURN_REFUNDED)
