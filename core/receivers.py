"""What a change to a user means for the rest of the kernel."""

from core.services import api_token_revoke_all


def revoke_api_tokens_on_password_change(sender, instance, created, raw=False, update_fields=None,
                                         **kwargs) -> None:
    """A new password cuts off every API token of the user: whoever stole one, or the old password,
    loses access with it. `_password` is set by set_password() until the save that stores it (the
    change and reset forms, the admin, `changepassword`), and not by a mere rehash at login.

    Password sign-in turned off (the admin's "disable password-based authentication", or
    set_unusable_password() anywhere) cuts them off too: it goes round set_password(), so any save of a
    user without a usable password revokes (there is nothing to revoke after the first)."""
    if created or raw or (update_fields is not None and "password" not in update_fields):
        return
    if getattr(instance, "_password", None) is not None:
        api_token_revoke_all(user=instance, reason="password_changed")
    elif not instance.has_usable_password():
        api_token_revoke_all(user=instance, reason="password_disabled")
