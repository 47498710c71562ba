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
