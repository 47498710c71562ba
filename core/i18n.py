"""The customer's language: which ones we speak, the one a customer chose, and reading it back.

The portal's language comes from the switch's cookie, else the browser (Django's LocaleMiddleware).
What a customer chose is also kept on their profile, so that e-mails (sent by workers, with no
request) are written in it, and so that a new device opens the portal in it.
"""

from django.conf import settings
from django.db import transaction
from django.utils import translation

from core.errors import ValidationFailed, Violation
from core.models import CustomerProfile


def supported_language(code: str | None) -> str | None:
    """The supported language a code names (de-AT → de), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def customer_language(user) -> str:
    """The language to write to this customer in: their choice, else the site's default."""
    profile = CustomerProfile.objects.filter(user_id=getattr(user, "pk", None)).only("language").first()
    return supported_language(profile.language if profile else None) or settings.LANGUAGE_CODE


@transaction.atomic
def customer_language_set(*, user, language: str, only_if_unset: bool = False) -> str:
    """Remember the customer's language. `only_if_unset` records what the browser asked for without
    overriding a choice the customer made with the switch."""
    chosen = supported_language(language)
    if chosen is None:
        raise ValidationFailed.from_violations([Violation("unsupported_language", translation.gettext(
            "We do not offer that language."), "language")])
    profile, created = CustomerProfile.objects.select_for_update().get_or_create(
        user=user, defaults={"language": chosen})
    if not created and profile.language != chosen and not (only_if_unset and profile.language):
        profile.language = chosen
        profile.full_clean()
        profile.save(update_fields=["language", "updated_at"])
    return profile.language


STAFF_PATHS = ("/admin/",)


def customer_language_middleware(get_response):
    """A logged-in customer without the switch's cookie (a new device) gets their stored language,
    and the cookie, so the next request needs no lookup. The API keeps to Accept-Language. The
    back-office stays in English: its own pages are written in English only, and half-translated
    admin pages (Django's words in German, ours in English) would read worse than either."""

    def middleware(request):
        if request.path.startswith(STAFF_PATHS):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            return get_response(request)
        user = getattr(request, "user", None)
        stored = None
        if (user is not None and user.is_authenticated and not user.is_staff
                and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and not request.path.startswith("/api/")):
            profile = CustomerProfile.objects.filter(user_id=user.pk).only("language").first()
            stored = supported_language(profile.language if profile else None)
            if stored:
                translation.activate(stored)
                request.LANGUAGE_CODE = stored
        response = get_response(request)
        if stored:
            set_language_cookie(response, stored)
        return response

    return middleware


def set_language_cookie(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE)


def remember_language_on_login(sender, request, user, **kwargs) -> None:
    """A customer's first login records the language their browser asked for (or the switch set),
    so that e-mails are in it before they ever touch the switch; a choice already made stays."""
    if request is None or user.is_staff:
        return
    language = supported_language(getattr(request, "LANGUAGE_CODE", None))
    if language:
        customer_language_set(user=user, language=language, only_if_unset=True)
