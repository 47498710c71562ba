from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class FraudConfig(AppConfig):
    name = "fraud"

    def ready(self) -> None:
        from fraud.models import FraudRule
        from fraud.services import fraud_rules_forget

        post_save.connect(fraud_rules_forget, sender=FraudRule, dispatch_uid="fraud_rules_forget_on_save")
        post_delete.connect(fraud_rules_forget, sender=FraudRule, dispatch_uid="fraud_rules_forget_on_delete")
