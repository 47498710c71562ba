import hashlib

from django.conf import settings
from django.db import models

from core.money import DECIMAL_PLACES, MAX_DIGITS


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def MoneyField(**kwargs) -> models.DecimalField:  # noqa: N802 - reads like a field class
    """Every amount column: enough places for three-decimal currencies, never a float."""
    kwargs.setdefault("max_digits", MAX_DIGITS)
    kwargs.setdefault("decimal_places", DECIMAL_PLACES)
    return models.DecimalField(**kwargs)


def CurrencyField(**kwargs) -> models.CharField:  # noqa: N802
    kwargs.setdefault("max_length", 3)
    return models.CharField(**kwargs)


class IdempotencyRecord(models.Model):
    """A POST or PUT remembered by its Idempotency-Key, so a retry gets the first answer."""

    caller = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(blank=True, default="", help_text="The JSON body as sent (text, not jsonb: "
                                                          "bodies may echo any character back).")
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="idempotency_key_unique_per_caller")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"


class CustomerProfile(models.Model):
    """What we remember about a customer beyond their login: the language they read us in.

    Set by the portal's language switch, or from their browser the first time they log in; e-mails
    are written in it. Empty: we never learnt it, and e-mails go out in the site's default language.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_profile")
    language = models.CharField(max_length=10, blank=True,
                                help_text="A code from settings.LANGUAGES, e.g. de; empty if never chosen.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class ApiToken(models.Model):
    """A customer's API token, sent as `Authorization: Token <token>`, kept only as its SHA-256 digest.

    The clear token is shown once, when it is issued (`core.services.api_token_issue`). A token is
    random (160 bits), so a plain digest cannot be reversed and is what a request is looked up by.
    Its first characters stay in clear so that support and the customer can tell tokens apart.
    """

    PREFIX_LENGTH = 8

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False,
                              help_text="Hex SHA-256 of the token; the token itself is never stored.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False,
                              help_text="The token's first characters, to recognise it.")
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False,
                                        help_text="To the minute: updated at most once a minute.")

    class Meta:
        verbose_name = "API token"
        permissions = [("revoke_apitoken", "Can revoke a customer's API token")]

    def __str__(self) -> str:
        return f"{self.prefix}… of {self.user}"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
