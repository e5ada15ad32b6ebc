"""Data-principal rights (DPDP Act 2023): GET /profile/export and DELETE /profile."""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from Address_module.models import Address
from Audit_module.models import AuditLog
from Cart_module.models import Cart, CartItem
from config import Settings
from Consent_module.models import ConsentGrant
from core.clock import utcnow
from core.validation import mask_phone
from gmeet_api.models import Booking
from Login_module.models import DeviceSession, User
from Login_module.OTP.store import phone_key
from Member_module.models import Member
from Orders_module.models import Order, OrderItem, OrderStatusHistory, Payment, Refund
from Profile_module.export import build_export
from Profile_module.schemas import ExportOut
from tests.fakes.google import FakeGoogle
from tests.fakes.razorpay import FakeRazorpay
from tests.support.consent import confirmed_by_member
from tests.support.factories.address import make_address, make_location
from tests.support.factories.cart import add_to_cart, make_order
from tests.support.factories.category import make_category
from tests.support.factories.consent import grant, make_consent_type

# The local fake Google and the fixed clock of the gmeet tests, requested by name below.
from tests.support.factories.gmeet import ist, make_counsellor
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.http import assert_error
from tests.support.images import PNG
from tests.support.login import LoggedIn, login, request_code
from tests.support.orders import Shop, Shopper, checkout, make_shop, pay, shopper

PHONE = "+919876571001"
OTHER_PHONE = "+919876571002"
SPOUSE_PHONE = "+919812300011"
ADDRESS_PHONE = "+919812300022"
OLD_ADDRESS_PHONE = "+919812300033"
PATIENT_EMAIL = "priya.sharma@example.com"  # invites go only to the profile's own email

# Everything personal the account below holds; none of it may survive the erasure.
PERSONAL = [
    PHONE,
    PHONE.removeprefix("+91"),
    "Priya Sharma",
    "priya.sharma@example.com",
    "1988-03-14",
    "Arjun Sharma",
    SPOUSE_PHONE,
    "1986-07-21",
    "Kavya Sharma",
    "2015-01-09",
    "Sharma",
    ADDRESS_PHONE,
    "Flat 7B, Lotus Residency",
    "Hosur Main Road",
    "Opposite Lakeview Park",
    "Koramangala",
    "560034",
    OLD_ADDRESS_PHONE,
    "House 21, Tulip Lane",
    "Asks about BRCA1 in the family",
    "Priya's Pixel 8",
    "Priya's iPad",
    "Moving to Mysore next week",
]


