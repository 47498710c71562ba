from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_save

        from config import observability
        from core.i18n import remember_language_on_login
        from core.receivers import revoke_api_tokens_on_password_change

        post_migrate.connect(_after_last_app_migrated, dispatch_uid="core.ensure_roles")
        user_logged_in.connect(remember_language_on_login, dispatch_uid="core.remember_language_on_login")
        post_save.connect(revoke_api_tokens_on_password_change, sender=get_user_model(),
                          dispatch_uid="core.revoke_api_tokens_on_password_change")
        observability.configure()  # once per process: web, commands, Celery workers


def _after_last_app_migrated(sender, **kwargs) -> None:
    """Roles need every app's permissions, which exist only once the last app has migrated."""
    from django.apps import apps

    from core.roles import ensure_roles

    if sender is list(apps.get_app_configs())[-1]:
        ensure_roles()
