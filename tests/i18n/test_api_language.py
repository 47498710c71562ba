"""The API answers customer-facing messages in the caller's Accept-Language; codes never change."""

import pytest

from core.i18n import customer_language_set
from tests import factories
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


def _post(api, body, language=None):
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return api.post("/api/v1/returns", body, format="json", **headers)


@pytest.mark.parametrize(("language", "title", "detail"), [
    (None, "Not found", "We could not find that order on your account."),
    ("de", "Nicht gefunden", "Wir konnten diese Bestellung in Ihrem Konto nicht finden."),
    ("de-AT,de;q=0.9", "Nicht gefunden", "Wir konnten diese Bestellung in Ihrem Konto nicht finden."),
    ("fr-FR", "Introuvable", "Nous n’avons pas trouvé cette commande dans votre compte."),
    ("es", "Not found", "We could not find that order on your account."),  # not offered: English
])
def test_a_problem_detail_is_in_the_callers_language(customer, other_customer, order, language, title, detail):
    """Bob asks to return Alice's order: 404, in his language, same code in every language."""
    response = _post(client_for(other_customer), {"order_id": order.pk, "lines": [
        factories.line_request(order.lines.first())]}, language)
    problem = response.json()
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert (problem["code"], problem["title"], problem["detail"]) == ("order_not_found", title, detail)
    assert response["Content-Language"] == (language or "en")[:2].replace("es", "en")


def test_a_refused_choice_is_explained_in_german(customer, order):
    response = _post(client_for(customer), {"order_id": order.pk, "refund_method": "cheque",
                                            "lines": [factories.line_request(order.lines.first())]}, "de")
    problem = response.json()
    assert response.status_code == 400 and problem["code"] == "validation_failed"
    assert (problem["title"], problem["detail"]) == ("Die Anfrage ist ungültig",
                                                     "Einige Felder sind ungültig; siehe „errors“.")
    assert problem["errors"] == [{"field": "refund_method", "code": "invalid_choice",
                                  "detail": "\"cheque\" ist keine gültige Option."}]


def test_field_errors_are_in_french(customer, order):
    response = _post(client_for(customer), {"lines": []}, "fr")
    problem = response.json()
    assert response.status_code == 400 and problem["code"] == "validation_failed"
    assert problem["detail"] == "Certains champs ne sont pas valides ; voir « errors »."
    assert {"field": "order_id", "code": "required", "detail": "Ce champ est obligatoire."} in problem["errors"]


def test_the_api_keeps_to_accept_language_not_the_stored_choice(customer, other_customer, order):
    """A customer's portal choice is for pages and e-mails; an API client says what it wants per call,
    even with the session cookie of the portal."""
    from rest_framework.test import APIClient

    customer_language_set(user=other_customer, language="de")
    api = APIClient()
    api.force_login(other_customer)
    response = _post(api, {"order_id": order.pk, "lines": [factories.line_request(order.lines.first())]}, "en")
    assert response.json()["detail"] == "We could not find that order on your account."
    assert "django_language" not in response.cookies
