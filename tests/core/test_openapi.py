"""The OpenAPI schema documents the errors each route can answer, in the shape they have, and
names each operation readably."""

import re
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient

from core.openapi import ErrorOut
from main import app
from tests.support.login import login

ERROR_REF = "#/components/schemas/ErrorOut"
OWN_BODY = {
    ("/health/ready", "503"),  # readiness answers its health report, not an error
    # A person opened a newsletter link that does not work: a page saying so (HTML).
    ("/newsletter/confirm", "400"),
    ("/newsletter/unsubscribe", "400"),
}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in app.openapi()["paths"].items()
        for method, op in ops.items()
    ]


def error_schema(op: dict[str, Any], status: int | str) -> dict[str, Any]:
    response = op["responses"].get(str(status), {})
    return response.get("content", {}).get("application/json", {}).get("schema", {})


def documented_codes(op: dict[str, Any], status: int | str) -> list[str]:
    """The `code` values an operation documents for one status (the enum on the error shape)."""
    schema = error_schema(op, status)
    shape, codes = schema.get("allOf", [{}, {}])
    assert shape == {"$ref": ERROR_REF}, schema
    return list(codes["properties"]["code"]["enum"])


def test_every_error_answer_is_the_error_shape_with_its_codes_and_an_example_of_each() -> None:
    for method, path, op in operations():
        for status, response in op["responses"].items():
            if int(status) < 400 or (path, status) in OWN_BODY:
                continue
            codes = documented_codes(op, status)
            examples = response["content"]["application/json"]["examples"]
            assert codes and sorted(codes) == sorted(examples), f"{method} {path} {status}"
            for code, example in examples.items():
                assert ErrorOut.model_validate(example["value"]).code == code
            assert all(f"`{code}`" in response["description"] for code in codes)


def test_every_operation_documents_the_answers_any_handler_can_give() -> None:
    for method, path, op in operations():
        assert "internal_error" in documented_codes(op, 500), f"{method} {path}"
        if (path, "503") not in OWN_BODY:
            assert {"service_unavailable", "try_again"} <= set(documented_codes(op, 503))


def test_fastapis_own_validation_error_shape_is_not_documented() -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ErrorOut" in schemas


def test_rate_limits_and_unavailability_document_retry_after() -> None:
    for _method, path, op in operations():
        for status in ("429", "503"):
            if status in op["responses"]:
                assert "Retry-After" in op["responses"][status].get("headers", {}), path


def test_real_errors_match_the_documented_model(client: TestClient) -> None:
    me = login(client, "+919876563001")
    answers = [
        client.get("/member/999999", headers=me.headers),
        client.get("/member"),
        client.post("/member", headers=me.headers, json={"name": ""}),
        client.get("/audit", headers=me.headers),
    ]
    assert [a.status_code for a in answers] == [404, 401, 422, 403]
    for answer in answers:
        ErrorOut.model_validate(answer.json())


def test_photo_upload_documents_its_unsupported_type_answer() -> None:
    op = app.openapi()["paths"]["/profile/photo"]["post"]
    assert documented_codes(op, 415) == ["unsupported_image_type"]


def test_operation_ids_are_the_tag_and_the_handler_and_unique() -> None:
    ids = [op["operationId"] for _method, _path, op in operations()]
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", i) for i in ids), ids
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    paths = app.openapi()["paths"]
    assert paths["/orders"]["post"]["operationId"] == "orders_checkout"
    assert (
        paths["/orders/{order_id}/collection/{collection_id}"]["put"]["operationId"]
        == "collection_reschedule_collection"
    )
    assert paths["/auth/send-otp"]["post"]["operationId"] == "auth_send_login_code"
