"""Each operation documents the error codes its own code can answer (core/error_docs.py derives
them), and the answers the API really gives are among them.

Every test of the suite checks the second half through `tests/support/documented_errors.py`;
here the derivation is checked on routes whose codes are known, every operation is called as
an anonymous caller, a user and an admin, and a few deep refusals are driven over HTTP."""

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from core.error_docs import handler_answers
from main import app
from tests.support.collection import TUESDAY, book, fix_clock, move
from tests.support.documented_errors import Documented, ErrorAnswer, error_answer, undocumented
from tests.support.http import assert_error
from tests.support.login import ADMIN_PHONE, LoggedIn, login
from tests.support.orders import checkout, make_shop, shopper
from tests.support.report import move_item, paid_order

COUPON_CODES = {
    "coupon_expired",
    "coupon_invalid",
    "coupon_min_order",
    "coupon_not_applicable",
    "coupon_usage_exceeded",
}
AUTHENTICATION_CODES = {"not_authenticated", "token_invalid", "token_expired", "session_revoked"}
RESCHEDULE = ("PUT", "/orders/{order_id}/collection/{collection_id}")


def codes(documented: Documented, method: str, path: str) -> dict[int, set[str]]:
    return documented[(method, path)]


def all_codes(documented: Documented, method: str, path: str) -> set[str]:
    return set().union(*codes(documented, method, path).values())


def refused_as_documented(response: Any, status: int, code: str, documented: Documented) -> None:
    """The answer is this refusal, and the schema documents it for the operation."""
    assert_error(response, status, code)
    answer = error_answer(response)
    assert answer is not None
    assert undocumented(answer, documented) is None


# --- the derivation, on routes whose codes are known ------------------------------------------


def test_checkout_documents_its_refusals_down_to_the_coupon_rules(
    documented_error_codes: Documented,
) -> None:
    checkout_codes = codes(documented_error_codes, "POST", "/orders")
    assert {"consent_required", "cart_empty", "cart_changed", "product_unavailable"} <= (
        checkout_codes[409]
    )
    assert checkout_codes[400] >= COUPON_CODES | {"bad_request"}  # and an unparsable body
    assert {"idempotency_key_reused", "validation_error"} <= checkout_codes[422]
    assert "payment_provider_unavailable" in checkout_codes[503]
    assert checkout_codes[401] == AUTHENTICATION_CODES
    assert 403 not in checkout_codes  # no admin check, no 403 anywhere on its way


def test_the_collection_reschedule_documents_the_limit_and_the_visit_that_cannot_move(
    documented_error_codes: Documented,
) -> None:
    reschedule = codes(documented_error_codes, *RESCHEDULE)
    assert {"reschedule_limit_reached", "collection_not_movable", "slot_full"} <= reschedule[409]
    assert {"collection_not_found", "order_not_found"} <= reschedule[404]
    assert "invalid_collection_slot" in reschedule[422]


def test_codes_raised_inside_helpers_and_dependencies_are_found(
    documented_error_codes: Documented,
) -> None:
    # `raise OrderNotFound()` is in Orders_module.service.get_order, not in the handler.
    assert codes(documented_error_codes, "GET", "/orders/{order_id}")[404] == {"order_not_found"}
    # The admin check is a dependency (deps.AdminUser).
    assert codes(documented_error_codes, "GET", "/audit")[403] == {"admin_required"}
    assert codes(documented_error_codes, "GET", "/metrics")[403] == {"metrics_forbidden"}


def test_validators_that_answer_a_product_code_are_documented_as_422(
    documented_error_codes: Documented,
) -> None:
    address = codes(documented_error_codes, "POST", "/address")[422]
    assert {"invalid_pincode", "invalid_state", "invalid_phone", "validation_error"} <= address
    assert {"invalid_price", "invalid_plan_members", "invalid_slug"} <= codes(
        documented_error_codes, "POST", "/products"
    )[422]


def test_each_route_documents_its_own_codes_not_everyones(
    documented_error_codes: Documented,
) -> None:
    public = codes(documented_error_codes, "GET", "/categories")
    assert set(public) == {500, 503}  # no parameters, no login, nothing of its own refuses
    assert not all_codes(documented_error_codes, "GET", "/member") & (COUPON_CODES | {"slot_full"})
    assert 403 not in codes(documented_error_codes, "GET", "/member")
    assert "reschedule_limit_reached" not in all_codes(documented_error_codes, "GET", "/orders")


def test_the_answers_of_the_error_handlers_are_documented_for_every_operation() -> None:
    generic = {(a.status, a.code) for a in handler_answers(app.exception_handlers.values())}
    assert generic == {(500, "internal_error"), (503, "service_unavailable"), (503, "try_again")}


