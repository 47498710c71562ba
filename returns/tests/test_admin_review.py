"""The review queue and a return's page in the admin: what staff see, and that every button
goes through a service that refuses whoever may not press it — even when the POST is forged."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import paginator
from returns import services
from returns.choices import Condition, ReturnStatus
from returns.models import ReturnLineInspection, ReturnRequest, UnmatchedParcel
from returns.tests.backoffice import every_return_reviewed, waiting_return
from tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:returns_returnrequest_changelist")


def page_of(rr) -> str:
    return reverse("admin:returns_returnrequest_change", args=[rr.pk])


def transition_url(rr, name: str) -> str:
    return reverse("admin:returns_returnrequest_transition", args=[rr.pk, name])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def queue(shop, customer):
    every_return_reviewed()

    def make(**kwargs):
        kwargs.setdefault("product", shop.shirt)
        return waiting_return(customer=kwargs.pop("by", customer), **kwargs)

    return make


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


# --- the queue ---

def test_the_queue_opens_on_returns_needing_review_oldest_first(queue, reviewer, as_user):
    newest, oldest, middle = queue(hours_old=1), queue(hours_old=30), queue(hours_old=5)
    decided = services.return_approve(return_request=queue(hours_old=50), by=reviewer)
    response = as_user(reviewer).get(CHANGELIST)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [oldest, middle, newest]
    everything = as_user(reviewer).get(CHANGELIST, {"status": "all"})
    assert decided in everything.context["cl"].result_list
    authorized = as_user(reviewer).get(CHANGELIST, {"status": "authorized"})
    assert list(authorized.context["cl"].result_list) == [decided]


def test_the_columns_show_amount_items_badge_age_and_reason(queue, shop, reviewer, as_user):
    queue(product=shop.jacket, units=2, price="120.00", tax="12.00", fraud_score=85, hours_old=30,
          reason="arrived_damaged")
    queue(fraud_score=10, hours_old=2)
    html = as_user(reviewer).get(CHANGELIST).content.decode()
    assert "264.00 USD" in html  # 2 × (120.00 + 12.00)
    assert 'class="fraud-badge fraud-high"' in html and 'class="fraud-badge fraud-low"' in html
    assert 'class="sla sla-late"' in html and "of a 24 h review SLA" in html and ">30 h<" in html
    assert 'class="sla sla-ok"' in html
    assert "Arrived damaged" in html and "Policy: always reviewed" in html


@pytest.mark.parametrize(("params", "expected"), [
    ({"reason": "arrived_damaged"}, {"damaged"}),
    ({"fraud": "high"}, {"risky"}),
    ({"fraud": "medium"}, {"laptop"}),
    ({"fraud": "low"}, {"damaged"}),
    ({"category": "electronics"}, {"laptop"}),
    ({"held_for": "high_fraud_score"}, {"risky"}),
    ({"review_mode": "manual"}, {"damaged", "risky"}),
    ({"review_mode": "risk_based"}, {"laptop"}),  # electronics: reviewed because it is above the limit
    ({"requested_at__gte": "2000-01-01"}, {"damaged", "risky", "laptop"}),
])
def test_filters(queue, shop, reviewer, as_user, params, expected):
    made = {
        "damaged": queue(reason="arrived_damaged", fraud_score=5),
        "risky": queue(fraud_score=92, held_for="high_fraud_score"),
        "laptop": queue(product=shop.laptop, price="900.00", tax="90.00", fraud_score=55),
    }
    response = as_user(reviewer).get(CHANGELIST, params)
    found = {name for name, rr in made.items() if rr in response.context["cl"].result_list}
    assert found == expected


def test_search_by_rma_order_email_or_tracking_number(queue, customer, other_customer, reviewer, as_user):
    mine = queue(by=customer)
    theirs = queue(by=other_customer)
    ReturnRequest.objects.filter(pk=theirs.pk).update(tracking_number="1ZTRACK42")
    client = as_user(reviewer)

    def found(term):
        return list(client.get(CHANGELIST, {"q": term, "status": "all"}).context["cl"].result_list)

    assert found(mine.rma_number.lower()) == [mine]
    assert found(theirs.order.external_id) == [theirs]
    assert found("ALICE@example.com") == [mine]
    assert found("1ZTRACK42") == [theirs]
    assert found("nothing-like-this") == []


def test_the_queue_reads_a_fixed_number_of_queries_whatever_the_rows(queue, reviewer, as_user,
                                                                     django_assert_max_num_queries):
    client = as_user(reviewer)
    queue()
    client.get(CHANGELIST)  # warm caches (content types, permissions)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(8):
        queue()
    assert queries() == few
    with django_assert_max_num_queries(12):
        client.get(CHANGELIST)


def test_no_unfiltered_count_of_the_whole_table(queue, reviewer, as_user, monkeypatch):
    """Every return, unfiltered: the count is PostgreSQL's estimate, as it would be for a big table."""
    monkeypatch.setattr(paginator, "EXACT_COUNT_BELOW", 1)
    queue(), queue()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE returns_returnrequest")
    with CaptureQueriesContext(connection) as captured:
        response = as_user(reviewer).get(CHANGELIST, {"status": "all"})
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper() and "returns_returnrequest" in q["sql"]]
    assert all("WHERE" in sql.upper() for sql in counts), counts
    assert response.context["cl"].paginator.is_estimate
    assert b"(estimated)" in response.content


