from django.db import models


class Stage(models.TextChoices):
    REQUEST = "request", "At request"
    INSPECTION = "inspection", "At inspection"
