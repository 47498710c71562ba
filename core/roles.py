"""Staff roles as Django groups: this table is the one source of truth. A data migration
(core 0003) builds the groups on a fresh database, and they are kept in step with the table
after every migrate.

A support agent approves returns up to the agent approval limit; a supervisor approves any
amount, releases fraud holds (see returns.services.check_approval_authority) and tunes the fraud
rules' weights and thresholds. Both can revoke a customer's API token (a lost device, a leak).
"""

from django.apps import apps as global_apps

ROLE_PERMISSIONS = {
    "Support agent": [
        "refunds.grant_goodwill", "refunds.view_goodwillcredit",
        "returns.view_returnrequest", "returns.review_returnrequest", "returns.manage_returnrequest",
        "returns.view_unmatchedparcel", "returns.view_returnreason", "returns.view_returnpolicy",
        "orders.view_order", "refunds.view_refund", "refunds.view_refundattempt", "fraud.view_fraudsignal",
        "returns.issue_giftreceipt", "returns.view_giftreceipt",
        "rules.view_rulesetversion", "rules.view_rule", "rules.view_listentry",
        "core.view_apitoken", "core.revoke_apitoken",
    ],
    "Supervisor": [
        "refunds.grant_goodwill", "refunds.settle_collection", "refunds.view_goodwillcredit",
        "inventory.view_stockreservation",
        "returns.view_returnrequest", "returns.review_returnrequest", "returns.manage_returnrequest",
        "returns.approve_any_amount", "returns.release_fraud_hold",
        "returns.inspect_returnrequest", "returns.receive_returnrequest", "returns.correct_inspection",
        "returns.view_unmatchedparcel", "returns.view_inboundevent", "inventory.view_stocklevel",
        "inventory.view_stockmovement",
        "returns.view_returnpolicy", "returns.change_returnpolicy", "returns.add_returnpolicy",
        "returns.view_returnreason", "returns.change_returnreason", "returns.add_returnreason",
        "orders.view_order", "refunds.view_refund", "refunds.view_refundattempt", "fraud.view_fraudsignal",
        "fraud.view_customerriskprofile", "fraud.change_customerriskprofile",
        "fraud.view_fraudrule", "fraud.change_fraudrule",
        "returns.issue_giftreceipt", "returns.view_giftreceipt", "refunds.view_giftcard",
        "refunds.view_earlyrefundrecovery", "refunds.view_earlyrefundrevocation", "refunds.restore_early_refunds",
        "rules.view_rulesetversion", "rules.add_rulesetversion", "rules.change_rulesetversion",
        "rules.publish_rulesetversion", "rules.view_rule", "rules.add_rule", "rules.change_rule",
        "rules.delete_rule", "rules.view_listentry", "rules.add_listentry", "rules.change_listentry",
        "rules.delete_listentry",
        "core.view_apitoken", "core.revoke_apitoken",
    ],
    "Finance": [
        "refunds.view_goodwillcredit",
        "refunds.view_refund", "refunds.manage_refund", "refunds.settle_collection", "refunds.view_journalentry",
        "refunds.view_account",
        "refunds.view_refundattempt", "returns.view_returnrequest", "orders.view_order",
        "fraud.view_fraudsignal", "refunds.view_giftcard", "refunds.spend_credit",
        "refunds.view_creditspending",
        "refunds.view_earlyrefundrecovery", "refunds.settle_earlyrefundrecovery",
        "refunds.view_earlyrefundrevocation",
    ],
    "Warehouse": [
        "inventory.view_stockreservation",
        "returns.view_returnrequest", "returns.receive_returnrequest", "returns.inspect_returnrequest",
        "returns.view_unmatchedparcel", "returns.view_inboundevent", "inventory.view_product",
        "inventory.view_stocklevel", "inventory.view_stockmovement",
    ],
}


def ensure_roles(*, apps=global_apps, **kwargs) -> None:
    """Create or update every role's group. `apps` is a migration's historical registry when a
    data migration calls this, the live one otherwise."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)