def test_the_audit_names_an_undocumented_code_and_ignores_what_is_no_operation(
    documented_error_codes: Documented,
) -> None:
    made_up = ErrorAnswer("POST", "/orders", 409, "made_up")
    assert undocumented(made_up, documented_error_codes) == (
        "POST /orders: 409 made_up is not among "
        f"{sorted(codes(documented_error_codes, 'POST', '/orders')[409])}"
    )
    teapot = ErrorAnswer("GET", "/orders/7", 418, "teapot")
    assert undocumented(teapot, documented_error_codes) == (
        "GET /orders/{order_id}: status 418 (teapot) is not documented"
    )
    assert undocumented(ErrorAnswer("GET", "/no/such/path", 404, "not_found"), {}) is None


# --- what the API answers, over HTTP ----------------------------------------------------------

SAMPLE_PATH_VALUES = {"code": "platform", "day": "2026-12-08", "counsellor_id": "ABCDEF"}


def sample_path(path: str, operation: dict[str, Any]) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            name = parameter["name"]
            value = SAMPLE_PATH_VALUES.get(name, "1" if "_id" in name else "x")
            path = path.replace(f"{{{name}}}", value)
    return path


class Caller:
    """Anonymous, or logged in again whenever an earlier call ended its session."""

    def __init__(self, client: TestClient, phone: str | None) -> None:
        self.client, self.phone = client, phone
        self.me: LoggedIn | None = None

    def headers(self) -> dict[str, str]:
        if self.phone is None:
            return {}
        if self.me is None:
            self.me = login(self.client, self.phone)
        return self.me.headers

    def answered(self, response: Any) -> None:
        if response.status_code == 401:
            self.me = None


def test_every_operation_answers_only_documented_codes_to_anyone(
    client: TestClient,
    documented_error_codes: Documented,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Logging out (or revoking the session) is swept too: the caller logs in again.
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_HOUR", 1000)
    callers = [Caller(client, None), Caller(client, "+919876564001"), Caller(client, ADMIN_PHONE)]
    seen: set[tuple[str, str, int, str]] = set()
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for caller in callers:
                body = {} if "requestBody" in operation else None
                response = client.request(
                    method, sample_path(path, operation), headers=caller.headers(), json=body
                )
                caller.answered(response)
                answer = error_answer(response)
                if answer is not None:
                    assert undocumented(answer, documented_error_codes) is None
                    seen.add((method.upper(), path, answer.status, answer.code))
    # The sweep reaches the refusals every client meets first.
    statuses = {status for *_, status, _code in seen}
    assert {401, 403, 404, 422} <= statuses
    assert ("GET", "/audit", 403, "admin_required") in seen


@pytest.fixture
def shop_clock(monkeypatch: pytest.MonkeyPatch, razorpay: Any) -> None:
    fix_clock(monkeypatch)


def test_deep_refusals_are_documented_for_their_operation(
    client: TestClient, db: Session, documented_error_codes: Documented, shop_clock: None
) -> None:
    shop = make_shop(db)
    without_consent = shopper(client, db, "+919876564002", shop.single, consent=False)
    empty = login(client, "+919876564003")
    refusals = [
        (checkout(client, without_consent), 409, "consent_required"),
        (client.post("/orders", headers=empty.headers), 409, "cart_empty"),
        (
            client.post("/cart/coupon", headers=without_consent.headers, json={"code": "NOPE"}),
            400,
            "coupon_invalid",
        ),
        (
            client.post("/auth/verify-otp", json={"phone": "+919876564004", "otp": "000000"}),
            400,
            "otp_expired",
        ),
    ]
    for response, status, code in refusals:
        refused_as_documented(response, status, code, documented_error_codes)

    admin = login(client, ADMIN_PHONE)
    buyer, order = paid_order(client, db, "+919876564005")
    visit = book(client, buyer, order, TUESDAY, "09:00").json()
    for day, start in ((9, "16:00"), (10, "09:00"), (11, "11:00")):
        moved = move(client, buyer, order, visit["id"], date(2026, 12, day), start)
        assert moved.status_code == 200, moved.text
    fourth = move(client, buyer, order, visit["id"], date(2026, 12, 12), "07:00")
    refused_as_documented(fourth, 409, "reschedule_limit_reached", documented_error_codes)

    other, placed = paid_order(client, db, "+919876564006", members=2)
    booked = book(client, other, placed, TUESDAY, "09:00").json()
    collected = move_item(client, admin, placed["id"], placed["items"][0]["id"], "sample_collected")
    assert collected.status_code == 200, collected.text
    stuck = move(client, other, placed, booked["id"], date(2026, 12, 9), "16:00")
    refused_as_documented(stuck, 409, "collection_not_movable", documented_error_codes)
