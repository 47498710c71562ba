"""The OpenAPI links (core/api/links.py) partners read in /api/schema/: every operation is on one,
and each names parameters its target has and values its source's answer holds."""

import pytest
from rest_framework.test import APIClient

from core.api.links import add_links

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/?format=json").json()


def _operations(document):
    return {operation["operationId"]: (f"{method.upper()} {path}", operation)
            for path, operations in document["paths"].items() for method, operation in operations.items()}


def _links(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status_code, response in operation["responses"].items():
                for name, link in response.get("links", {}).items():
                    yield f"{method.upper()} {path}", status_code, response, name, link


def _follow(document, schema, pointer: str):
    """The schema of what `pointer` (a JSON pointer into a body) names, or None."""
    for part in filter(None, pointer.split("/")):
        while "$ref" in schema or "allOf" in schema:
            schema = (document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema
                      else schema["allOf"][0])
        schema = schema.get("items") if part.isdigit() else schema.get("properties", {}).get(part)
        if schema is None:
            return None
    return schema


def test_every_operation_is_on_a_link(document):
    linked = {source for source, *_ in _links(document)}
    linked |= {_operations(document)[link["operationId"]][0] for *_, link in _links(document)}
    assert linked == {label for label, _ in _operations(document).values()}


def test_each_link_names_parameters_its_target_has_and_values_its_source_answers_with(document):
    operations = _operations(document)
    wrong = []
    for source, _, response, name, link in _links(document):
        target = operations[link["operationId"]][1]
        parameters = {parameter["name"] for parameter in target.get("parameters", [])}
        body = target.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        body_fields = link.get("requestBody") if isinstance(link.get("requestBody"), dict) else {}
        expressions = [*link.get("parameters", {}).values(), *body_fields.values()]
        wrong += [f"{source} {name}: {parameter}" for parameter in link.get("parameters", {})
                  if parameter not in parameters]
        wrong += [f"{source} {name}: body {field}" for field in body_fields if _follow(document, body, field) is None]
        answer = response.get("content", {}).get("application/json", {}).get("schema", {})
        wrong += [f"{source} {name}: {expression}" for expression in expressions
                  if expression.startswith("$response.body#")
                  and _follow(document, answer, expression.removeprefix("$response.body#")) is None]
    assert not wrong


def test_a_link_to_an_operation_the_schema_does_not_have_is_left_out():
    token = {"operationId": "auth_token", "responses": {"200": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/TokenResponse"}}}}}}
    without = add_links({"paths": {"/api/v1/auth/token": {"post": token},
                                   "/api/v1/returns": {"get": {"operationId": "returns_list", "responses": {}}}}},
                        None, None, True)
    assert set(without["paths"]["/api/v1/auth/token"]["post"]["responses"]["200"]["links"]) == {"ListMyReturns"}

    revoke = {"operationId": "auth_token_revoke", "responses": {}}
    both = add_links({"paths": {"/api/v1/auth/token": {"post": token, "delete": revoke}}}, None, None, True)
    assert both["paths"]["/api/v1/auth/token"]["post"]["responses"]["200"]["links"] == {
        "RevokeToken": {"operationId": "auth_token_revoke"}}
