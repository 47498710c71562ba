"""Staff roles as Django groups, kept in step with this table after every migrate."""

from django.contrib.auth.models import Group, Permission

ROLE_PERMISSIONS = {
    "Support agent": [
        "returns.view_returnrequest", "returns.review_returnrequest", "returns.manage_returnrequest",
        "orders.view_order", "refunds.view_refund", "fraud.view_fraudsignal",
    ],
    "Supervisor": [
        "returns.view_returnrequest", "returns.review_returnrequest", "returns.manage_returnrequest",
        "returns.inspect_returnrequest", "returns.receive_returnrequest", "returns.correct_inspection",
        "returns.view_unmatchedparcel", "returns.view_inboundevent", "inventory.view_stocklevel",
        "inventory.view_stockmovement",
        "returns.view_returnpolicy", "returns.change_returnpolicy", "returns.add_returnpolicy",
        "returns.view_returnreason", "returns.change_returnreason", "returns.add_returnreason",
        "orders.view_order", "refunds.view_refund", "fraud.view_fraudsignal", "fraud.view_customerriskprofile",
        "fraud.change_customerriskprofile",
    ],
    "Finance": [
        "refunds.view_refund", "refunds.manage_refund", "refunds.view_journalentry", "refunds.view_account",
        "refunds.view_refundattempt", "returns.view_returnrequest", "orders.view_order",
    ],
    "Warehouse": [
        "returns.view_returnrequest", "returns.receive_returnrequest", "returns.inspect_returnrequest",
        "returns.view_unmatchedparcel", "returns.view_inboundevent", "inventory.view_product",
        "inventory.view_stocklevel", "inventory.view_stockmovement",
    ],
}


def ensure_roles(**kwargs) -> None:
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)
