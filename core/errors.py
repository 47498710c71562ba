"""One small hierarchy of domain errors, each with a stable machine-readable code.

Views turn them into RFC 9457 problem details, the admin shows them as messages. Titles are
translated lazily; a message meant for a customer is translated where it is raised (gettext), in the
language of the request that caused it (the API's Accept-Language, the portal's chosen language).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _


@dataclass
class Violation:
    code: str
    message: str
    field: str | None = None


class DomainError(Exception):
    code = "domain_error"
    http_status = 400
    title = _("The request could not be carried out")

    def __init__(self, message: str | None = None, *, code: str | None = None, violations=None):
        # Text in the language active where it is raised (the request's), never a lazy proxy.
        self.message = str(message or self.title)
        if code:
            self.code = code
        self.violations: list[Violation] = list(violations or [])
        super().__init__(self.message)

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": str(self.message)}
        if self.violations:
            body["errors"] = [
                {"code": v.code, "detail": str(v.message), **({"field": v.field} if v.field else {})}
                for v in self.violations
            ]
        return body


class ValidationFailed(DomainError):
    code = "validation_failed"
    http_status = 422
    title = _("The request is not valid")

    @classmethod
    def from_violations(cls, violations: list[Violation]) -> "ValidationFailed":
        first = violations[0]
        return cls(first.message, code=first.code, violations=violations)


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
    title = _("Not found")


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403
    title = _("You may not do this")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409
    title = _("This action is not allowed in the current state")


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    title = _("Conflicting request")


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    http_status = 429
    title = "Too many attempts"


@dataclass
class ErrorList:
    violations: list[Violation] = field(default_factory=list)

    def add(self, code: str, message: str, field: str | None = None) -> None:
        self.violations.append(Violation(code, message, field))

    def raise_if_any(self) -> None:
        if self.violations:
            raise ValidationFailed.from_violations(self.violations)
