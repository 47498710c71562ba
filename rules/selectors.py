"""Reads for the rules: the version that decides new returns, compiled; returns to backtest."""

from datetime import timedelta

from django.utils import timezone

from rules import engine
from rules.choices import VersionStatus
from rules.models import RuleSetVersion

EMPTY = engine.CompiledVersion(None)


def published_version() -> RuleSetVersion | None:
    return RuleSetVersion.objects.filter(status=VersionStatus.PUBLISHED).first()


def compiled(version: RuleSetVersion | None) -> engine.CompiledVersion:
    """The version's rules compiled, once per process per change (a draft's stamp moves on
    every edit; a published version never changes)."""
    if version is None:
        return EMPTY
    return engine.compiled_version(version.pk, version.updated_at.isoformat())


def backtest_returns(*, days: int, now=None):
    """Returns requested in the last `days` days that stored their facts: (id, rma, version id,
    facts, decision), oldest first, streamed."""
    from returns.models import ReturnRequest

    since = (now or timezone.now()) - timedelta(days=days)
    return (ReturnRequest.objects.filter(requested_at__gte=since).exclude(rule_facts={})
            .order_by("requested_at", "id")
            .values_list("id", "rma_number", "rule_version_id", "rule_facts", "rule_decision")
            .iterator(chunk_size=2000))


def backtest_count(*, days: int, now=None) -> int:
    from returns.models import ReturnRequest

    since = (now or timezone.now()) - timedelta(days=days)
    return ReturnRequest.objects.filter(requested_at__gte=since).exclude(rule_facts={}).count()