@pytest.fixture(autouse=True)
def no_resend_cooldown(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same phone logs in, then asks for an erasure code within 30 s.
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


@dataclass
class Account:
    me: LoggedIn
    tablet: LoggedIn
    shop: Shop
    member_ids: dict[str, int]
    address_ids: dict[str, int]
    grant_ids: dict[str, int]
    order: dict[str, Any]
    booking: dict[str, Any]
    photo_url: str

    @property
    def headers(self) -> dict[str, str]:
        return self.me.headers


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def build_account(client: TestClient, db: Session, fake: FakeGoogle) -> Account:
    """A customer with one of everything, made the way the app makes it."""
    me = login(client, PHONE, device_name="Priya's Pixel 8", device_id="pixel")
    tablet = login(client, PHONE, device_name="Priya's iPad", device_id="ipad")
    h = me.headers
    ok(
        client.put(
            "/profile",
            headers=h,
            json={
                "name": "Priya Sharma",
                "email": "priya.sharma@example.com",
                "date_of_birth": "1988-03-14",
                "gender": "female",
            },
        )
    )
    photo = ok(client.post("/profile/photo", headers=h, files={"file": ("me.png", PNG)}))
    member = {"relation": "self", "date_of_birth": "1988-03-14", "gender": "female"}
    me_member = ok(client.post("/member", headers=h, json={"name": "Priya Sharma", **member}), 201)
    spouse = ok(
        client.post(
            "/member",
            headers=h,
            json={
                "name": "Arjun Sharma",
                "relation": "spouse",
                "date_of_birth": "1986-07-21",
                "gender": "male",
                "phone": SPOUSE_PHONE,
            },
        ),
        201,
    )
    child = ok(
        client.post(
            "/member",
            headers=h,
            json={
                "name": "Kavya Sharma",
                "relation": "child",
                "date_of_birth": "2015-01-09",
                "gender": "female",
            },
        ),
        201,
    )
    ok(client.delete(f"/member/{child['id']}", headers=h), 204)

    make_location(db, "BANGALORE")
    home = ok(
        client.post(
            "/address",
            headers=h,
            json={
                "contact_name": "Priya Sharma",
                "contact_phone": ADDRESS_PHONE,
                "line1": "Flat 7B, Lotus Residency",
                "line2": "Hosur Main Road",
                "landmark": "Opposite Lakeview Park",
                "locality": "Koramangala",
                "city": "Bangalore",
                "state": "Karnataka",
                "pincode": "560034",
            },
        ),
        201,
    )
    old = ok(
        client.post(
            "/address",
            headers=h,
            json={
                "label": "other",
                "contact_name": "Arjun Sharma",
                "contact_phone": OLD_ADDRESS_PHONE,
                "line1": "House 21, Tulip Lane",
                "city": "Bangalore",
                "state": "Karnataka",
                "pincode": "560011",
            },
        ),
        201,
    )
    ok(client.delete(f"/address/{old['id']}", headers=h), 204)

    shop = make_shop(db)
    code = shop.consent.code
    mine = ok(
        client.post(
            "/consent", headers=h, json={"member_id": me_member["id"], "code": code, "version": 1}
        ),
        201,
    )
    # The spouse confirms their own, from the SMS to their phone.
    [theirs] = confirmed_by_member(client, h, spouse["id"], SPOUSE_PHONE, [code])
    research = make_consent_type(db, title="Research use")
    [withdrawn] = confirmed_by_member(client, h, spouse["id"], SPOUSE_PHONE, [research.code])
    ok(client.post(f"/consent/{withdrawn['id']}/withdraw", headers=h))
    revised = make_consent_type(db, title="Sample storage", version=2)
    member_row = db.get(Member, me_member["id"])
    outdated = grant(db, me.user_id, member_row, revised, version=1)

    add_to_cart(client, h, shop.single.id, [(me_member["id"], home["id"])])
    placed = ok(checkout(client, Shopper(me, [], db.get(Address, home["id"]))), 201)
    order = ok(pay(client, Shopper(me, [], db.get(Address, home["id"])), placed))
    # Something in the cart again after paying (the payment emptied it).
    add_to_cart(
        client, h, shop.couple.id, [(me_member["id"], home["id"]), (spouse["id"], home["id"])]
    )

    make_counsellor(db, fake)
    booking = ok(
        client.post(
            "/gmeet/book",
            headers=h,
            json={
                "counsellor_id": "A3X9K2",
                "start_time": ist(2031, 6, 3, 11).isoformat(),
                "end_time": ist(2031, 6, 3, 11, 30).isoformat(),
                "member_id": spouse["id"],
                "patient_name": "Arjun Sharma",
                "patient_email": PATIENT_EMAIL,
                "patient_phone": SPOUSE_PHONE,
                "notes": "Asks about BRCA1 in the family",
            },
        ),
        201,
    )
    return Account(
        me=me,
        tablet=tablet,
        shop=shop,
        member_ids={"self": me_member["id"], "spouse": spouse["id"], "child": child["id"]},
        address_ids={"home": home["id"], "old": old["id"]},
        grant_ids={
            "mine": mine["id"],
            "theirs": theirs["id"],
            "withdrawn": withdrawn["id"],
            "outdated": outdated.id,
        },
        order=order,
        booking=booking,
        photo_url=photo["photo_url"],
    )


def build_other_user(client: TestClient, db: Session) -> LoggedIn:
    other = login(client, OTHER_PHONE, device_name="Zoya's phone")
    ok(client.put("/profile", headers=other.headers, json={"name": "Zoya Khan"}))
    zoya = make_member(db, other.user_id, name="Zoya Khan", relation="self")
    make_address(db, other.user_id, contact_name="Zoya Khan", line1="Green Park Villa 9")
    research = make_consent_type(db)
    grant(db, other.user_id, zoya, research)
    return other


def fake_google(request: pytest.FixtureRequest) -> FakeGoogle:
    """The gmeet tests' fake Google, with their clock fixed before the working day."""
    request.getfixturevalue("clock")
    return request.getfixturevalue("google")


@pytest.fixture
def account(
    client: TestClient, db: Session, razorpay: FakeRazorpay, request: pytest.FixtureRequest
) -> Account:
    return build_account(client, db, fake_google(request))


def export(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    return ok(client.get("/profile/export", headers=headers))


def by_id(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in rows}


# --- GET /profile/export --------------------------------------------------------------------


def test_export_holds_everything_we_hold_about_me(
    client: TestClient, db: Session, account: Account
) -> None:
    build_other_user(client, db)
    document = export(client, account.headers)

    assert set(document) == set(ExportOut.model_fields)
    assert document["format_version"] == 1
    assert document["exported_at"].endswith("Z") or "+00:00" in document["exported_at"]
    profile = document["profile"]
    assert (profile["id"], profile["phone"], profile["name"]) == (
        account.me.user_id,
        PHONE,
        "Priya Sharma",
    )
    assert (profile["email"], profile["date_of_birth"], profile["gender"]) == (
        "priya.sharma@example.com",
        "1988-03-14",
        "female",
    )
    assert profile["photo_url"] == account.photo_url

    members = by_id(document["members"])
    assert set(members) == set(account.member_ids.values())
    child = members[account.member_ids["child"]]
    assert (child["name"], child["is_deleted"]) == ("Kavya Sharma", True)
    assert child["deleted_at"] is not None
    assert members[account.member_ids["spouse"]]["phone"] == SPOUSE_PHONE
    assert members[account.member_ids["spouse"]]["is_deleted"] is False

    addresses = by_id(document["addresses"])
    assert set(addresses) == set(account.address_ids.values())
    home, old = addresses[account.address_ids["home"]], addresses[account.address_ids["old"]]
    assert (home["line1"], home["landmark"], home["is_deleted"]) == (
        "Flat 7B, Lotus Residency",
        "Opposite Lakeview Park",
        False,
    )
    assert (old["line1"], old["is_deleted"]) == ("House 21, Tulip Lane", True)

    grants = by_id(document["consents"])
    assert set(grants) == set(account.grant_ids.values())
    for row in grants.values():
        assert {"member_id", "code", "version", "granted_at", "ip_address", "user_agent"} <= set(
            row
        )
        assert "withdrawn_at" in row
    withdrawn = grants[account.grant_ids["withdrawn"]]
    assert withdrawn["withdrawn_at"] is not None and withdrawn["is_withdrawn"] is True
    assert withdrawn["user_agent"] == "testclient"
    outdated = grants[account.grant_ids["outdated"]]
    assert (outdated["version"], outdated["current_version"]) == (1, 2)
    assert outdated["is_current_version"] is False
    assert grants[account.grant_ids["mine"]]["is_current_version"] is True
    texts = {(t["code"], t["version"]): t for t in document["consent_texts"]}
    assert set(texts) == {(grants[g]["code"], 1) for g in grants}
    # The spouse confirmed theirs: both requests, with the masked phone they went to.
    requests = document["consent_requests"]
    assert [(r["status"], r["phone_masked"]) for r in requests] == [
        ("confirmed", mask_phone(SPOUSE_PHONE))
    ] * 2
    assert not {"token_hash", "phone_key"} & set(requests[0])
    assert grants[account.grant_ids["theirs"]]["consent_request_id"] in {r["id"] for r in requests}
    assert texts[(outdated["code"], 1)]["body"].endswith("(version 1)")

    cart = document["cart"]
    [item] = cart["items"]
    assert item["product_id"] == account.shop.couple.id
    assert {m["member_id"] for m in item["members"]} == {
        account.member_ids["self"],
        account.member_ids["spouse"],
    }

    [order] = document["orders"]
    assert (order["id"], order["status"], order["total_paise"]) == (
        account.order["id"],
        "paid",
        account.order["total_paise"],
    )
    assert "request_hash" not in order
    [order_item] = order["items"]
    assert order_item["member_snapshot"]["name"] == "Priya Sharma"
    assert order_item["address_snapshot"]["line1"] == "Flat 7B, Lotus Residency"
    assert order_item["product_snapshot"]["name"] == "My genes"
    [payment] = order["payments"]
    assert (payment["status"], payment["amount_paise"]) == ("captured", order["total_paise"])
    assert order["refunds"] == []
    assert [h["status"] for h in order["status_history"]] == ["pending_payment", "paid"]

    [booking] = document["bookings"]
    assert (booking["id"], booking["patient_name"], booking["notes"]) == (
        account.booking["booking_id"],
        "Arjun Sharma",
        "Asks about BRCA1 in the family",
    )

    sessions = document["sessions"]
    assert {s["device_name"] for s in sessions} == {"Priya's Pixel 8", "Priya's iPad"}
    assert all("refresh_jti" not in s for s in sessions)

    trail = document["audit_trail"]
    assert trail and all(entry["actor_user_id"] == account.me.user_id for entry in trail)
    actions = {entry["action"] for entry in trail}
    assert {"profile.updated", "member.created", "address.created", "consent.granted"} <= actions
    assert {"consent.withdrawn", "order.created", "gmeet_booking.created"} <= actions

    # Nothing of anyone else's.
    text = json.dumps(document)
    assert "Zoya" not in text and "Green Park" not in text
    for section in ("members", "addresses", "consents", "orders", "bookings", "sessions"):
        assert all(row["user_id"] == account.me.user_id for row in document[section]), section


def test_another_user_exports_only_their_own_data(
    client: TestClient, db: Session, account: Account
) -> None:
    other = build_other_user(client, db)
    document = export(client, other.headers)
    assert document["profile"]["id"] == other.user_id
    assert [m["name"] for m in document["members"]] == ["Zoya Khan"]
    assert document["orders"] == [] and document["bookings"] == []
    text = json.dumps(document)
    for value in ("Priya", "Arjun", "Kavya", "Lotus Residency", PHONE, PATIENT_EMAIL):
        assert value not in text


def test_export_is_audited_without_personal_data(
    client: TestClient, db: Session, account: Account
) -> None:
    export(client, account.headers)
    db.expire_all()
    entry = db.scalars(select(AuditLog).where(AuditLog.action == "profile.exported")).one()
    assert (entry.actor_user_id, entry.entity_type, entry.entity_id) == (
        account.me.user_id,
        "user",
        str(account.me.user_id),
    )
    assert entry.changes["counts"]["members"] == 3
    assert entry.changes["counts"]["orders"] == 1
    assert "Priya" not in json.dumps(entry.changes)


def test_export_of_a_new_user_is_empty_but_complete(client: TestClient) -> None:
    me = login(client, PHONE)
    document = export(client, me.headers)
    assert document["profile"]["phone"] == PHONE
    for section in ("members", "addresses", "consents", "consent_texts", "orders", "bookings"):
        assert document[section] == [], section
    assert document["cart"] is None
    assert len(document["sessions"]) == 1


def test_export_and_erasure_need_a_login(client: TestClient) -> None:
    assert_error(client.get("/profile/export"), 401, "not_authenticated")
    # No body at all: authentication answers before the body is validated.
    assert_error(client.request("DELETE", "/profile"), 401, "not_authenticated")
    assert_error(
        client.request("DELETE", "/profile", json={"otp": "123456"}), 401, "not_authenticated"
    )


def test_export_schema_declares_every_section() -> None:
    from main import app

    schema = app.openapi()
    operation = schema["paths"]["/profile/export"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    declared = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(declared["properties"]) == {
        "format_version",
        "exported_at",
        "profile",
        "members",
        "addresses",
        "consents",
        "consent_texts",
        "consent_requests",
        "cart",
        "orders",
        "reports",
        "notifications",
        "notification_preferences",
        "bookings",
        "sessions",
        "enquiries",
        "newsletter",
        "privacy_choices",
        "coupon_offers",
        "audit_trail",
    }
    assert set(declared["required"]) == set(declared["properties"])
    erase = schema["paths"]["/profile"]["delete"]
    assert "requestBody" in erase and "200" in erase["responses"]


def add_rich_order(db: Session, user_id: int, member: Member, address: Address, n: int) -> None:
    """An order with two items, a payment, a refund and history, straight into the database."""
    category = make_category(db)
    product = make_product(db, category)
    order = make_order(db, user_id, status="refund_pending")
    for _ in range(2):
        db.add(
            OrderItem(
                order_id=order.id,
                line_group=1,
                product_id=product.id,
                product_snapshot={"id": product.id, "name": product.name},
                member_id=member.id,
                member_snapshot={"id": member.id, "name": member.name},
                address_id=address.id,
                address_snapshot={"id": address.id, "line1": address.line1},
                unit_price_paise=499_900,
            )
        )
    payment = Payment(
        order_id=order.id,
        razorpay_payment_id=f"pay_count{user_id}x{n}",
        amount_paise=499_900,
        status="captured",
        source="verify",
    )
    db.add(payment)
    db.flush()
    db.add(
        Refund(
            order_id=order.id, payment_id=payment.id, amount_paise=499_900, idempotency_key=f"r{n}"
        )
    )
    db.add(OrderStatusHistory(order_id=order.id, status="paid", at=utcnow()))
    db.flush()


def count_export_statements(db: Session, user: User) -> int:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        build_export(db, user)
        db.flush()
    finally:
        event.remove(connection, "before_cursor_execute", record)
    return len([s for s in statements if not s.lstrip().upper().startswith("INSERT")])


def test_export_reads_each_kind_of_thing_with_a_fixed_number_of_queries(
    client: TestClient, db: Session
) -> None:
    me = login(client, PHONE)
    user = db.get(User, me.user_id)
    consent = make_consent_type(db)

    def grow(n: int) -> None:
        member = make_member(db, me.user_id, name=f"Member {n}")
        address = make_address(db, me.user_id, line1=f"{n} Some Street")
        grant(db, me.user_id, member, consent)
        add_rich_order(db, me.user_id, member, address, n)

    grow(1)
    db.expire_all()
    small = count_export_statements(db, user)
    for n in range(2, 6):
        grow(n)
    db.expire_all()
    large = count_export_statements(db, user)
    assert large == small, (small, large)
    # One query per kind of data: 20, plus the privacy receipts and the coupon allow-list.
    assert small <= 22


# --- DELETE /profile --------------------------------------------------------------------------


def erase(client: TestClient, headers: dict[str, str], code: str | None) -> Any:
    body = None if code is None else {"otp": code}
    return client.request("DELETE", "/profile", headers=headers, json=body)


def cancel(client: TestClient, account: Account, reason: str = "Moving to Mysore next week"):
    return ok(
        client.post(
            f"/orders/{account.order['id']}/cancel",
            headers=account.headers,
            json={"reason": reason},
        )
    )


def texts(value: Any) -> list[str]:
    """Every string inside a value (JSON columns walked), to search for leftovers."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for inner in value.values() for s in texts(inner)]
    if isinstance(value, list | tuple):
        return [s for inner in value for s in texts(inner)]
    return []


def row_texts(obj: Any) -> list[str]:
    return [
        s for column in inspect(obj).mapper.column_attrs for s in texts(getattr(obj, column.key))
    ]


def leftovers(db: Session, user_id: int) -> list[tuple[str, str]]:
    db.expire_all()
    orders = db.scalars(select(Order.id).where(Order.user_id == user_id)).all()
    rows: list[Any] = [db.get(User, user_id)]
    for model in (Member, Address, Booking, DeviceSession, Order, ConsentGrant):
        rows += db.scalars(select(model).where(model.user_id == user_id)).all()
    rows += db.scalars(select(OrderItem).where(OrderItem.order_id.in_(orders))).all()
    rows += db.scalars(
        select(OrderStatusHistory).where(OrderStatusHistory.order_id.in_(orders))
    ).all()
    rows += db.scalars(select(AuditLog).where(AuditLog.actor_user_id == user_id)).all()
    found = []
    for row in rows:
        for text in row_texts(row):
            found += [(type(row).__name__, value) for value in PERSONAL if value in text]
    return found


@pytest.fixture
def erasable(client: TestClient, account: Account) -> Account:
    """The account with its paid order cancelled by the customer (refund on its way)."""
    cancel(client, account)
    return account


def test_erasure_scrubs_every_personal_field(
    client: TestClient, db: Session, erasable: Account, settings: Settings
) -> None:
    assert leftovers(db, erasable.me.user_id)  # the check finds what is there
    photo = Path(settings.MEDIA_ROOT) / erasable.photo_url.removeprefix(
        settings.MEDIA_URL.rstrip("/") + "/"
    )
    assert photo.exists()

    code = request_code(client, PHONE)
    summary = ok(erase(client, erasable.headers, code))

    assert summary["status"] == "erased"
    assert (summary["orders_kept"], summary["members_erased"], summary["addresses_erased"]) == (
        1,
        3,
        2,
    )
    assert (summary["bookings_cancelled"], summary["sessions_revoked"]) == (1, 2)
    assert leftovers(db, erasable.me.user_id) == []
    user = db.get(User, erasable.me.user_id)
    assert (user.phone, user.name, user.email, user.date_of_birth, user.gender) == (None,) * 5
    assert (user.photo_path, user.is_active) == (None, False)
    assert user.deleted_at is not None
    assert not photo.exists()
    members = db.scalars(select(Member).where(Member.user_id == user.id)).all()
    assert {(m.name, m.phone, m.date_of_birth, m.is_deleted) for m in members} == {
        ("Erased member", None, date(1900, 1, 1), True)
    }
    addresses = db.scalars(select(Address).where(Address.user_id == user.id)).all()
    assert all(a.is_deleted and a.contact_name == "Erased" for a in addresses)
    assert {(a.city, a.state) for a in addresses} == {("BANGALORE", "Karnataka")}
    cart = db.scalar(select(Cart).where(Cart.user_id == user.id))
    assert db.scalars(select(CartItem).where(CartItem.cart_id == cart.id)).all() == []


def test_erasure_keeps_pseudonymised_orders_and_the_consent_history(
    client: TestClient, db: Session, erasable: Account
) -> None:
    db.expire_all()
    grants_before = {
        g.id: (g.member_id, g.code, g.version, g.granted_at, g.ip_address, g.withdrawn_at)
        for g in db.scalars(select(ConsentGrant).where(ConsentGrant.user_id == erasable.me.user_id))
    }
    ok(erase(client, erasable.headers, request_code(client, PHONE)))

    db.expire_all()
    order = db.get(Order, erasable.order["id"])
    assert (order.user_id, order.status, order.total_paise) == (
        erasable.me.user_id,
        "refund_pending",
        erasable.order["total_paise"],
    )
    assert order.cancel_reason == "cancelled by customer"
    [item] = db.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).all()
    assert item.member_id == erasable.member_ids["self"]
    assert item.product_snapshot["name"] == "My genes"
    assert item.unit_price_paise == erasable.shop.single.price_paise
    assert item.member_snapshot["name"] == "Erased member"
    assert item.member_snapshot["relation"] == "self"
    assert item.address_snapshot["contact_name"] == "Erased"
    assert item.address_snapshot["city"] == "BANGALORE"
    [payment] = db.scalars(select(Payment).where(Payment.order_id == order.id)).all()
    assert (payment.status, payment.amount_paise) == ("captured", order.total_paise)
    [refund] = db.scalars(select(Refund).where(Refund.order_id == order.id)).all()
    assert refund.amount_paise == order.total_paise
    history = db.scalars(
        select(OrderStatusHistory.status).where(OrderStatusHistory.order_id == order.id)
    ).all()
    assert history == ["pending_payment", "paid", "cancelled", "refund_pending"]

    grants_after = {
        g.id: (g.member_id, g.code, g.version, g.granted_at, g.ip_address, g.withdrawn_at)
        for g in db.scalars(select(ConsentGrant).where(ConsentGrant.user_id == erasable.me.user_id))
    }
    assert grants_after == grants_before
    assert len(grants_after) == 4


def test_erasure_cancels_the_upcoming_counselling_session(
    client: TestClient, db: Session, erasable: Account, request: pytest.FixtureRequest
) -> None:
    calendar = fake_google(request)
    ok(erase(client, erasable.headers, request_code(client, PHONE)))
    db.expire_all()
    booking = db.get(Booking, erasable.booking["booking_id"])
    assert (booking.status, booking.patient_name, booking.patient_email) == (
        "cancelled",
        "Erased",
        None,
    )
    (delete,) = calendar.event_deletes()
    assert delete.path.endswith(erasable.booking["google_event_id"])


def test_erasure_ends_every_session_at_once(
    client: TestClient, db: Session, erasable: Account
) -> None:
    ok(erase(client, erasable.headers, request_code(client, PHONE)))
    for device in (erasable.me, erasable.tablet):
        assert client.get("/profile", headers=device.headers).status_code == 401
        refreshed = client.post("/auth/refresh", json={"refresh_token": device.refresh_token})
        assert refreshed.status_code == 401
    assert client.get("/profile/export", headers=erasable.headers).status_code == 401
    db.expire_all()
    sessions = db.scalars(
        select(DeviceSession).where(DeviceSession.user_id == erasable.me.user_id)
    ).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)
    assert {s.revoked_reason for s in sessions} == {"account_erased"}


def test_the_same_phone_signs_up_as_a_new_user_who_sees_nothing_old(
    client: TestClient, db: Session, erasable: Account
) -> None:
    ok(erase(client, erasable.headers, request_code(client, PHONE)))
    again = login(client, PHONE)
    assert again.body["user"]["is_new_user"] is True
    assert again.user_id != erasable.me.user_id
    document = export(client, again.headers)
    assert document["profile"]["name"] is None
    for section in ("members", "addresses", "consents", "orders", "bookings"):
        assert document[section] == [], section
    assert ok(client.get("/member", headers=again.headers))["total"] == 0
    assert ok(client.get("/orders", headers=again.headers))["total"] == 0


def test_erasure_is_audited_without_personal_data(
    client: TestClient, db: Session, erasable: Account
) -> None:
    ok(erase(client, erasable.headers, request_code(client, PHONE)))
    db.expire_all()
    entry = db.scalars(select(AuditLog).where(AuditLog.action == "profile.erased")).one()
    assert (entry.actor_user_id, entry.entity_type, entry.entity_id) == (
        erasable.me.user_id,
        "user",
        str(erasable.me.user_id),
    )
    assert entry.changes["orders_kept"] == 1
    assert not [value for value in PERSONAL if value in json.dumps(entry.changes)]
    # Earlier entries keep what happened, not who it was about.
    created = db.scalars(
        select(AuditLog).where(
            AuditLog.action == "member.created",
            AuditLog.entity_id == str(erasable.member_ids["spouse"]),
        )
    ).one()
    assert created.changes["name"] == "[erased]" and created.changes["relation"] == "spouse"
    updated = db.scalars(select(AuditLog).where(AuditLog.action == "profile.updated")).one()
    assert updated.changes["name"] == {"old": None, "new": "[erased]"}


def assert_untouched(client: TestClient, db: Session, account: Account) -> None:
    assert ok(client.get("/profile", headers=account.headers))["name"] == "Priya Sharma"
    db.expire_all()
    assert db.get(Member, account.member_ids["spouse"]).name == "Arjun Sharma"
    assert db.get(Booking, account.booking["booking_id"]).status == "confirmed"
    assert not db.scalars(select(AuditLog).where(AuditLog.action == "profile.erased")).all()


def test_a_wrong_code_is_refused_and_nothing_changes(
    client: TestClient, db: Session, erasable: Account
) -> None:
    code = request_code(client, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    assert_error(erase(client, erasable.headers, wrong), 400, "otp_invalid")
    assert_untouched(client, db, erasable)
    # The right code still works afterwards.
    ok(erase(client, erasable.headers, code))


def test_an_expired_or_never_sent_code_is_refused(
    client: TestClient, db: Session, erasable: Account, redis_client: redis.Redis
) -> None:
    assert_error(erase(client, erasable.headers, "123456"), 400, "otp_expired")
    code = request_code(client, PHONE)
    redis_client.delete(f"otp:{phone_key(PHONE)}")  # its time ran out
    assert_error(erase(client, erasable.headers, code), 400, "otp_expired")
    assert_untouched(client, db, erasable)


def test_a_code_sent_to_another_phone_does_not_erase_me(
    client: TestClient, db: Session, erasable: Account
) -> None:
    code = request_code(client, OTHER_PHONE)
    assert_error(erase(client, erasable.headers, code), 400, "otp_expired")
    assert_untouched(client, db, erasable)


def test_too_many_wrong_codes_burn_the_code(
    client: TestClient, db: Session, erasable: Account, settings: Settings
) -> None:
    code = request_code(client, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.OTP_MAX_VERIFY_ATTEMPTS - 1):
        assert_error(erase(client, erasable.headers, wrong), 400, "otp_invalid")
    assert_error(erase(client, erasable.headers, wrong), 429, "otp_attempts_exceeded")
    assert_error(erase(client, erasable.headers, code), 429, "otp_attempts_exceeded")
    assert_untouched(client, db, erasable)


def test_the_code_must_be_six_digits(client: TestClient, erasable: Account) -> None:
    assert_error(erase(client, erasable.headers, None), 422, "validation_error")
    assert_error(erase(client, erasable.headers, "12ab56"), 422, "validation_error")
    response = client.request(
        "DELETE", "/profile", headers=erasable.headers, json={"otp": "123456", "extra": 1}
    )
    assert_error(response, 422, "validation_error")


def test_a_paid_order_in_progress_blocks_the_erasure(
    client: TestClient, db: Session, account: Account
) -> None:
    code = request_code(client, PHONE)
    body = assert_error(erase(client, account.headers, code), 409, "erasure_blocked_by_open_orders")
    assert body["details"] == [
        {
            "order_id": account.order["id"],
            "order_number": account.order["order_number"],
            "status": "paid",
        }
    ]
    assert_untouched(client, db, account)
    refused = db.scalars(select(AuditLog).where(AuditLog.action == "profile.erasure_refused")).one()
    assert refused.changes == {"reason": "open_orders", "order_ids": [account.order["id"]]}
    # Once the order is cancelled (refunded), the same code, not spent by the refusal, erases.
    cancel(client, account, "no longer needed")
    assert ok(erase(client, account.headers, code))["status"] == "erased"


def test_an_unpaid_order_is_cancelled_by_the_erasure(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, PHONE, shop.single)
    placed = ok(checkout(client, buyer), 201)
    summary = ok(erase(client, buyer.headers, request_code(client, PHONE)))
    assert (summary["orders_cancelled"], summary["orders_kept"]) == (1, 1)
    db.expire_all()
    order = db.get(Order, placed["order"]["id"])
    assert (order.status, order.cancel_reason, order.payment_due_at) == (
        "cancelled",
        "account erased",
        None,
    )
    assert razorpay.refund_requests() == []
