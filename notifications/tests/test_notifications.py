"""Customer e-mails: one per event, written with the change and sent after commit by a task
that may run any number of times; HTML and text; the label rides along with the approval."""

from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import NoReverseMatch, reverse

from notifications.choices import NotificationEvent as E
from notifications.choices import NotificationStatus
from notifications.models import Notification
from notifications.services import notification_send
from notifications.tasks import send_notification, sweep_notifications
from refunds.gateways.sandbox import SandboxGateway
from returns import services
from returns.carriers import CarrierUnavailable
from returns.choices import Condition, LabelStatus, ReviewMode
from tests import factories
from tests.celery import queued_not_run

pytestmark = pytest.mark.django_db


def messages_for(rr) -> list:
    return [message for message in mail.outbox if message.extra_headers.get("X-RMA") == rr.rma_number]


@pytest.fixture
def manual_review(shop):
    return factories.policy(None, review_mode=ReviewMode.MANUAL)


def test_a_customer_hears_of_every_step_once(order, customer, reviewer, warehouse, manual_review,
                                             django_capture_on_commit_callbacks):
    shirt = order.lines.first()
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[factories.line_request(shirt, 1)])
    (requested,) = messages_for(rr)
    assert requested.to == ["alice@example.com"] and rr.rma_number in requested.subject
    assert "We have your request" in requested.body

    with django_capture_on_commit_callbacks(execute=True):
        services.return_approve(return_request=rr, by=reviewer)
    approved = messages_for(rr)[1]
    assert "approved" in approved.subject
    (html, mimetype), = approved.alternatives
    assert mimetype == "text/html" and rr.rma_number in html and "<p>" in html
    (filename, pdf, content_type), = approved.attachments
    assert filename == f"return-label-{rr.rma_number}.pdf" and content_type == "application/pdf"
    assert pdf.startswith(b"%PDF")
    rr.refresh_from_db()
    assert rr.tracking_number in approved.body

    with django_capture_on_commit_callbacks(execute=True):
        services.return_mark_in_transit(return_request=rr)
        services.return_receive(return_request=rr, by=warehouse)
    with django_capture_on_commit_callbacks(execute=True):
        services.return_inspect(return_request=rr, by=warehouse,
                                inspections={rr.lines.get().pk: {"condition": Condition.NEW}})
    subjects = [message.subject for message in messages_for(rr)]
    assert len(subjects) == 4
    assert "received" in subjects[2] and "refund" in subjects[3]
    refunded = messages_for(rr)[3]
    assert "$27.00" in refunded.body and "original payment" in refunded.body
    assert set(Notification.objects.filter(return_request=rr).values_list("event", "status")) == {
        (E.RETURN_REQUESTED, "sent"), (E.RETURN_AUTHORIZED, "sent"), (E.RETURN_RECEIVED, "sent"),
        (E.RETURN_REFUNDED, "sent")}


