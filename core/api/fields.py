from operator import attrgetter

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import round_money


@extend_schema_field({"type": "string", "format": "decimal", "example": "54.00",
                      "description": "Decimal string in the currency's minor unit (JPY 0, USD 2, KWD 3)."})
class MoneyAmount(serializers.Field):
    """An amount shown with exactly its currency's decimals, read from a sibling currency field."""

    def __init__(self, *, currency_field: str = "currency", **kwargs):
        kwargs["read_only"] = True
        self.currency_field = currency_field
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return super().get_attribute(instance), attrgetter(self.currency_field)(instance)

    def to_representation(self, value):
        amount, currency = value
        return None if amount is None else str(round_money(amount, currency))
