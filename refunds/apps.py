from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"

    def ready(self) -> None:
        from django_fsm.signals import post_transition

        from refunds import receivers
        from refunds.models import Refund

        post_transition.connect(receivers.refund_transitioned, sender=Refund, dispatch_uid="audit_refund_transitioned")
