"""The rules in the back-office: versions, drafts edited through the services, publishing,
backtests with a chart, lists, and the trace on a return's page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from returns import services
from rules import services as rules
from rules.choices import VersionStatus
from rules.models import ListEntry, Rule, RuleSetVersion
from tests.factories import line_request

pytestmark = pytest.mark.django_db

ALWAYS = {"all": []}


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client
    return login


def page(version) -> str:
    return reverse("admin:rules_rulesetversion_change", args=[version.pk])


def published_with(supervisor, *outcomes) -> RuleSetVersion:
    draft = rules.ruleset_draft_create(by=supervisor)
    for priority, outcome in enumerate(outcomes, start=1):
        rules.rule_save(by=supervisor, version=draft, priority=priority, name=f"rule {priority}", condition=ALWAYS,
                        outcome=outcome)
    return rules.ruleset_publish(by=supervisor, version=draft)


def inline_post(version, rows: list[dict], **extra) -> dict:
    data = {"notes": version.notes, "rules-TOTAL_FORMS": str(len(rows)),
            "rules-INITIAL_FORMS": str(sum(1 for r in rows if r.get("id"))), "rules-MIN_NUM_FORMS": "0",
            "rules-MAX_NUM_FORMS": "1000", "_continue": "1", **extra}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"rules-{i}-{key}"] = value
        data[f"rules-{i}-version"] = str(version.pk)
    return data


def test_a_draft_is_edited_in_the_admin_and_a_bad_rule_is_refused_with_its_code(supervisor, as_user):
    client = as_user(supervisor)
    draft = rules.ruleset_draft_create(by=supervisor)
    good = {"priority": "10", "name": "wrong size to exchange", "enabled": "on",
            "condition": '{"field": "return_reason", "op": "eq", "value": "wrong_size"}',
            "outcome": '{"type": "only_resolutions", "resolutions": ["exchange"]}'}
    response = client.post(page(draft), inline_post(draft, [good]))
    assert response.status_code == 302
    rule = Rule.objects.get(version=draft)
    assert rule.outcome == {"type": "only_resolutions", "resolutions": ["exchange"]}
    assert rule.history.first().history_user == supervisor

    bad = {**good, "id": str(rule.pk), "condition": '{"field": "colour", "op": "eq", "value": "red"}'}
    response = client.post(page(draft), inline_post(draft, [bad]))
    assert response.status_code == 200
    assert "unknown_field" in response.content.decode()
    assert Rule.objects.get(pk=rule.pk).condition["field"] == "return_reason"


def test_a_published_version_is_read_only_and_shows_the_built_in_rules(supervisor, as_user):
    version = published_with(supervisor, {"type": "require_photos"})
    client = as_user(supervisor)
    response = client.get(page(version))
    body = response.content.decode()
    assert response.status_code == 200
    for code in ("order_not_found", "return_window_closed", "resolution_not_allowed", "denied_by_rule",
                 "high_fraud_score", "above_auto_approve_limit"):
        assert code in body
    assert "New draft from this version" in body and ">Publish<" not in body
    response = client.post(page(version), inline_post(version, []))
    assert response.status_code == 403


def test_publish_and_draft_buttons_go_through_the_services(supervisor, reviewer, as_user):
    current = published_with(supervisor)
    client = as_user(supervisor)
    client.post(reverse("admin:rules_version_draft", args=[current.pk]))
    draft = RuleSetVersion.objects.get(status=VersionStatus.DRAFT)
    assert draft.based_on == current

    other = as_user(reviewer)
    assert other.post(reverse("admin:rules_version_publish", args=[draft.pk])).status_code in (302, 403)
    assert RuleSetVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT

    client = as_user(supervisor)
    response = client.post(reverse("admin:rules_version_publish", args=[draft.pk]))
    assert response.status_code == 302
    assert RuleSetVersion.objects.get(pk=draft.pk).status == VersionStatus.PUBLISHED
    assert RuleSetVersion.objects.get(pk=current.pk).status == VersionStatus.SUPERSEDED


def test_the_backtest_page_runs_and_draws_its_chart(order, customer, supervisor, as_user):
    current = published_with(supervisor)
    services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(order.lines.first())])
    draft = rules.ruleset_draft_create(by=supervisor, based_on=current)
    rules.rule_save(by=supervisor, version=draft, priority=1, name="fee", condition=ALWAYS,
                    outcome={"type": "fee", "fee": "handling", "amount": "2.00"})
    client = as_user(supervisor)
    url = reverse("admin:rules_version_backtest", args=[draft.pk])
    assert client.post(url, {"days": "0"}).status_code == 200  # refused by the form, nothing run
    assert not RuleSetVersion.objects.get(pk=draft.pk).last_backtest
    assert client.post(url, {"days": "30"}).status_code == 302
    body = client.get(url).content.decode()
    assert "<svg" in body and "1</strong> of 1 returns decided differently" in body
    assert "handling fee 2.00" in body  # the example's trace


def test_the_versions_list_reads_a_fixed_number_of_queries(supervisor, as_user):
    client = as_user(supervisor)
    url = reverse("admin:rules_rulesetversion_changelist")
    published_with(supervisor, {"type": "require_photos"})
    client.get(url)
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
        for _ in range(5):
            published_with(supervisor, {"type": "require_photos"}, {"type": "returnless"})
    assert counts[1] <= counts[0]


def test_the_draft_page_reads_a_fixed_number_of_queries_whatever_the_rules(supervisor, as_user):
    client = as_user(supervisor)
    draft = rules.ruleset_draft_create(by=supervisor)
    counts = []
    for size in (1, 8):
        while draft.rules.count() < size:
            rules.rule_save(by=supervisor, version=draft, priority=draft.rules.count(), name="r", condition=ALWAYS,
                            outcome={"type": "require_photos"})
        client.get(page(draft))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(draft)).status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[1] <= counts[0]


def test_list_entries_are_added_and_removed_through_the_services(supervisor, as_user):
    client = as_user(supervisor)
    response = client.post(reverse("admin:rules_listentry_add"),
                           {"kind": "block", "key": "email", "value": " Fraud@Example.com", "note": "chargebacks"})
    assert response.status_code == 302
    entry = ListEntry.objects.get()
    assert entry.value == "fraud@example.com" and entry.history.first().history_user == supervisor
    client.post(reverse("admin:rules_listentry_delete", args=[entry.pk]), {"post": "yes"})
    assert not ListEntry.objects.exists()


def test_the_return_page_shows_the_version_and_the_whole_trace(order, customer, supervisor, as_user):
    version = published_with(supervisor, {"type": "fee", "fee": "return_shipping", "amount": "4.95"})
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(order.lines.first())])
    body = as_user(supervisor).get(reverse("admin:returns_returnrequest_change", args=[rr.pk])).content.decode()
    assert f"v{version.number}" in body
    rule = version.rules.get()
    assert f"rule {rule.pk} matched: always → return shipping fee 4.95" in body


def test_the_portal_shows_the_customer_the_fee_and_when_they_are_paid(order, customer, supervisor, client):
    published_with(supervisor, {"type": "fee", "fee": "handling", "amount": "1.50"},
                   {"type": "refund_timing", "timing": "at_receipt"},
                   {"type": "review", "message": "Internal: check the seller"})
    rr = services.return_request_create(by=customer, order_id=order.pk, lines=[line_request(order.lines.first())])
    client.force_login(customer)
    body = client.get(reverse("portal:return", args=[rr.rma_number])).content.decode()
    assert "A handling fee of 1.50 is deducted from the refund." in body
    assert "Your refund is paid when your parcel reaches us." in body
    assert "Internal" not in body

    from returns.tests.test_portal import text, wizard_data

    other = order.lines.last()
    quote = client.post(reverse("portal:return_start", args=[order.pk]),
                        wizard_data({other.product.sku: other}, **{other.product.sku: (1, "wrong_size")}),
                        HTTP_X_PORTAL_PARTIAL="quote")
    panel = text(quote)
    assert "Handling fee −$1.50" in panel and "Your refund is paid when your parcel reaches us." in panel
