"""The back-office pages for subscriptions and deliveries open, and hide the secret."""

import pytest
from django.contrib.auth import get_user_model

from partners.services import webhook_event_emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345678"))
    return client


def test_subscription_and_delivery_pages(admin_client_, subscribe, shop, endpoint,
                                         django_capture_on_commit_callbacks):
    subscription = subscribe(["return.authorized"])
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhook_event_emit(event_type="return.authorized", channel_id=shop.channel.pk,
                                           data={"rma_number": "RMA-FIND-ME01"})

    page = admin_client_.get(f"/admin/partners/webhooksubscription/{subscription.pk}/change/")
    assert page.status_code == 200
    assert subscription.secret not in page.content.decode()
    assert subscription.secret[-4:] in page.content.decode()

    found = admin_client_.get("/admin/partners/webhookdelivery/", {"q": "RMA-FIND-ME01"})
    assert found.status_code == 200 and f"/admin/partners/webhookdelivery/{delivery_id}/" in found.content.decode()
    detail = admin_client_.get(f"/admin/partners/webhookdelivery/{delivery_id}/change/")
    assert detail.status_code == 200 and "Attempt" in detail.content.decode()


def test_staff_can_pause_a_subscription(admin_client_, subscribe):
    subscription = subscribe(["return.authorized"])
    response = admin_client_.post(f"/admin/partners/webhooksubscription/{subscription.pk}/change/", {})

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.active is False
    assert subscription.history.first().history_change_reason == "changed"
