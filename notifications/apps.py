from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Customer notifications"

    def ready(self) -> None:
        from django.db.models.signals import post_save
        from django_fsm.signals import post_transition

        from notifications import receivers
        from refunds.models import Refund
        from returns.models import ReturnRequest

        post_save.connect(receivers.return_created, sender=ReturnRequest, dispatch_uid="notify_return_created")
        post_transition.connect(receivers.return_transitioned, sender=ReturnRequest,
                                dispatch_uid="notify_return_transitioned")
        post_transition.connect(receivers.refund_transitioned, sender=Refund, dispatch_uid="notify_refund_transitioned")
