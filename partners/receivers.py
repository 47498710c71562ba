"""The one place return and refund events are raised: every state change of either model goes
through a django-fsm transition, and a return's creation through its first save."""

from partners.events import return_data


def _emit(event_type: str, *, channel_id: int, data) -> None:
    from partners.services import webhook_event_emit

    # Contained, so a webhook problem is logged instead of undoing the return's change; `data` may be
    # a function, built only when someone listens.
    webhook_event_emit(event_type=event_type, channel_id=channel_id, data=data, contained=True)


def return_created(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        _emit(f"return.{instance.status}", channel_id=instance.order.channel_id,
              data=lambda: {**return_data(instance), "previous_status": None})


def return_transitioned(sender, instance, source, target, **kwargs) -> None:
    if "exception" in kwargs or source == target:
        return
    _emit(f"return.{target}", channel_id=instance.order.channel_id,
          data=lambda: {**return_data(instance), "previous_status": source})


def refund_transitioned(sender, instance, source, target, **kwargs) -> None:
    if "exception" in kwargs or source == target:  # a lapsed lease re-claimed is no news
        return
    if instance.return_request_id is None:  # a goodwill refund: no return to tell partners about
        return
    from returns.models import ReturnRequest

    def data():  # read fresh, and only when someone listens
        return_request = ReturnRequest.objects.select_related("order").get(pk=instance.return_request_id)
        payload = return_data(return_request, refund=instance)
        payload["refund"]["previous_status"] = source
        return payload

    _emit(f"refund.{target}", channel_id=_channel_of(instance), data=data)


def _channel_of(refund) -> int:
    """The sales channel of the refund's order (it never changes): from the return and order the refund
    was read with (refunds.services reads them under its lock), else one query."""
    from returns.models import ReturnRequest

    if type(refund).return_request.is_cached(refund):
        return_request = refund.return_request
        if type(return_request).order.is_cached(return_request):
            return return_request.order.channel_id
    return ReturnRequest.objects.filter(pk=refund.return_request_id).values_list("order__channel_id", flat=True).get()
