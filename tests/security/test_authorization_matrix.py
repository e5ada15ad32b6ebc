"""Who may call what: every route in the app has a decision here, and each decision is tested
for an anonymous caller, a user, another user (for things that belong to someone) and an admin.

A new route without an entry in ACCESS fails `test_every_route_has_an_access_decision`.
"""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from main import app
from Notification_module.models import NotificationEvent
from Notification_module.service import notify
from tests.fakes.razorpay import FakeRazorpay
from tests.support.factories.address import make_address
from tests.support.factories.consent import confirmed_request, grant, make_consent_type
from tests.support.factories.member import make_member
from tests.support.login import LoggedIn, login
from tests.support.orders import checkout, make_shop, shopper

PUBLIC, USER, OWNED, ADMIN = "public", "user", "owned", "admin"
INTERNAL = "internal"  # no token; only from the monitoring network (METRICS_ALLOWED_IPS)

# OWNED: a logged-in user's route about one of *their* things; someone else's answers 404.
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/metrics"): INTERNAL,
    ("GET", "/"): PUBLIC,
    ("POST", "/auth/send-otp"): PUBLIC,
    ("POST", "/auth/verify-otp"): PUBLIC,
    ("POST", "/auth/refresh"): PUBLIC,
    ("POST", "/auth/logout"): USER,
    ("GET", "/auth/me"): USER,
    ("GET", "/sessions"): USER,
    ("DELETE", "/sessions"): USER,
    ("DELETE", "/sessions/{session_id}"): OWNED,
    ("GET", "/profile"): USER,
    ("PUT", "/profile"): USER,
    ("POST", "/profile/photo"): USER,
    ("DELETE", "/profile/photo"): USER,
    ("GET", "/profile/export"): USER,
    ("DELETE", "/profile"): USER,
    ("POST", "/profile/phone"): USER,
    ("POST", "/profile/phone/confirm"): USER,
    ("POST", "/profile/phone/claim"): PUBLIC,
    ("POST", "/profile/admin/users/{user_id}/phone"): ADMIN,
    ("GET", "/categories"): PUBLIC,
    ("POST", "/categories"): ADMIN,
    ("POST", "/categories/bootstrap"): ADMIN,
    ("PUT", "/categories/{category_id}"): ADMIN,
    ("GET", "/products"): PUBLIC,
    ("POST", "/products"): ADMIN,
    ("GET", "/products/{product_ref}"): PUBLIC,
    ("PUT", "/products/{product_id}"): ADMIN,
    ("DELETE", "/products/{product_id}"): ADMIN,
    ("GET", "/banners"): PUBLIC,
    ("GET", "/banners/admin"): ADMIN,
    ("POST", "/banners/admin"): ADMIN,
    ("GET", "/banners/admin/{banner_id}"): ADMIN,
    ("PUT", "/banners/admin/{banner_id}"): ADMIN,
    ("DELETE", "/banners/admin/{banner_id}"): ADMIN,
    ("POST", "/banners/admin/{banner_id}/image"): ADMIN,
    ("GET", "/member"): USER,
    ("POST", "/member"): USER,
    ("GET", "/member/{member_id}"): OWNED,
    ("PUT", "/member/{member_id}"): OWNED,
    ("DELETE", "/member/{member_id}"): OWNED,
    ("GET", "/address/serviceability"): PUBLIC,
    ("GET", "/address/admin/locations"): ADMIN,
    ("POST", "/address/admin/locations"): ADMIN,
    ("PUT", "/address/admin/locations/{location_id}"): ADMIN,
    ("GET", "/address"): USER,
    ("POST", "/address"): USER,
    ("GET", "/address/{address_id}"): OWNED,
    ("PUT", "/address/{address_id}"): OWNED,
    ("DELETE", "/address/{address_id}"): OWNED,
    # The website's form is public (limits, a honeypot); the pipeline is the sales team's.
    ("POST", "/enquiries"): PUBLIC,
    ("GET", "/enquiries/admin"): ADMIN,
    ("GET", "/enquiries/admin/{enquiry_id}"): ADMIN,
    ("PUT", "/enquiries/admin/{enquiry_id}"): ADMIN,
    ("GET", "/consent/types"): PUBLIC,
    ("POST", "/consent/types"): ADMIN,
    ("GET", "/consent/types/{code}"): PUBLIC,
    ("PUT", "/consent/types/{code}"): ADMIN,
    ("POST", "/consent/types/{code}/versions"): ADMIN,
    ("GET", "/consent/products/{product_id}"): PUBLIC,
    ("POST", "/consent/products/{product_id}"): ADMIN,
    ("DELETE", "/consent/products/{product_id}/{code}"): ADMIN,
    ("POST", "/consent"): USER,
    ("GET", "/consent"): USER,
    ("POST", "/consent/{grant_id}/withdraw"): OWNED,
    ("POST", "/consent/requests"): USER,
    ("GET", "/consent/requests"): USER,
    ("POST", "/consent/requests/{request_id}/resend"): OWNED,
    # The member's side: the link's token (or a code to their phone) is the credential.
    ("GET", "/consent/requests/by-token/{token}"): PUBLIC,
    ("POST", "/consent/requests/by-token/{token}/confirm"): PUBLIC,
    ("POST", "/consent/requests/by-token/{token}/decline"): PUBLIC,
    ("POST", "/consent/withdraw-by-phone/code"): PUBLIC,
    ("POST", "/consent/withdraw-by-phone"): PUBLIC,
    ("GET", "/cart"): USER,
    ("DELETE", "/cart"): USER,
    ("POST", "/cart/add"): USER,
    ("POST", "/cart/coupon"): USER,
    ("DELETE", "/cart/coupon"): USER,
    ("GET", "/cart/coupons"): USER,
    ("PUT", "/cart/{item_id}"): OWNED,
    ("DELETE", "/cart/{item_id}"): OWNED,
    ("GET", "/cart/admin/coupons"): ADMIN,
    ("POST", "/cart/admin/coupons"): ADMIN,
    ("GET", "/cart/admin/coupons/{coupon_id}"): ADMIN,
    ("PUT", "/cart/admin/coupons/{coupon_id}"): ADMIN,
    ("DELETE", "/cart/admin/coupons/{coupon_id}"): ADMIN,
    ("POST", "/cart/admin/coupons/{coupon_id}/allowed"): ADMIN,
    ("GET", "/cart/admin/coupons/{coupon_id}/allowed"): ADMIN,
    ("DELETE", "/cart/admin/coupons/{coupon_id}/allowed/{entry_id}"): ADMIN,
    ("POST", "/orders"): USER,
    ("GET", "/orders"): USER,
    ("GET", "/orders/admin"): ADMIN,
    ("POST", "/orders/webhook/razorpay"): PUBLIC,
    ("GET", "/orders/{order_id}"): OWNED,
    ("GET", "/orders/{order_id}/tracking"): OWNED,
    ("POST", "/orders/{order_id}/verify-payment"): OWNED,
    ("POST", "/orders/{order_id}/cancel"): OWNED,
    ("PUT", "/orders/{order_id}/status"): ADMIN,
    ("PUT", "/orders/{order_id}/items/{item_id}/status"): ADMIN,
    ("POST", "/orders/admin/{order_id}/items/{item_id}/report"): ADMIN,
    ("GET", "/orders/{order_id}/items/{item_id}/report"): OWNED,
    ("GET", "/orders/{order_id}/items/{item_id}/report/fhir"): OWNED,
    ("POST", "/orders/{order_id}/items/{item_id}/abha-link"): OWNED,
    ("GET", "/member/{member_id}/abha"): OWNED,
    # The ABDM gateway's callbacks: no user; its RS256 token is checked (tests/abdm).
    ("POST", "/abdm/api/v3/{callback}"): PUBLIC,
    ("GET", "/abdm/admin/links"): ADMIN,
    ("GET", "/abdm/admin/transfers"): ADMIN,
    ("GET", "/orders/{order_id}/items/{item_id}/reports"): OWNED,
    ("GET", "/orders/{order_id}/invoice"): OWNED,
    ("GET", "/orders/{order_id}/credit-notes"): OWNED,
    ("GET", "/orders/{order_id}/credit-notes/{credit_note_id}"): OWNED,
    ("GET", "/orders/admin/collections"): ADMIN,
    ("PUT", "/orders/admin/collections/{collection_id}"): ADMIN,
    ("POST", "/orders/admin/holidays/{day}"): ADMIN,
    ("DELETE", "/orders/admin/holidays/{day}"): ADMIN,
    ("GET", "/orders/{order_id}/collection-slots"): OWNED,
    ("POST", "/orders/{order_id}/collection"): OWNED,
    ("PUT", "/orders/{order_id}/collection/{collection_id}"): OWNED,
    ("GET", "/notifications"): USER,
    ("POST", "/notifications/read-all"): USER,
    ("POST", "/notifications/{notification_id}/read"): OWNED,
    ("POST", "/notifications/devices"): USER,
    ("DELETE", "/notifications/devices/{token}"): OWNED,
    ("GET", "/notifications/preferences"): USER,
    ("PUT", "/notifications/preferences"): USER,
    ("GET", "/notifications/admin"): ADMIN,
    ("POST", "/notifications/admin/{notification_id}/retry"): ADMIN,
    # The e-mail's signed link is the credential of the confirm and unsubscribe pages.
    ("POST", "/newsletter/subscribe"): PUBLIC,
    ("GET", "/newsletter/confirm"): PUBLIC,
    ("POST", "/newsletter/confirm"): PUBLIC,
    ("GET", "/newsletter/unsubscribe"): PUBLIC,
    ("POST", "/newsletter/unsubscribe"): PUBLIC,
    ("GET", "/newsletter/me"): USER,
    ("PUT", "/newsletter/me"): USER,
    ("GET", "/newsletter/admin/subscribers"): ADMIN,
    ("GET", "/newsletter/admin/export.csv"): ADMIN,
    ("GET", "/gmeet/counsellor/connect"): PUBLIC,
    ("GET", "/gmeet/auth/callback"): PUBLIC,
    ("GET", "/gmeet/counsellors"): PUBLIC,
    ("GET", "/gmeet/availability"): PUBLIC,
    ("POST", "/gmeet/book"): USER,
    ("GET", "/gmeet/bookings"): USER,
    ("DELETE", "/gmeet/appointment/{counsellor_id}/{booking_id}"): OWNED,
    ("GET", "/gmeet/admin/counsellors"): ADMIN,
    ("PUT", "/gmeet/admin/counsellors/{counsellor_id}"): ADMIN,
    # A visitor's random id (a UUID the client keeps) is the credential; receipts hold no
    # account data, and a logged-in caller's receipt is linked to them.
    ("POST", "/privacy/choices"): PUBLIC,
    ("GET", "/privacy/choices/{visitor_id}"): PUBLIC,
    ("GET", "/audit"): ADMIN,
    ("GET", "/audit/me"): USER,
}