def test_running_the_task_again_sends_nothing_more(order, customer, reviewer, manual_review,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    assert len(messages_for(rr)) == 1
    # A redelivered message, a second worker, the sweeper: the same event again.
    assert send_notification.delay(rr.pk, E.RETURN_REQUESTED).get() == "sent"
    send_notification.apply(args=(rr.pk, E.RETURN_REQUESTED))
    assert sweep_notifications(older_than_seconds=0) == 0
    assert len(messages_for(rr)) == 1
    # A repeat of the event itself writes no second row.
    from notifications.services import notification_record

    with django_capture_on_commit_callbacks(execute=True):
        notification_record(return_request_id=rr.pk, event=E.RETURN_REQUESTED)
    assert Notification.objects.filter(return_request=rr).count() == 1
    assert len(messages_for(rr)) == 1


def test_an_immediate_decision_is_the_only_news(order, customer, django_capture_on_commit_callbacks):
    """Authorised at once: "we have your request" would arrive with the approval, so it is skipped."""
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    (approved,) = messages_for(rr)
    assert "approved" in approved.subject and approved.attachments
    skipped = Notification.objects.get(return_request=rr, event=E.RETURN_REQUESTED)
    assert skipped.status == NotificationStatus.SKIPPED and "authorized" in skipped.skipped_reason


def test_a_rejection_says_why(order, customer, reviewer, manual_review, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        services.return_reject(return_request=rr, by=reviewer, reason="Worn & washed <b>twice</b>")
    rejected = messages_for(rr)[-1]
    assert rr.rma_number in rejected.subject
    assert "Worn & washed <b>twice</b>" in rejected.body  # the text part is not HTML-escaped
    assert "Worn &amp; washed &lt;b&gt;twice&lt;/b&gt;" in rejected.alternatives[0][0]  # the HTML part is


def test_the_approval_waits_for_its_label(order, customer, monkeypatch, django_capture_on_commit_callbacks):
    from returns import carriers

    class Down:
        def create_label(self, *, rma_number, mode="label"):
            raise CarrierUnavailable("carrier down")

    monkeypatch.setattr(carriers, "get_carrier", lambda: Down())
    with queued_not_run(), django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    assert notification_send(return_request_id=rr.pk, event=E.RETURN_AUTHORIZED) == "waiting"
    assert messages_for(rr) == []

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        services.return_issue_label(return_request_id=rr.pk)  # issuing it sends the approval
    (approved,) = messages_for(rr)
    assert approved.attachments
    rr.refresh_from_db()
    assert rr.label_status == LabelStatus.ISSUED


def test_a_fallback_to_store_credit_is_explained(shop, customer, warehouse, django_capture_on_commit_callbacks):
    order = factories.make_order(customer=customer, lines=[(shop.shirt, 2, "25.00", "2.00")], charge_days_ago=200)
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    notified = dict(Notification.objects.filter(return_request=rr).values_list("event", "status"))
    assert notified[E.REFUND_FALLBACK] == NotificationStatus.SENT
    (told,) = [m for m in messages_for(rr) if "store credit" in m.subject]
    assert "We could not send $27.00 back to your original payment method" in told.body


def test_an_smtp_failure_leaves_it_pending_for_a_retry(order, customer, django_capture_on_commit_callbacks,
                                                      monkeypatch):
    with queued_not_run(), django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
        services.return_issue_label(return_request_id=rr.pk)

    def refuse(self, *args, **kwargs):
        raise SMTPServerDisconnected("gone")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with pytest.raises(SMTPServerDisconnected):
        notification_send(return_request_id=rr.pk, event=E.RETURN_AUTHORIZED)
    failed = Notification.objects.get(return_request=rr, event=E.RETURN_AUTHORIZED)
    assert (failed.status, failed.attempts) == (NotificationStatus.PENDING, 1) and "gone" in failed.last_error
    monkeypatch.undo()
    assert sweep_notifications(older_than_seconds=0) == 1  # re-driven (eagerly, here)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == (NotificationStatus.SENT, 2, "")
    assert len(messages_for(rr)) == 1


def test_no_address_no_email(shop, django_capture_on_commit_callbacks):
    nobody = factories.UserFactory(username="no-mail", email="")
    order = factories.make_order(customer=nobody, lines=[(shop.shirt, 1, "25.00", "2.00")])
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=nobody, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    authorised = Notification.objects.get(return_request=rr, event=E.RETURN_AUTHORIZED)
    assert authorised.status == NotificationStatus.SKIPPED and mail.outbox == []


@override_settings(SITE_URL="https://returns.example.com")
def test_emails_link_to_the_portal(order, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    try:
        path = reverse("portal:return", args=[rr.rma_number])
    except NoReverseMatch:
        pytest.skip("no customer portal to link to")
    (approved,) = messages_for(rr)
    assert f"https://returns.example.com{path}" in approved.body
    assert f'href="https://returns.example.com{path}"' in approved.alternatives[0][0]


def test_a_declined_refund_sends_no_refunded_email(order, customer, warehouse, django_capture_on_commit_callbacks):
    SandboxGateway.script("decline")
    rr = factories.received_return(order=order, customer=customer, warehouse=warehouse,
                                   lines=[(order.lines.first(), 1)])
    with django_capture_on_commit_callbacks(execute=True):
        factories.inspect_all(rr, by=warehouse)
    assert not Notification.objects.filter(return_request=rr, event=E.RETURN_REFUNDED).exists()


def test_a_returnless_approval_says_keep_it_and_sends_no_label(order, customer, django_capture_on_commit_callbacks):
    from decimal import Decimal

    factories.policy(None, returnless_below=Decimal("30.00"))
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk,
                                            lines=[factories.line_request(order.lines.first(), 1)])
    (approved,) = [m for m in messages_for(rr) if "approved" in m.subject]
    assert "keep the items" in approved.subject and "label is inside" not in approved.subject
    assert "no need to send anything back" in approved.body
    assert "label" not in approved.body.replace("no label to print", "")
    assert "Please pack" not in approved.body and not approved.attachments
    (html, _), = approved.alternatives
    assert "no need to send anything back" in html and "Please pack" not in html


def test_a_mixed_approval_names_what_to_keep_and_lists_only_what_to_pack(
        order, customer, django_capture_on_commit_callbacks):
    from decimal import Decimal

    factories.policy(None, returnless_below=Decimal("30.00"))
    shirts, jacket = order.lines.order_by("pk")
    with django_capture_on_commit_callbacks(execute=True):
        rr = services.return_request_create(by=customer, order_id=order.pk, lines=[
            factories.line_request(shirts, 1), factories.line_request(jacket, 1)])
    (approved,) = [m for m in messages_for(rr) if "approved" in m.subject]
    shirt, coat = shirts.product.name, jacket.product.name
    assert "label is inside" in approved.subject and approved.attachments
    assert f"Keep {shirt}: no need to send it back." in approved.body
    packing = approved.body.split("Please pack these items:")[1]
    assert f"- {coat} × 1" in packing and f"- {shirt}" not in packing
    (html, _), = approved.alternatives
    assert f"Keep {shirt}: no need to send it back." in html
    assert html.count(shirt) == 1 and coat in html.split("Please pack these items:")[1]
