"""The back office in a real browser: a support agent logs in, filters the review queue,
approves one return, rejects another with a reason, and finds both decisions — who, when and
why — in each return's timeline. Screenshots of each step land in test-artifacts/."""

import re

import pytest
from playwright.sync_api import expect

from returns.choices import ReturnStatus
from returns.models import ReturnRequest
from returns.tests.backoffice import every_return_reviewed, waiting_return
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

APPROVAL = "Receipt and photos match the order."
REJECTION = "The jacket has been worn and washed; we cannot take it back."


@pytest.fixture
def waiting(shop, customer, other_customer):
    every_return_reviewed()
    return {
        "shirts": waiting_return(customer=customer, product=shop.shirt, units=2, hours_old=30, fraud_score=12),
        "jacket": waiting_return(customer=other_customer, product=shop.jacket, price="120.00", tax="12.00",
                                 reason="arrived_damaged", hours_old=5, fraud_score=55),
        "laptop": waiting_return(customer=customer, product=shop.laptop, price="900.00", tax="90.00",
                                 hours_old=2, fraud_score=85),
    }


@pytest.fixture
def agent(db):
    return factories.staff_user("Support agent", username="agent", first_name="Priya", last_name="Shah")


def test_an_agent_clears_the_queue_and_finds_both_decisions_in_the_history(live_server, page, screenshot,
                                                                           waiting, agent):
    shirts, jacket, laptop = waiting["shirts"], waiting["jacket"], waiting["laptop"]
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("agent")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Review queue").click()

    # The queue opens on what needs review, oldest first.
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(shirts.rma_number)
    expect(rows.first.locator(".sla-late")).to_be_visible()
    expect(page.locator(".fraud-badge.fraud-high")).to_have_text("85")
    screenshot("1-queue")

    # Filter on the reason; the damaged jacket is all that is left.
    page.locator("#changelist-filter").get_by_role("link", name="Arrived damaged").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(jacket.rma_number)
    screenshot("2-filtered")

    # Reject it, with a reason.
    page.get_by_role("link", name=jacket.rma_number).click()
    page.get_by_label(re.compile("^Reason")).fill(REJECTION)
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".messagelist")).to_contain_text(f"{jacket.rma_number} rejected.")
    screenshot("3-rejected")

    # Back in the queue, approve the shirts.
    page.get_by_role("link", name="Return requests").first.click()
    expect(rows).to_have_count(2)
    page.get_by_role("link", name=shirts.rma_number).click()
    page.get_by_label(re.compile("^Reason")).fill(APPROVAL)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messagelist")).to_contain_text(f"{shirts.rma_number} approved.")

    # The timeline says who decided, when and why.
    timeline = page.locator("#timeline")
    approval = timeline.locator("li", has_text=APPROVAL).first
    expect(approval).to_contain_text("Priya Shah (agent)")
    expect(approval).to_contain_text("status: Requested → Authorized")
    expect(approval.locator(".when")).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
    timeline.scroll_into_view_if_needed()
    screenshot("4-approved-timeline")

    # The laptop is above the agent's limit: the approve button is disabled and says why.
    page.get_by_role("link", name="Return requests").first.click()
    expect(rows).to_have_count(1)
    page.get_by_role("link", name=laptop.rma_number).click()
    expect(page.get_by_role("button", name="Approve")).to_be_disabled()
    expect(page.locator(".review-panel .blocked")).to_contain_text("a supervisor must approve it")
    screenshot("5-over-the-limit")

    # Both decisions are in the full list and in the rejected return's history.
    page.goto(f"{live_server.url}/admin/returns/returnrequest/?status=all")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    page.get_by_role("link", name=jacket.rma_number).click()
    rejection = page.locator("#timeline li", has_text=REJECTION).first
    expect(rejection).to_contain_text("Priya Shah (agent)")
    expect(rejection).to_contain_text("status: Requested → Rejected")
    screenshot("6-rejected-timeline")

    statuses = dict(ReturnRequest.objects.values_list("rma_number", "status"))
    assert statuses == {shirts.rma_number: ReturnStatus.AUTHORIZED, jacket.rma_number: ReturnStatus.REJECTED,
                        laptop.rma_number: ReturnStatus.REQUESTED}