# A body that passes validation, so the ownership check is what answers.
OWNED_BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/member/{member_id}"): {"name": "Changed"},
    ("POST", "/orders/{order_id}/collection"): {
        "item_ids": [1],
        "date": "2026-12-08",
        "start": "09:00",
    },
    ("PUT", "/orders/{order_id}/collection/{collection_id}"): {
        "date": "2026-12-08",
        "start": "09:00",
    },
    ("PUT", "/address/{address_id}"): {"landmark": "Near the park"},
    ("PUT", "/cart/{item_id}"): {"quantity": 2},
    ("POST", "/orders/{order_id}/verify-payment"): {
        "razorpay_order_id": "order_x",
        "razorpay_payment_id": "pay_x",
        "razorpay_signature": "0" * 64,
    },
}


def app_routes() -> set[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def fill(path: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)


def call(
    client: TestClient,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> Any:
    return client.request(method, path, headers=headers or {}, json=body)


def test_every_route_has_an_access_decision() -> None:
    routes = app_routes()
    assert routes - set(ACCESS) == set(), "new routes need an entry in ACCESS"
    assert set(ACCESS) - routes == set(), "ACCESS lists routes that no longer exist"


@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
def test_anonymous_callers(client: TestClient, method: str, path: str) -> None:
    response = call(
        client,
        method,
        fill(
            path,
            {
                "code": "platform",
                "product_ref": "x",
                "counsellor_id": "ABCDEF",
                "day": "2026-12-08",
            },
        ),
    )
    assert response.status_code != 500, response.text
    if ACCESS[(method, path)] == PUBLIC:
        assert response.status_code not in (401, 403), response.text
    elif ACCESS[(method, path)] == INTERNAL:
        assert response.status_code == 403, response.text  # the test client is no monitor
    else:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "not_authenticated"


@pytest.fixture
def user(client: TestClient) -> LoggedIn:
    return login(client, "+919876561001")


ADMIN_ROUTES = sorted(route for route, access in ACCESS.items() if access == ADMIN)


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_users_are_refused_admin_routes(
    client: TestClient, user: LoggedIn, method: str, path: str
) -> None:
    response = call(
        client,
        method,
        fill(path, {"code": "platform", "counsellor_id": "ABCDEF", "day": "2026-12-08"}),
        user.headers,
        {},
    )
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "admin_required"


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admins_pass_the_admin_check(
    client: TestClient, admin: LoggedIn, method: str, path: str
) -> None:
    response = call(
        client,
        method,
        fill(path, {"code": "platform", "counsellor_id": "ABCDEF", "day": "2026-12-08"}),
        admin.headers,
        {},
    )
    assert response.status_code not in (401, 403), response.text
    assert response.status_code != 500, response.text


@dataclass
class Belongings:
    owner: LoggedIn
    ids: dict[str, Any]
    order_item_id: int

    def path(self, path: str) -> str:
        """`path` with the ids of these things (`item_id`: an order's item under /orders)."""
        ids = self.ids
        if path.startswith("/orders/"):
            ids = {**ids, "item_id": self.order_item_id}
        return fill(path, ids)


@pytest.fixture
def belongings(client: TestClient, db: Session, razorpay: FakeRazorpay) -> Belongings:
    """One of everything, owned by someone else."""
    shop = make_shop(db)
    owner = shopper(client, db, "+919876561002", shop.single)
    other_address = make_address(db, owner.me.user_id, label="work")
    spare = make_member(db, owner.me.user_id, name="Spare", relation="child")
    consent = make_consent_type(db)
    granted = grant(db, owner.me.user_id, spare, consent)
    cart_item = client.get("/cart", headers=owner.headers).json()["items"][0]["id"]
    order = checkout(client, owner).json()["order"]
    order_item = order["items"][0]["id"]
    sessions = client.get("/sessions", headers=owner.headers).json()["sessions"]
    token = "owners-push-token-0123456789"
    device = {"token": token, "platform": "android"}
    assert (
        client.post("/notifications/devices", headers=owner.headers, json=device).status_code == 201
    )
    entry, *_ = notify(
        db,
        owner.me.user_id,
        NotificationEvent.SAMPLE_COLLECTED,
        {"order_id": order["id"], "order_number": order["order_number"]},
    )
    db.flush()
    ids = {
        "member_id": spare.id,
        "address_id": other_address.id,
        "item_id": cart_item,
        "order_id": order["id"],
        "grant_id": granted.id,
        "request_id": confirmed_request(db, owner.me.user_id, spare, [consent]).id,
        "session_id": sessions[0]["id"],
        "counsellor_id": "ABCDEF",
        "booking_id": 1,
        "token": token,
        "notification_id": entry.id,
    }
    return Belongings(owner.me, ids, order_item)


OWNED_ROUTES = sorted(route for route, access in ACCESS.items() if access == OWNED)
# What the owner's GET answers when it is not 200 (the thing exists but is not there yet).
OWNER_GETS = {
    "/orders/{order_id}/items/{item_id}/report": 409,
    "/orders/{order_id}/items/{item_id}/report/fhir": 409,
    "/orders/{order_id}/invoice": 409,
    # The owner's order is unpaid: it has no credit note (the intruder's 404 is the order's).
    "/orders/{order_id}/credit-notes/{credit_note_id}": 404,
}


@pytest.mark.parametrize(("method", "path"), OWNED_ROUTES)
def test_another_users_things_are_404(
    client: TestClient, belongings: Belongings, method: str, path: str
) -> None:
    intruder = login(client, "+919876561003")
    response = call(
        client, method, belongings.path(path), intruder.headers, OWNED_BODIES.get((method, path))
    )
    assert response.status_code == 404, response.text
    # And the owner's thing is untouched: the owner can still reach it.
    if method == "GET":
        owner = call(client, method, belongings.path(path), belongings.owner.headers)
        assert owner.status_code == OWNER_GETS.get(path, 200), owner.text
