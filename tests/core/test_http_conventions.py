"""Conventions every route shares: error shape, request ids, security headers, CORS, body cap."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import core.health
from core.errors import ServiceUnavailableError
from core.middleware import client_ip
from Login_module.errors import SmsProviderUnavailable
from tests.support.http import assert_error
from tests.support.login import login


def test_unknown_route_is_a_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/no/such/route")
    assert_error(response, 404, "not_found")
    assert response.headers["x-request-id"]


def test_wrong_method_is_405_in_the_error_shape(client: TestClient) -> None:
    assert_error(client.delete("/health"), 405, "method_not_allowed")


def test_validation_errors_list_field_message_and_type(client: TestClient) -> None:
    response = client.post("/auth/verify-otp", json={"phone": "9876543210", "otp": "12"})
    body = assert_error(response, 422, "validation_error")
    assert body["details"][0]["field"] == "otp"
    assert set(body["details"][0]) == {"field", "message", "type"}


def test_malformed_json_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/auth/send-otp", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "validation_error")


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = client.get("/health", headers={"X-Request-ID": "bad id\twith junk"})
    assert generated.headers["x-request-id"] != "bad id\twith junk"
    assert len(generated.headers["x-request-id"]) == 32


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (client.get("/health"), client.get("/nope")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_authenticated_json_is_not_cached(client: TestClient) -> None:
    me = login(client)
    assert client.get("/auth/me", headers=me.headers).headers["cache-control"] == "no-store"


def test_cors_allows_only_the_configured_origins(client: TestClient) -> None:
    preflight = {
        "Origin": "https://app.nucleotide.example",
        "Access-Control-Request-Method": "POST",
    }
    allowed = client.options("/auth/send-otp", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://app.nucleotide.example"
    refused = client.options(
        "/auth/send-otp",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers


def test_oversized_json_body_is_refused_with_413(client: TestClient, settings) -> None:
    body = b'{"phone": "' + b"9" * (settings.MAX_JSON_BODY_BYTES + 10) + b'"}'
    response = client.post(
        "/auth/send-otp", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


def test_oversized_chunked_body_is_refused_with_413(client: TestClient, settings) -> None:
    """No Content-Length to refuse up front: the cap counts the bytes as they stream in."""

    def chunks() -> Iterator[bytes]:
        yield b'{"phone": "'
        for _ in range(settings.MAX_JSON_BODY_BYTES // 65536 + 2):
            yield b"9" * 65536
        yield b'"}'

    response = client.post(
        "/auth/send-otp", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "payload_too_large")


def test_a_service_unavailable_error_carries_retry_after() -> None:
    assert int(ServiceUnavailableError().headers["Retry-After"]) >= 1
    assert int(SmsProviderUnavailable().headers["Retry-After"]) >= 1


def test_unexpected_error_is_a_500_without_internals(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode() -> dict:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(core.health, "_checks", explode)
    response = client.get("/health", headers={"X-Request-ID": "trace-me"})
    body = assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert body["details"] == []
    assert response.headers["x-request-id"] == "trace-me"


def test_index_lists_the_modules(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["version"] == "3.0.0"
    assert {"auth", "sessions", "profile", "audit", "health"} <= set(body["modules"])


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/auth/send-otp" in schema["paths"]


def scope_from(peer: str, forwarded: str | None) -> dict:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"type": "http", "client": (peer, 5000), "headers": headers}


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "6.6.6.6, 203.0.113.7", "192.0.2.10"),  # proxies not trusted: the peer
        (1, None, "192.0.2.10"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client wrote 6.6.6.6
        (1, "6.6.6.6,   203.0.113.7 ", "203.0.113.7"),
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.5", "203.0.113.7"),  # CDN then load balancer
        (2, "203.0.113.7", "203.0.113.7"),  # fewer entries than proxies: the leftmost
        (1, "6.6.6.6, not-an-address", "192.0.2.10"),
        (1, "", "192.0.2.10"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_counts_trusted_proxies_from_the_right(
    hops: int, forwarded: str | None, expected: str
) -> None:
    assert client_ip(scope_from("192.0.2.10", forwarded), hops) == expected