# --- a return's page ---

@pytest.fixture
def refunded(order, customer, warehouse, django_capture_on_commit_callbacks):
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    services.return_issue_label(return_request_id=rr.pk)  # what the queued label task does
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    return ReturnRequest.objects.get(pk=rr.pk)


def test_the_page_shows_lines_refund_ledger_signals_and_the_timeline(refunded, supervisor, as_user):
    html = as_user(supervisor).get(page_of(refunded)).content.decode()
    for expected in ("shirt-blue-m — Shirt Blue M", "jacket-rain-l", "New", "Restock",  # lines
                     "Completed", "Succeeded",  # refund and its gateway attempt
                     "refunds_payable", "Refund approved",  # ledger
                     "Fraud signals",
                     "Timeline", "every line inspected", "refund created on inspection", "Label PDF",
                     "Correct…"):
        assert expected in html, expected


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_lines(shop, customer, warehouse, supervisor, as_user,
                                                                     django_capture_on_commit_callbacks):
    client = as_user(supervisor)

    def queries_for(products) -> int:
        order = factories.make_order(customer=customer, lines=[(p, 1, "20.00", "0") for p in products])
        rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
        with django_capture_on_commit_callbacks(execute=True):
            factories.inspect_all(rr, by=warehouse)
        client.get(page_of(rr))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page_of(rr)).status_code == 200
        return len(captured)

    one = queries_for([shop.shirt])
    many = queries_for([factories.product(f"sku-{i}") for i in range(6)])
    assert many == one, (one, many)
    assert one <= 25


