from contextlib import suppress

from simple_history.models import HistoricalRecords

from core.actors import history_user


class _AuditedRequest:
    """What django-simple-history reads to name the user of a change made during a request.

    A partner acts as a PartnerActor; the audit trail names its service user.
    """

    def __init__(self, request):
        self._request = request

    @property
    def user(self):
        return history_user(getattr(self._request, "user", None))

    def __getattr__(self, name):
        return getattr(self._request, name)


def audit_user_middleware(get_response):
    def middleware(request):
        HistoricalRecords.context.request = _AuditedRequest(request)
        try:
            return get_response(request)
        finally:
            with suppress(AttributeError):
                del HistoricalRecords.context.request

    return middleware
