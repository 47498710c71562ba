from rest_framework import permissions

from core.actors import PartnerActor


def is_partner(user) -> bool:
    return isinstance(user, PartnerActor)


def is_customer(user) -> bool:
    return bool(user and user.is_authenticated and not user.is_staff and not is_partner(user))


class Scoped(permissions.BasePermission):
    """Partners need the view's `required_scopes` for the method; people pass to the view's own checks.

    `required_scopes` maps an HTTP method (or "*") to the scope a partner key must carry.
    """

    message = "Your API key lacks the scope for this operation."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        allowed = getattr(view, "allowed_callers", ("customer", "partner", "staff"))
        if is_partner(user):
            if "partner" not in allowed:
                return False
            scopes = getattr(view, "required_scopes", {})
            needed = scopes.get(request.method, scopes.get("*"))
            return needed is None or user.has_scope(needed)
        if user.is_staff:
            return "staff" in allowed
        return "customer" in allowed
