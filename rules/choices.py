from django.db import models


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"
    ARCHIVED = "archived", "Archived"


class ListKind(models.TextChoices):
    BLOCK = "block", "Block list"
    ALLOW = "allow", "Allow list"


class ListKey(models.TextChoices):
    CUSTOMER = "customer", "Customer (username)"
    EMAIL = "email", "E-mail"
    PRODUCT = "product", "Product (id)"
    SKU = "sku", "SKU"

