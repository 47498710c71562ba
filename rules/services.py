"""Every write to the rules: drafts, their rules, publishing, the block and allow lists.

Only drafts change. Each service checks the caller's permission itself and writes history.
"""

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.errors import InvalidTransition, NotFound, PermissionDenied
from core.transitions import apply_transition, save_with_history
from rules import engine
from rules.choices import ListKey, ListKind, VersionStatus
from rules.models import ListEntry, Rule, RuleSetVersion


def _require(by, perm: str, message: str) -> None:
    if by is None or not by.is_authenticated or not by.has_perm(perm):
        raise PermissionDenied(message, code="rules_permission_denied")


def _lock(version) -> RuleSetVersion:
    pk = version.pk if isinstance(version, RuleSetVersion) else version
    locked = RuleSetVersion.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise NotFound("No such rule set version.", code="rule_version_not_found")
    return locked


def _require_draft(version: RuleSetVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise InvalidTransition(f"{version} is not a draft; only drafts change. Start a new draft from it.",
                                code="rule_version_not_draft")


@transaction.atomic
def ruleset_draft_create(*, by, based_on: RuleSetVersion | None = None, notes: str = "") -> RuleSetVersion:
    """A new draft: a copy of `based_on` (the published version when not given) and its rules."""
    _require(by, "rules.add_rulesetversion", "You may not edit the return rules.")
    # One number at a time: two drafts started together wait for each other instead of taking
    # the same number (reads, and the published version's returns, are not blocked).
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {RuleSetVersion._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    if based_on is None:
        based_on = RuleSetVersion.objects.filter(status=VersionStatus.PUBLISHED).first()
    number = (RuleSetVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = RuleSetVersion(number=number, based_on=based_on, notes=notes[:2000], created_by=by)
    save_with_history(draft, by=by, reason=f"draft from v{based_on.number}" if based_on else "first draft")
    if based_on is not None:
        Rule.objects.bulk_create([
            Rule(version=draft, priority=rule.priority, name=rule.name, enabled=rule.enabled,
                 condition=rule.condition, outcome=rule.outcome)
            for rule in based_on.rules.order_by("priority", "id")
        ])
    return draft


@transaction.atomic
def rule_save(*, by, version, rule: Rule | None = None, priority: int, name: str, enabled: bool = True,
              condition: dict, outcome: dict) -> Rule:
    """Add a rule to a draft, or change one of its rules. A definition that does not validate
    changes nothing (RuleDefinitionError, each problem with its code)."""
    _require(by, "rules.change_rule", "You may not edit the return rules.")
    version = _lock(version)
    _require_draft(version)
    engine.validate_rule(condition, outcome)
    if rule is None:
        rule = Rule(version=version)
    elif rule.version_id != version.pk:
        raise NotFound("No such rule in this version.", code="rule_not_found")
    rule.priority, rule.name, rule.enabled = priority, name.strip()[:200] or "Rule", enabled
    rule.condition, rule.outcome = condition, outcome
    save_with_history(rule, by=by, reason="rule saved")
    save_with_history(version, by=by, reason=f"rule {rule.pk} saved")  # a new stamp: recompile
    return rule


@transaction.atomic
def rule_delete(*, by, rule: Rule) -> None:
    _require(by, "rules.delete_rule", "You may not edit the return rules.")
    version = _lock(rule.version_id)
    _require_draft(version)
    rule._history_user, rule._change_reason = by, "rule deleted"
    rule.delete()
    save_with_history(version, by=by, reason="rule deleted")


@transaction.atomic
def ruleset_publish(*, by, version) -> RuleSetVersion:
    """Publish a draft; the version published until now is superseded. Open returns keep the
    version that decided them; new requests use this one."""
    _require(by, "rules.publish_rulesetversion", "Only a supervisor may publish return rules.")
    current = RuleSetVersion.objects.select_for_update().filter(status=VersionStatus.PUBLISHED).first()
    version = _lock(version)
    _require_draft(version)
    for rule in version.rules.all():  # drafts are validated on every save; a publish checks again
        engine.validate_rule(rule.condition, rule.outcome)
    if current is not None:
        apply_transition(current, "supersede", by=by, reason=f"superseded by v{version.number}")
    apply_transition(version, "publish", by=by, reason="published", at=timezone.now(), publisher=by)
    return version


@transaction.atomic
def ruleset_archive(*, by, version) -> RuleSetVersion:
    _require(by, "rules.change_rulesetversion", "You may not edit the return rules.")
    version = _lock(version)
    _require_draft(version)
    apply_transition(version, "archive", by=by, reason="archived")
    return version


@transaction.atomic
def ruleset_record_backtest(*, version_id: int, report: dict) -> None:
    version = _lock(version_id)
    version.last_backtest = report
    version._history_user, version._change_reason = None, "backtested"
    version.save(update_fields=["last_backtest"])


@transaction.atomic
def list_entry_add(*, by, kind: str, key: str, value: str, note: str = "") -> ListEntry:
    _require(by, "rules.add_listentry", "You may not change the block and allow lists.")
    entry = ListEntry(kind=kind, key=key, value=(value or "").strip().lower(), note=note[:200])
    if kind not in ListKind.values or key not in ListKey.values or not entry.value:
        from core.errors import ValidationFailed

        raise ValidationFailed("Choose a list, a key and a value.", code="invalid_list_entry")
    existing = ListEntry.objects.filter(kind=kind, key=key, value=entry.value).first()
    if existing is not None:
        return existing
    save_with_history(entry, by=by, reason="listed")
    return entry


@transaction.atomic
def list_entry_remove(*, by, entry: ListEntry) -> None:
    _require(by, "rules.delete_listentry", "You may not change the block and allow lists.")
    entry._history_user, entry._change_reason = by, "unlisted"
    entry.delete()
