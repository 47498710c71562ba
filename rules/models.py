"""Merchant rules: versioned rule sets, their rules, and block/allow lists."""

from django.conf import settings
from django.db import models
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from core.models import TimeStampedModel
from rules.choices import ListKey, ListKind, VersionStatus

V = VersionStatus


class RuleSetVersion(TimeStampedModel):
    """One version of the merchant's rules. Drafts are edited and backtested; one version is
    published at a time; a published version, once replaced, is superseded and never changes,
    because returns decided by it keep pointing at it."""

    number = models.PositiveIntegerField(unique=True, editable=False)
    status = FSMField(max_length=20, choices=VersionStatus.choices, default=V.DRAFT, protected=True, db_index=True)
    notes = models.TextField(blank=True, help_text="What this version changes, for the people reviewing it.")
    based_on = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    last_backtest = models.JSONField(default=dict, blank=True, help_text="The latest backtest's report.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-number"]
        permissions = [("publish_rulesetversion", "Can publish a rule set version")]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status=V.PUBLISHED),
                                    name="one_published_rule_set_version"),
        ]

    def __str__(self) -> str:
        return f"Rules v{self.number} ({self.get_status_display().lower()})"

    @property
    def editable(self) -> bool:
        return self.status == V.DRAFT

    @transition(field=status, source=V.DRAFT, target=V.PUBLISHED)
    def publish(self, *, at, publisher) -> None:
        self.published_at = at
        self.published_by = publisher

    @transition(field=status, source=V.PUBLISHED, target=V.SUPERSEDED)
    def supersede(self) -> None:
        pass

    @transition(field=status, source=V.DRAFT, target=V.ARCHIVED)
    def archive(self) -> None:
        pass


class Rule(models.Model):
    """Condition → outcome. Smaller priority numbers are evaluated first and win conflicts."""

    version = models.ForeignKey(RuleSetVersion, on_delete=models.CASCADE, related_name="rules")
    priority = models.PositiveIntegerField(default=100)
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    condition = models.JSONField(default=dict, help_text='{"all": [...]}, {"any": [...]} or '
                                                         '{"field": ..., "op": ..., "value": ...}')
    outcome = models.JSONField(default=dict, help_text='{"type": ..., ...}: see docs/rules.md')
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"rule {self.pk}: {self.name}"


class ListEntry(TimeStampedModel):
    """A customer, e-mail, product or SKU on the block or the allow list; rules read them as
    the conditions `on_block_list` and `on_allow_list`."""

    kind = models.CharField(max_length=10, choices=ListKind.choices)
    key = models.CharField(max_length=10, choices=ListKey.choices)
    value = models.CharField(max_length=254, help_text="Matched case-insensitively.")
    note = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "block and allow list entries"
        ordering = ["kind", "key", "value"]
        constraints = [models.UniqueConstraint(fields=["kind", "key", "value"], name="list_entry_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.key} {self.value}"

    def save(self, *args, **kwargs):
        self.value = self.value.strip().lower()
        super().save(*args, **kwargs)
