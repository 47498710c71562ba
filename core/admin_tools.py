"""What every back-office button shares: call a service, and show its domain error as a message.

A refused or invalid action is a message on the page the user came from, never a 500.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages

from core.errors import DomainError


def posted(request):
    """The POST data to bind a form to, even when empty (a form posted with nothing is still a
    submission); None for a GET."""
    return request.POST if request.method == "POST" else None


def error_text(error: DomainError) -> str:
    details = [violation.message for violation in error.violations if violation.message != error.message]
    return " ".join([error.message, *details])


def call_service(request, service: Callable[..., Any], /, *, success: str | Callable[[Any], str] = "",
                 **kwargs) -> tuple[bool, Any]:
    """Run `service(**kwargs)`; report success or the domain error to the user. Returns
    (succeeded, result)."""
    try:
        result = service(**kwargs)
    except DomainError as error:
        messages.error(request, error_text(error))
        return False, None
    if success:
        messages.success(request, success(result) if callable(success) else success)
    return True, result


class ReadOnlyAdminMixin:
    """A model the admin shows but never adds, changes or deletes: it changes only through its services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
