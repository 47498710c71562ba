"""Who is acting: a Django user (customer or staff) or a partner calling with an API key.

Services take `by` and ask it `has_perm`; a partner answers from its key's scopes, so the
same permission checks guard every surface.
"""

from dataclasses import dataclass

SCOPE_PERMISSIONS = {
    "orders:write": {"orders.change_order"},
    "returns:read": {"returns.view_returnrequest", "orders.view_order"},
    "returns:write": {"returns.manage_returnrequest", "returns.view_returnrequest", "orders.view_order"},
    # A partner reviews for the merchant, so no agent amount limit; fraud holds stay with our supervisors.
    "returns:review": {"returns.review_returnrequest", "returns.approve_any_amount", "returns.view_returnrequest"},
    "warehouse:write": {"returns.receive_returnrequest", "returns.inspect_returnrequest"},
    "carrier:write": set(),
    "finance:read": {"refunds.view_refund", "refunds.view_journalentry"},
    "webhooks:manage": set(),
    "gift_receipts:write": {"returns.issue_giftreceipt", "orders.view_order"},
    "credit:spend": {"refunds.spend_credit"},
}


@dataclass(frozen=True, eq=False)
class PartnerActor:
    user: object  # the partner's service user, named in the audit trail
    partner: object
    channel_id: int
    scopes: frozenset[str]
    key_id: str

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    @property
    def pk(self):
        return self.user.pk

    id = pk

    @property
    def history_user(self):
        return self.user

    def get_username(self) -> str:
        return self.user.get_username()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def has_perm(self, perm: str, obj=None) -> bool:
        return any(perm in SCOPE_PERMISSIONS.get(scope, ()) for scope in self.scopes)

    def __str__(self) -> str:
        return f"partner {self.partner.slug}"


def history_user(by):
    """The User row an audit record names for `by`."""
    return getattr(by, "history_user", by)


def channel_of(by) -> int | None:
    """The sales channel a partner is bound to; None for people."""
    return getattr(by, "channel_id", None) if isinstance(by, PartnerActor) else None
