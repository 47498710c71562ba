from contextlib import suppress

from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"

    def ready(self) -> None:
        from django.db.models.signals import post_save
        from django_fsm.signals import post_transition
        from prometheus_client import REGISTRY

        from returns import receivers
        from returns.metrics import REVIEW_QUEUE
        from returns.models import ReturnLineInspection, ReturnRequest

        post_save.connect(receivers.return_created, sender=ReturnRequest, dispatch_uid="metrics_return_created")
        post_transition.connect(receivers.return_transitioned, sender=ReturnRequest,
                                dispatch_uid="observability_return_transitioned")
        post_save.connect(receivers.inspection_recorded, sender=ReturnLineInspection,
                          dispatch_uid="audit_inspection_recorded")
        with suppress(ValueError):  # registered already (ready() ran before in this process)
            REGISTRY.register(REVIEW_QUEUE)
