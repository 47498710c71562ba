"""What a change to a user means for the rest of the kernel."""

from core.services import api_token_revoke_all


def revoke_api_tokens_on_password_change(sender, instance, created, raw=False, **kwargs) -> None:
    """A new password cuts off every API token of the user: whoever stole one, or the old password,
    loses access with it. `_password` is set by set_password() until the save that stores it (the
    change and reset forms, the admin, `changepassword`), and not by a mere rehash at login."""
    if created or raw or getattr(instance, "_password", None) is None:
        return
    api_token_revoke_all(user=instance, reason="password_changed")
