"""Rules deciding real requests: outcomes end to end (money through the ledger), versions,
pinning, backtests, permissions and the commands."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.errors import InvalidTransition, PermissionDenied, ValidationFailed
from refunds import ledger
from refunds.models import JournalLine, Refund
from refunds.reconciliation import reconcile
from returns import services
from returns.choices import ReturnStatus
from returns.models import ReturnRequest
from rules import backtest, decisions, selectors
from rules import services as rules
from rules.choices import ListKey, ListKind, VersionStatus
from rules.engine import RuleDefinitionError
from rules.models import ListEntry, Rule, RuleSetVersion
from tests import factories
from tests.factories import line_request

pytestmark = pytest.mark.django_db

ALWAYS = {"all": []}
SHIRTS = {"field": "product_sku", "op": "eq", "value": "shirt-blue-m"}


def publish(by, *rule_list, based_on=None) -> RuleSetVersion:
    draft = rules.ruleset_draft_create(by=by, based_on=based_on)
    for priority, (condition, outcome) in enumerate(rule_list, start=1):
        rules.rule_save(by=by, version=draft, priority=priority * 10, name=f"rule {priority}",
                        condition=condition, outcome=outcome)
    return rules.ruleset_publish(by=by, version=draft)


def request(customer, order, *lines, **kwargs) -> ReturnRequest:
    return services.return_request_create(by=customer, order_id=order.pk,
                                          lines=list(lines) or [line_request(order.lines.first())], **kwargs)


def shirts(order):
    return order.lines.get(product__sku="shirt-blue-m")


# --- the request path ---

def test_with_nothing_published_the_built_in_rules_decide_and_are_traced(order, customer):
    rr = request(customer, order)
    assert rr.rule_version is None and rr.status == ReturnStatus.AUTHORIZED
    assert rr.rule_decision["trace"] == [] and rr.rule_decision["refund_timing"] == "after_inspection"
    assert rr.rule_facts["lines"][0]["product_sku"] == "shirt-blue-m"
    assert rr.rule_facts["request"]["fraud_score"] == rr.fraud_score


def test_a_denial_tells_the_customer_why_and_writes_nothing(order, customer, supervisor):
    publish(supervisor, (SHIRTS, {"type": "deny", "message": "Shirts from this sale are final."}))
    before = ReturnRequest.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        request(customer, order, line_request(shirts(order)))
    assert refused.value.code == "denied_by_rule"
    assert refused.value.message == "Shirts from this sale are final."
    assert refused.value.violations[0].field == "lines[0]"
    assert ReturnRequest.objects.count() == before


def test_a_longer_window_feeds_the_built_in_window_check(shop, customer, supervisor):
    late = factories.make_order(customer=customer, delivered_days_ago=45, lines=[(shop.shirt, 1, "25.00", "2.00")])
    with pytest.raises(ValidationFailed) as refused:
        request(customer, late)
    assert refused.value.code == "return_window_closed"

    publish(supervisor, ({"field": "order_tags", "op": "contains", "value": "vip"}, {"type": "window", "days": 60}))
    late.tags = ["VIP"]
    late.save()
    rr = request(customer, late)
    assert rr.status == ReturnStatus.AUTHORIZED
    assert rr.rule_decision["lines"][0]["window_days"] == 60


def test_a_shorter_window_closes_it_with_the_built_in_message(order, customer, supervisor):
    publish(supervisor, (ALWAYS, {"type": "window", "days": 3}))
    with pytest.raises(ValidationFailed) as refused:
        request(customer, order)
    assert refused.value.code == "return_window_closed"
    assert refused.value.violations[0].message.startswith("The 3-day return window")


def test_only_exchange_or_store_credit_restricts_what_the_customer_may_ask(order, customer, supervisor):
    publish(supervisor, (ALWAYS, {"type": "only_resolutions", "resolutions": ["store_credit"]}))
    with pytest.raises(ValidationFailed) as refused:
        request(customer, order, line_request(shirts(order), resolution="refund"))
    assert refused.value.code == "resolution_not_allowed"
    assert "store credit only" in refused.value.violations[0].message
    rr = request(customer, order, line_request(shirts(order), resolution="store_credit"))
    assert rr.lines.get().resolution == "store_credit"


def test_fees_come_off_the_refund_and_post_as_fee_income(order, customer, supervisor, warehouse):
    publish(supervisor, (ALWAYS, {"type": "fee", "fee": "return_shipping", "amount": "5.95"}),
            (ALWAYS, {"type": "fee", "fee": "handling", "amount": "1.00"}))
    quote = services.return_quote_request(by=customer, order_id=order.pk, lines=[line_request(shirts(order))])
    assert quote.return_fees == Decimal("6.95") and quote.net == Decimal("27.00") - Decimal("6.95")
    assert {n["code"] for n in quote.notices} >= {"fee_return_shipping", "fee_handling"}

    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(shirts(order), 1)])
    factories.inspect_all(rr, by=warehouse)
    refund = Refund.objects.get(return_request=rr)
    assert refund.return_fees == Decimal("6.95") and refund.net == quote.net
    fee_income = sum(JournalLine.objects.filter(account__code=ledger.RETURN_FEE_INCOME).values_list("amount",
                                                                                                    flat=True))
    assert fee_income == Decimal("-6.95")
    assert reconcile().ok


def test_a_paid_refund_with_fees_is_reconciled_wholesale_and_a_changed_fee_is_caught(
        order, customer, supervisor, warehouse, django_capture_on_commit_callbacks):
    from django.db import connection, transaction

    from refunds.reconciliation import _mark_plainly_paid

    publish(supervisor, (ALWAYS, {"type": "fee", "fee": "handling", "amount": "1.00"}))
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(shirts(order), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    assert Refund.objects.get(return_request=rr).status == "completed"
    with transaction.atomic():
        assert _mark_plainly_paid() == 1  # fees are part of the commonest shape
    assert reconcile().ok

    with connection.cursor() as cursor:
        cursor.execute("UPDATE refunds_refund SET return_fees = 2")
    report = reconcile()
    assert any("return fees posted differ from 2" in problem for problem in report.problems), report.problems


def test_a_fee_never_exceeds_what_is_paid(shop, customer, supervisor):
    cheap = factories.make_order(customer=customer, lines=[(shop.shirt, 1, "3.00", "0.00")])
    publish(supervisor, (ALWAYS, {"type": "fee", "fee": "handling", "amount": "20"}))
    quote = services.return_quote_request(by=customer, order_id=cheap.pk, lines=[line_request(cheap.lines.get())])
    assert quote.return_fees == Decimal("12.95") and quote.net == 0  # the item and the shipping (all came back)


def test_bonus_credit_adds_to_the_store_credit_bonus(order, customer, supervisor):
    publish(supervisor, ({"all": [SHIRTS, {"field": "customer_risk_score", "op": "lt", "value": 30}]},
                         {"type": "bonus_credit", "percent": "10"}))
    quote = services.return_quote_request(by=customer, order_id=order.pk, refund_method="store_credit",
                                          lines=[line_request(shirts(order))])
    assert quote.store_credit_bonus == Decimal("4.05")  # 27.00 × (5% policy + 10% rule)
    rr = request(customer, order, line_request(shirts(order)), refund_method="store_credit")
    (entry,) = rr.rule_decision["trace"]
    rule_id = Rule.objects.get(version=rr.rule_version).pk
    assert entry["text"] == f"rule {rule_id} matched: SKU = shirt-blue-m and customer risk < 30 → bonus credit 10%"
    assert services.return_quote(return_request=rr).store_credit_bonus == Decimal("4.05")


def test_returnless_keeps_the_item_with_the_customer(order, customer, supervisor):
    publish(supervisor, (SHIRTS, {"type": "returnless"}))
    rr = request(customer, order, line_request(shirts(order)))
    assert rr.lines.get().returnless is True
    assert rr.is_returnless


def test_review_and_photos_and_timing_after_scoring(order, customer, supervisor, warehouse):
    scored = {"field": "fraud_score", "op": "gte", "value": 0}
    publish(supervisor, (scored, {"type": "review", "message": "Spot check"}),
            (ALWAYS, {"type": "require_photos"}), (ALWAYS, {"type": "refund_timing", "timing": "at_receipt"}))
    rr = request(customer, order, line_request(shirts(order)))
    assert rr.status == ReturnStatus.REQUESTED
    assert [r["code"] for r in rr.review_reasons] == ["rule_review"]
    assert rr.rule_decision["refund_timing"] == "at_receipt"
    services.return_approve(return_request=rr, by=supervisor)
    services.return_mark_in_transit(return_request=rr)
    rr = services.return_receive(return_request=rr, by=warehouse)
    line = rr.lines.get()
    with pytest.raises(ValidationFailed) as refused:
        services.return_inspect(return_request=rr, by=warehouse, inspections={line.pk: {"condition": "new"}})
    assert refused.value.code == "photos_required"
    assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.RECEIVED


def test_an_allow_listed_customer_bypasses_the_policy_review_but_not_a_fraud_hold(order, customer, supervisor):
    factories.policy(None, review_mode="manual")
    publish(supervisor, ({"field": "on_allow_list", "op": "is", "value": True}, {"type": "bypass_review"}))
    assert request(customer, order).status == ReturnStatus.REQUESTED
    rules.list_entry_add(by=supervisor, kind=ListKind.ALLOW, key=ListKey.EMAIL, value="Alice@Example.com")
    rr = request(customer, order, line_request(order.lines.last()))
    assert rr.status == ReturnStatus.AUTHORIZED
    assert any("lifted by an allow rule" in e["text"] for e in rr.rule_decision["builtin"])


def test_a_blocked_sku_is_denied(order, customer, supervisor):
    publish(supervisor, ({"field": "on_block_list", "op": "is", "value": True},
                         {"type": "deny", "message": "This item cannot be returned online."}))
    rules.list_entry_add(by=supervisor, kind=ListKind.BLOCK, key=ListKey.SKU, value="JACKET-RAIN-L")
    with pytest.raises(ValidationFailed) as refused:
        request(customer, order, line_request(shirts(order)), line_request(order.lines.last()))
    assert [v.field for v in refused.value.violations] == ["lines[1]"]
    assert request(customer, order, line_request(shirts(order))).status == ReturnStatus.AUTHORIZED


# --- versions ---

def test_publishing_supersedes_and_keeps_history(supervisor):
    first = publish(supervisor, (ALWAYS, {"type": "require_photos"}))
    second = publish(supervisor, based_on=first)
    first = RuleSetVersion.objects.get(pk=first.pk)
    assert (first.status, second.status) == (VersionStatus.SUPERSEDED, VersionStatus.PUBLISHED)
    assert second.rules.count() == 1 and second.number == first.number + 1
    assert second.published_by == supervisor
    assert {h.history_change_reason for h in second.history.all()} >= {"published"}
    assert first.history.first().history_user == supervisor


def test_only_drafts_change(supervisor):
    published = publish(supervisor, (ALWAYS, {"type": "require_photos"}))
    with pytest.raises(InvalidTransition) as refused:
        rules.rule_save(by=supervisor, version=published, priority=1, name="x", condition=ALWAYS,
                        outcome={"type": "returnless"})
    assert refused.value.code == "rule_version_not_draft"
    with pytest.raises(InvalidTransition):
        rules.ruleset_publish(by=supervisor, version=published)


def test_a_bad_rule_changes_nothing(supervisor):
    draft = rules.ruleset_draft_create(by=supervisor)
    with pytest.raises(RuleDefinitionError) as refused:
        rules.rule_save(by=supervisor, version=draft, priority=1, name="x",
                        condition={"field": "colour", "op": "eq", "value": "red"}, outcome={"type": "returnless"})
    assert refused.value.code == "unknown_field"
    assert not draft.rules.exists()


def test_only_supervisors_edit_and_publish(supervisor, reviewer, customer):
    draft = rules.ruleset_draft_create(by=supervisor)
    for who in (reviewer, customer):
        with pytest.raises(PermissionDenied):
            rules.ruleset_draft_create(by=who)
        with pytest.raises(PermissionDenied):
            rules.rule_save(by=who, version=draft, priority=1, name="x", condition=ALWAYS,
                            outcome={"type": "returnless"})
        with pytest.raises(PermissionDenied):
            rules.ruleset_publish(by=who, version=draft)
    assert RuleSetVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT


def test_an_open_return_keeps_the_version_that_decided_it(order, customer, supervisor, warehouse):
    first = publish(supervisor, (ALWAYS, {"type": "fee", "fee": "handling", "amount": "2.00"}))
    rr = request(customer, order, line_request(shirts(order)))
    publish(supervisor, (ALWAYS, {"type": "fee", "fee": "handling", "amount": "9.00"}),
            (ALWAYS, {"type": "require_photos"}))
    rr.refresh_from_db()
    assert rr.rule_version == first
    assert services.return_quote(return_request=rr).return_fees == Decimal("2.00")
    services.return_mark_in_transit(return_request=rr)
    rr = services.return_receive(return_request=rr, by=warehouse)
    factories.inspect_all(rr, by=warehouse)  # no photos needed: its version did not ask
    assert Refund.objects.get(return_request=rr).return_fees == Decimal("2.00")


# --- backtest ---

def test_the_backtest_predicts_what_publishing_then_does(shop, customer, other_customer, supervisor):
    orders = [factories.make_order(customer=who, lines=[(shop.shirt, 2, "25.00", "2.00"),
                                                        (shop.jacket, 1, "120.00", "12.00")])
              for who in (customer, other_customer, customer)]
    asks = [[line_request(orders[0].lines.first())], [line_request(orders[1].lines.last())],
            [line_request(orders[2].lines.first(), 2, reason="changed_mind"), line_request(orders[2].lines.last())]]
    current = publish(supervisor, (ALWAYS, {"type": "fee", "fee": "handling", "amount": "1.00"}))
    past = [services.return_request_create(by=o.customer, order_id=o.pk, lines=lines)
            for o, lines in zip(orders, asks, strict=True)]
    # Cancelled, so the same lines can be asked again once the draft is published.
    for rr in past:
        services.return_cancel(return_request=rr, by=rr.customer)

    draft = rules.ruleset_draft_create(by=supervisor, based_on=current)
    rules.rule_save(by=supervisor, version=draft, priority=1, name="big returns get looked at",
                    condition={"field": "product_price", "op": "gt", "value": 100},
                    outcome={"type": "review", "message": "Expensive item"})
    rules.rule_save(by=supervisor, version=draft, priority=2, name="changed mind pays shipping",
                    condition={"field": "return_reason", "op": "eq", "value": "changed_mind"},
                    outcome={"type": "fee", "fee": "return_shipping", "amount": "4.95"})
    report = backtest.run(draft, days=7).as_dict()
    assert report["returns"] == 3 and report["changed"] == 2
    assert report["by_outcome"] == {"fees": 1, "review": 2}
    assert Decimal(report["payout_after"]) - Decimal(report["payout_before"]) == Decimal("-4.95")
    predicted = {e["rma"]: e for e in report["examples"]}

    rules.ruleset_publish(by=supervisor, version=draft)
    again = [services.return_request_create(by=o.customer, order_id=o.pk, lines=lines)
             for o, lines in zip(orders, asks, strict=True)]
    for before, after in zip(past, again, strict=True):
        expected = decisions.decide(selectors.compiled(draft), before.rule_facts)
        assert decisions.summary(after.rule_decision) == decisions.summary(expected)
        assert after.rule_decision["money"] == expected["money"]
        if before.rma_number in predicted:
            changed = predicted[before.rma_number]
            assert {k: decisions.summary(after.rule_decision)[k] for k in changed["after"]} == \
                {k: (v if k != "review" else sorted(v)) for k, v in changed["after"].items()}
    assert {rr.status for rr in again} == {ReturnStatus.REQUESTED, ReturnStatus.AUTHORIZED}


def test_the_backtest_reads_only_the_window_asked(order, customer, supervisor):
    current = publish(supervisor)
    rr = request(customer, order)
    ReturnRequest.objects.filter(pk=rr.pk).update(requested_at=timezone.now() - timedelta(days=40))
    draft = rules.ruleset_draft_create(by=supervisor, based_on=current)
    assert backtest.run(draft, days=30).returns == 0
    assert backtest.run(draft, days=60).returns == 1


def test_the_backtest_command_prints_a_progress_bar_and_the_report(order, customer, supervisor):
    current = publish(supervisor)
    request(customer, order)
    draft = rules.ruleset_draft_create(by=supervisor, based_on=current)
    rules.rule_save(by=supervisor, version=draft, priority=1, name="photos", condition=ALWAYS,
                    outcome={"type": "require_photos"})
    out = StringIO()
    call_command("rules_backtest", "--version", str(draft.pk), "--days", "30", stdout=out)
    text = out.getvalue()
    assert "[##############################] 100% 1/1" in text
    assert "changed: 1" in text and "photos" in text
    assert RuleSetVersion.objects.get(pk=draft.pk).last_backtest["changed"] == 1


def test_the_backtest_command_refuses_an_unknown_version(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("rules_backtest", "--version", "999999", "--days", "30", stdout=StringIO())


def test_the_bench_command_runs_at_a_tiny_size(db):
    out = StringIO()
    call_command("rules_bench", "--rules", "20", "--samples", "20", "--returns", "30", stdout=out)
    text = out.getvalue()
    assert "evaluate 20 rules per return" in text and "backtest over 30 returns" in text
    assert "< 2 ms" in text and "< 60 s" in text


def test_list_entries_are_normalised_and_audited(supervisor, reviewer):
    entry = rules.list_entry_add(by=supervisor, kind=ListKind.BLOCK, key=ListKey.EMAIL, value="  Bad@Example.COM ")
    assert entry.value == "bad@example.com"
    assert rules.list_entry_add(by=supervisor, kind=ListKind.BLOCK, key=ListKey.EMAIL, value="bad@example.com") == entry
    assert entry.history.first().history_user == supervisor
    with pytest.raises(ValidationFailed):
        rules.list_entry_add(by=supervisor, kind="grey", key=ListKey.EMAIL, value="x")
    with pytest.raises(PermissionDenied):
        rules.list_entry_add(by=reviewer, kind=ListKind.BLOCK, key=ListKey.SKU, value="x")
    assert ListEntry.objects.count() == 1


def test_the_api_shows_the_customer_their_part_and_staff_the_trace(order, customer, supervisor):
    from tests.api.conftest import client_for

    publish(supervisor, (ALWAYS, {"type": "fee", "fee": "return_shipping", "amount": "4.95"}),
            (ALWAYS, {"type": "review", "message": "Internal: look at the photos"}),
            (ALWAYS, {"type": "refund_timing", "timing": "first_scan"}))
    rr = request(customer, order)
    mine = client_for(customer).get(f"/api/v1/returns/{rr.rma_number}").json()
    assert mine["decision"]["refund_timing"] == "first_scan"
    assert [note["code"] for note in mine["decision"]["notes"]] == ["fee_return_shipping"]
    assert "rules_trace" not in mine and "Internal" not in str(mine)
    staff = client_for(supervisor).get(f"/api/v1/returns/{rr.rma_number}").json()
    assert any("return shipping fee 4.95" in text for text in staff["rules_trace"])
    assert staff["rule_version"] == rr.rule_version_id

    quote = client_for(customer).post("/api/v1/returns/quote", {"order_id": order.pk, "lines": [
        line_request(order.lines.first())]}, format="json").json()
    assert quote["return_fees"] == "4.95"
    assert {"code", "detail"} <= set(quote["notices"][0])
