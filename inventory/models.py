from django.db import models
from simple_history.models import HistoricalRecords

from core.models import CurrencyField, MoneyField, TimeStampedModel


class Product(TimeStampedModel):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.SlugField(max_length=50, db_index=True)
    returnable = models.BooleanField(default=True)
    unit_cost = MoneyField(default=0)
    currency = CurrencyField(default="USD")
    history = HistoricalRecords()

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"
