"""The OpenAPI schema documents the errors every route can answer, in the shape they have."""

from typing import Any

from fastapi.testclient import TestClient

from core.openapi import STANDARD_ERRORS, ErrorOut
from main import app
from tests.helpers import login

ERROR_REF = "#/components/schemas/ErrorOut"


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in app.openapi()["paths"].items()
        for method, op in ops.items()
    ]


def error_schema(op: dict[str, Any], status: int) -> str | None:
    response = op["responses"].get(str(status), {})
    return response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")


def test_every_route_documents_the_standard_errors_in_the_error_shape() -> None:
    missing = [
        f"{method} {path} {status}"
        for method, path, op in operations()
        for status in STANDARD_ERRORS
        if error_schema(op, status) != ERROR_REF and (path, status) != ("/health/ready", 503)
    ]
    assert missing == []


def test_fastapis_own_validation_error_shape_is_not_documented() -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ErrorOut" in schemas


def test_rate_limits_and_unavailability_document_retry_after() -> None:
    for _method, path, op in operations():
        for status in ("429", "503"):
            if (path, status) != ("/health/ready", "503"):  # its own body: the health report
                assert "Retry-After" in op["responses"][status].get("headers", {})


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
    assert error_schema(op, 415) == ERROR_REF