def test_the_label_pdf(refunded, reviewer, as_user):
    response = as_user(reviewer).get(reverse("admin:returns_returnrequest_label", args=[refunded.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


# --- approve and reject ---

def test_an_agent_approves_with_a_reason_and_the_timeline_says_who_and_why(queue, reviewer, as_user):
    rr = queue()
    client = as_user(reviewer)
    response = client.post(transition_url(rr, "authorize"), {"reason": "Receipt matches."})
    assert response.status_code == 302 and response.url == page_of(rr)
    assert f"{rr.rma_number} approved." in messages_of(response)
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.AUTHORIZED and rr.decision_reason == "Receipt matches."
    timeline = client.get(page_of(rr)).context["page"].timeline
    approval = next(e for e in timeline if any(c.new == "Authorized" for c in e.changes))
    assert approval.who == "agent" and approval.why == "Receipt matches."


def test_reject_needs_a_reason(queue, reviewer, as_user):
    rr = queue()
    client = as_user(reviewer)
    response = client.post(transition_url(rr, "reject"), {"reason": "  "})
    assert response.status_code == 200 and response.context["form"].errors
    assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.REQUESTED
    client.post(transition_url(rr, "reject"), {"reason": "Worn: the tags are gone."})
    rr.refresh_from_db()
    assert rr.status == ReturnStatus.REJECTED and rr.decision_reason == "Worn: the tags are gone."
    html = client.get(page_of(rr)).content.decode()
    assert "Worn: the tags are gone." in html


@pytest.mark.parametrize("role", ["Warehouse", "Finance"])
def test_a_forged_approve_by_someone_without_the_permission_changes_nothing(queue, as_user, role):
    rr = queue()
    intruder = factories.staff_user(role, username=f"forger-{role.lower()}")
    before = rr.history.count()
    response = as_user(intruder).post(transition_url(rr, "authorize"), {"reason": "forged"})
    assert response.status_code == 302
    assert any("may not authorize" in m for m in messages_of(response))
    fresh = ReturnRequest.objects.get(pk=rr.pk)
    assert fresh.status == ReturnStatus.REQUESTED and fresh.decision_reason == ""
    assert fresh.history.count() == before


def test_a_forged_approve_above_the_agents_limit_is_refused(queue, shop, reviewer, as_user):
    rr = queue(product=shop.laptop, price="900.00", tax="90.00")
    client = as_user(reviewer)
    page = client.get(page_of(rr)).content.decode()
    assert "above your approval limit" in page and "disabled" in page  # the button is greyed out
    response = client.post(transition_url(rr, "authorize"))
    assert any("above your approval limit" in m for m in messages_of(response))
    assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.REQUESTED


def test_a_forged_transition_the_user_may_not_make_is_refused(order, customer, warehouse, reviewer, as_user):
    """An agent may not record the receipt of a parcel; the receive button is the warehouse's."""
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse)
    response = as_user(reviewer).post(transition_url(rr, "receive"))
    assert any("may not" in m for m in messages_of(response))
    assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.RECEIVED


def test_buttons_show_only_what_the_user_may_do(queue, reviewer, warehouse, as_user):
    rr = queue()
    agent_page = as_user(reviewer).get(page_of(rr))
    assert [b.name for b in agent_page.context["transition_buttons"]] == ["authorize", "reject", "cancel"]
    warehouse_page = as_user(warehouse).get(page_of(rr))
    assert warehouse_page.context["transition_buttons"] == []
    assert 'id="review-panel"' not in warehouse_page.content.decode()
    approved = services.return_approve(return_request=rr, by=reviewer)
    assert [b.name for b in as_user(warehouse).get(page_of(approved)).context["transition_buttons"]] == ["receive"]


def test_a_domain_error_is_a_message_not_a_500(queue, reviewer, as_user):
    rr = services.return_approve(return_request=queue(), by=reviewer)
    response = as_user(reviewer).post(transition_url(rr, "authorize"))
    assert response.status_code == 302
    assert any("Cannot authorize" in m for m in messages_of(response))


def test_unknown_actions_and_returns_are_404(queue, reviewer, as_user):
    rr = queue()
    client = as_user(reviewer)
    assert client.post(transition_url(rr, "issue_refund")).status_code == 404
    assert client.post(reverse("admin:returns_returnrequest_transition", args=[999999, "authorize"])).status_code \
        in (302, 404)


def test_customers_never_reach_the_back_office(queue, customer, client):
    client.force_login(customer)
    response = client.post(transition_url(queue(), "authorize"))
    assert response.status_code == 302 and "/admin/login/" in response.url


# --- bulk actions ---

def test_bulk_approve_approves_what_the_agent_may_and_reports_the_rest(queue, shop, reviewer, as_user):
    small, other_small = queue(), queue()
    large = queue(product=shop.laptop, price="900.00", tax="90.00")
    response = as_user(reviewer).post(CHANGELIST, {
        "action": "approve_selected", "_selected_action": [small.pk, other_small.pk, large.pk]})
    assert response.status_code == 302
    statuses = dict(ReturnRequest.objects.values_list("pk", "status"))
    assert statuses[small.pk] == statuses[other_small.pk] == ReturnStatus.AUTHORIZED
    assert statuses[large.pk] == ReturnStatus.REQUESTED
    texts = messages_of(response)
    assert any(text.startswith("2 returns approved") for text in texts)
    assert any(large.rma_number in text and "approval limit" in text for text in texts)


def test_bulk_reject_asks_for_a_reason_first(queue, reviewer, as_user):
    first, second = queue(), queue()
    client = as_user(reviewer)
    selected = {"action": "reject_selected", "_selected_action": [first.pk, second.pk]}
    form = client.post(CHANGELIST, selected)
    assert form.status_code == 200 and b"Reason (required)" in form.content
    assert client.post(CHANGELIST, {**selected, "apply": "1", "reason": ""}).status_code == 200
    assert set(ReturnRequest.objects.values_list("status", flat=True)) == {ReturnStatus.REQUESTED}
    done = client.post(CHANGELIST, {**selected, "apply": "1", "reason": "Outside the return window."})
    assert done.status_code == 302
    assert set(ReturnRequest.objects.values_list("decision_reason", flat=True)) == {"Outside the return window."}


def test_bulk_actions_are_offered_only_to_reviewers(queue, warehouse, as_user):
    queue()
    response = as_user(warehouse).get(CHANGELIST)
    assert response.status_code == 200
    assert "approve_selected" not in response.content.decode()


# --- corrections and parcels ---

def test_a_supervisor_corrects_an_inspection(refunded, supervisor, reviewer, as_user):
    line = refunded.lines.first()
    url = reverse("admin:returns_returnrequest_correct_inspection", args=[refunded.pk, line.pk])
    forged = as_user(reviewer).post(url, {"condition": Condition.DAMAGED, "notes": "forged"})
    assert forged.status_code == 200 and any("supervisor" in m for m in messages_of(forged))
    assert ReturnLineInspection.objects.filter(return_line=line).count() == 1
    response = as_user(supervisor).post(url, {"condition": Condition.DAMAGED, "notes": "Crack found on re-check."})
    assert response.status_code == 302
    assert ReturnLineInspection.objects.filter(return_line=line).count() == 2
    line.refresh_from_db()
    assert line.condition == Condition.DAMAGED


def test_staff_link_an_unmatched_parcel_to_its_return(order, customer, reviewer, warehouse, as_user):
    every_return_reviewed()
    rr = services.return_request_create(by=customer, order_id=order.pk,
                                        lines=[factories.line_request(order.lines.first(), 1)])
    services.return_approve(return_request=rr, by=reviewer)
    receipt = services.parcel_receive(by=warehouse, tracking_number="1ZLOST0001")
    parcel = receipt.parcel
    url = reverse("admin:returns_unmatchedparcel_link", args=[parcel.pk])
    forged = as_user(reviewer).post(url, {"rma_number": rr.rma_number})
    assert any("may not link" in m for m in messages_of(forged))
    assert UnmatchedParcel.objects.get(pk=parcel.pk).return_request_id is None
    response = as_user(warehouse).post(url, {"rma_number": rr.rma_number.lower()})
    assert response.status_code == 302 and response.url == page_of(rr)
    assert ReturnRequest.objects.get(pk=rr.pk).status == ReturnStatus.RECEIVED
    assert UnmatchedParcel.objects.get(pk=parcel.pk).return_request_id == rr.pk


def test_the_unmatched_parcels_queue_opens_on_parcels_to_link(warehouse, as_user):
    services.parcel_receive(by=warehouse, tracking_number="1ZLOST0002")
    response = as_user(warehouse).get(reverse("admin:returns_unmatchedparcel_changelist"))
    assert response.status_code == 200 and b"1ZLOST0002" in response.content
