"""The SLO summary, the slo_report command and the admin dashboard read the same numbers."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from refunds.gateways.sandbox import SandboxGateway
from returns import reporting, services
from returns.models import ReturnRequest
from returns.tests.backoffice import every_return_reviewed, waiting_return
from tests import factories

pytestmark = pytest.mark.django_db

HOUR = 3600


@pytest.fixture
def decided(shop, customer, reviewer):
    """Returns decided after known waits: approved after 1, 2, 3 and 200 hours, rejected after 10."""
    every_return_reviewed()
    now = timezone.now()

    def waited(hours: float, *, reject: bool = False) -> ReturnRequest:
        rr = waiting_return(customer=customer, product=shop.shirt)
        if reject:
            services.return_reject(return_request=rr, by=reviewer, reason="Worn.")
        else:
            services.return_approve(return_request=rr, by=reviewer)
        # Stand in for the wait: the decision is now, the request `hours` earlier.
        ReturnRequest.objects.filter(pk=rr.pk).update(requested_at=now - timedelta(hours=hours))
        return rr

    return [waited(1), waited(2), waited(3), waited(200), waited(10, reject=True)]


def window():
    now = timezone.now()
    return {"since": now - timedelta(days=30), "until": now + timedelta(minutes=1)}


def test_processing_time_percentiles_come_from_postgres(decided):
    summary = reporting.slo_summary(**window())
    processing = summary["processing_time"]
    assert processing["decisions"] == 5 and processing["reviewed_decisions"] == 5
    assert processing["p50_seconds"] == pytest.approx(3 * HOUR, abs=60)  # median of 1, 2, 3, 10, 200 h
    # percentile_cont interpolates: p99 lies 96% of the way from 10 h to 200 h.
    assert processing["p99_seconds"] == pytest.approx((10 + 0.96 * 190) * HOUR, abs=120)
    assert processing["p50_met"] is True and processing["p99_met"] is False
    assert processing["p50_target_seconds"] == 24 * HOUR and processing["p99_target_seconds"] == 7 * 24 * HOUR


def test_approval_rate_counts_decisions_in_the_window(decided):
    approvals = reporting.slo_summary(**window())["approval_rate"]
    assert (approvals["approved"], approvals["rejected"], approvals["rate"]) == (4, 1, 0.8)
    past = reporting.slo_summary(since=timezone.now() - timedelta(days=60), until=timezone.now() - timedelta(days=30))
    assert past["approval_rate"]["rate"] is None and past["processing_time"]["p50_met"] is None


def test_refund_success_rate_paid_against_handed_to_finance(order, customer, warehouse,
                                                            django_capture_on_commit_callbacks):
    for fault in (None, "decline"):
        if fault:
            SandboxGateway.script(fault)
        rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                       lines=[(order.lines.first(), 1)])
        with django_capture_on_commit_callbacks(execute=True):
            factories.inspect_all(rr, by=warehouse)
    refunds = reporting.slo_summary(**window())["refund_success_rate"]
    assert (refunds["paid"], refunds["failed"], refunds["in_flight"]) == (1, 1, 0)
    assert refunds["rate"] == 0.5 and refunds["met"] is False and refunds["target"] == 0.99


def test_the_summary_is_plain_json(decided):
    assert json.loads(json.dumps(reporting.slo_summary(**window())))


def test_slo_report_prints_the_summary(decided, capsys):
    call_command("slo_report", "--days", "7")
    out = capsys.readouterr().out
    assert "median 3 h" in out and "MISSED" in out and "80.00%" in out
    call_command("slo_report", "--json")
    assert json.loads(capsys.readouterr().out)["approval_rate"]["approved"] == 4
    with pytest.raises(SystemExit) as exit_code:
        call_command("slo_report", "--fail-on-miss")
    assert exit_code.value.code == 1


def test_queue_health(shop, customer):
    every_return_reviewed()
    waiting_return(customer=customer, product=shop.shirt, hours_old=30)
    waiting_return(customer=customer, product=shop.shirt, hours_old=2)
    health = reporting.queue_health(now=timezone.now(), sla=timedelta(hours=24))
    assert (health["size"], health["late"]) == (2, 1)
    assert health["oldest_age_seconds"] == pytest.approx(30 * HOUR, abs=60)
    assert health["median_age_seconds"] == pytest.approx(16 * HOUR, abs=60)


def test_the_dashboard_draws_its_charts_in_the_page(decided, reviewer, client):
    client.force_login(reviewer)
    response = client.get(reverse("admin-dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 5
    assert "Returns per day by status" in html and "Top reasons" in html and "Failed refunds" in html
    assert "80.0%" in html or "80.00%" in html
    assert "<script" not in html.split("<div id=\"content-main\">")[1]  # charts need no JavaScript
    assert client.get(reverse("admin-dashboard"), {"days": "7"}).status_code == 200


def test_the_dashboard_is_linked_from_the_admin_index_and_closed_to_others(reviewer, customer, client):
    client.force_login(reviewer)
    assert reverse("admin-dashboard").encode() in client.get(reverse("admin:index")).content
    no_role = factories.UserFactory(username="temp", is_staff=True)
    client.force_login(no_role)
    assert client.get(reverse("admin-dashboard")).status_code == 403
    client.force_login(customer)
    assert client.get(reverse("admin-dashboard")).status_code == 302
