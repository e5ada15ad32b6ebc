"""Coupons: who may use them. Allowed plan types, first order only, and targeted coupons with
their allow-list (admin routes, invisibility to everyone else, a phone listed before it signs
up), over HTTP as the apps and the admin console call them."""

import pytest
from sqlalchemy import select

from Audit_module.models import AuditLog
from Cart_module.checkout import hold_coupon
from Cart_module.errors import CouponInvalid
from Cart_module.models import CouponAllowedEntry
from tests.fakes.razorpay import FakeRazorpay
from tests.support.database import counting_statements
from tests.support.factories.cart import add_to_cart, make_coupon, make_order
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.http import assert_error
from tests.support.login import login, request_code
from tests.support.orders import checkout, make_shop, pay, shopper

URL = "/cart/admin/coupons"
PRICE = 499_900


def create(client, admin, **body):
    response = client.post(
        URL, headers=admin.headers, json={"discount_type": "percent", "percent_off": 10, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def allow(client, admin, coupon_id, **body):
    return client.post(f"{URL}/{coupon_id}/allowed", headers=admin.headers, json=body)


def apply(client, buyer, code):
    return client.post("/cart/coupon", headers=buyer.headers, json={"code": code})


def listed_codes(client, buyer) -> list[str]:
    response = client.get("/cart/coupons", headers=buyer.headers)
    assert response.status_code == 200, response.text
    return [coupon["code"] for coupon in response.json()]


def audit_changes(db, action, coupon_id):
    db.expire_all()
    return db.scalars(
        select(AuditLog.changes)
        .where(AuditLog.action == action, AuditLog.entity_id == str(coupon_id))
        .order_by(AuditLog.id)
    ).all()


# --- the admin's settings ----------------------------------------------------------------------


def test_admins_set_plans_first_order_and_targeting_and_they_are_audited(client, db, admin):
    made = create(
        client,
        admin,
        code="COUPLES15",
        allowed_plan_types=["family", "couple", "couple"],
        first_order_only=True,
    )
    assert made["allowed_plan_types"] == ["couple", "family"]
    assert (made["first_order_only"], made["targeted"]) == (True, False)
    [created] = audit_changes(db, "coupon.created", made["id"])
    assert created["allowed_plan_types"] == ["couple", "family"]
    assert created["first_order_only"] is True

    changed = client.put(
        f"{URL}/{made['id']}",
        headers=admin.headers,
        json={"allowed_plan_types": [], "first_order_only": False, "targeted": True},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["allowed_plan_types"], changed.json()["targeted"]) == ([], True)
    [updated] = audit_changes(db, "coupon.updated", made["id"])
    assert updated["targeted"] == {"old": False, "new": True}
    bad = client.post(
        URL,
        headers=admin.headers,
        json={"code": "BADPLAN", "discount_type": "flat", "amount_off_paise": 100,
              "allowed_plan_types": ["solo"]},
    )  # fmt: skip
    assert_error(bad, 422, "validation_error")


# --- plans and first orders --------------------------------------------------------------------


def test_a_plan_restricted_coupon_counts_only_lines_of_its_plans(client, db, me, category, product):
    make_coupon(db, code="COUPLES", percent_off=10, allowed_plan_types=["couple"])
    add_to_cart(client, me.headers, product.id, [me.choice])  # a single plan
    assert_error(apply(client, me, "couples"), 400, "coupon_not_applicable")

    couple = make_product(db, category, plan_type="couple", price_paise=1_000_000)
    spouse = make_member(db, me.user_id, name="Spouse", relation="spouse")
    add_to_cart(client, me.headers, couple.id, [me.choice, (spouse.id, me.address.id)])
    applied = apply(client, me, "couples")
    assert applied.status_code == 200, applied.text
    assert applied.json()["coupon"] == {"code": "COUPLES", "discount_paise": 100_000}
    assert applied.json()["total_paise"] == PRICE + 1_000_000 - 100_000


def test_a_first_order_coupon_stops_applying_once_an_order_is_paid(
    client, db, razorpay: FakeRazorpay
):
    shop = make_shop(db)
    make_coupon(db, code="FIRSTBUY", percent_off=20, first_order_only=True)
    buyer = shopper(client, db, "+919876571201", shop.single)
    assert "FIRSTBUY" in listed_codes(client, buyer)
    assert apply(client, buyer, "firstbuy").status_code == 200
    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    assert placed.json()["order"]["coupon_code"] == "FIRSTBUY"
    assert pay(client, buyer, placed.json()).status_code == 200

    add_to_cart(client, buyer.headers, shop.single.id, [(buyer.members[0].id, buyer.address.id)])
    assert "FIRSTBUY" not in listed_codes(client, buyer)
    refused = assert_error(apply(client, buyer, "firstbuy"), 400, "coupon_not_applicable")
    assert refused["message"] == "This coupon is only for a first order."


def test_an_order_paid_without_a_coupon_also_ends_the_first_order(
    client, db, razorpay: FakeRazorpay
):
    shop = make_shop(db)
    make_coupon(db, code="FIRSTONLY", first_order_only=True)
    buyer = shopper(client, db, "+919876571202", shop.single)
    placed = checkout(client, buyer)
    assert pay(client, buyer, placed.json()).status_code == 200
    add_to_cart(client, buyer.headers, shop.single.id, [(buyer.members[0].id, buyer.address.id)])
    assert_error(apply(client, buyer, "firstonly"), 400, "coupon_not_applicable")


# --- the allow-list, as admins keep it ---------------------------------------------------------


def test_phones_are_listed_in_e164_once_and_the_coupon_becomes_targeted(client, db, admin, me):
    coupon = create(client, admin, code="VIP20", public=True)
    added = allow(
        client,
        admin,
        coupon["id"],
        phones=["98765 43210", "+91 98765-43210", "+919876512345"],
        user_ids=[me.user_id],
    )
    assert added.status_code == 200, added.text
    assert added.json()["added"] == 3
    entries = added.json()["entries"]
    assert [(e["phone"], e["user_id"]) for e in entries] == [
        ("+919876512345", None),
        ("+919876543210", None),
        (None, me.user_id),
    ]
    again = allow(client, admin, coupon["id"], phones=["9876543210"])
    assert again.json()["added"] == 0
    assert [e["id"] for e in again.json()["entries"]] == [entries[1]["id"]]
    detail = client.get(f"{URL}/{coupon['id']}", headers=admin.headers).json()
    assert detail["targeted"] is True

    page = client.get(f"{URL}/{coupon['id']}/allowed?limit=2", headers=admin.headers).json()
    assert (page["total"], page["limit"], len(page["items"])) == (3, 2, 2)
    [first_add] = audit_changes(db, "coupon.allow_list_added", coupon["id"])
    assert first_add == {
        "phones": ["+91******2345", "+91******3210"],
        "user_ids": [me.user_id],
        "targeted": {"old": False, "new": True},
    }


def test_allow_list_refusals(client, admin):
    coupon = create(client, admin, code="VIPREFUSE")
    assert_error(allow(client, admin, coupon["id"], phones=["12345"]), 422, "invalid_phone")
    unknown = assert_error(
        allow(client, admin, coupon["id"], user_ids=[2_000_000_000]), 422, "invalid_allow_list"
    )
    assert unknown["details"][0]["field"] == "user_ids"
    assert_error(allow(client, admin, coupon["id"]), 422, "validation_error")
    assert_error(
        allow(client, admin, 2_000_000_000, phones=["9876543210"]), 404, "coupon_not_found"
    )
    assert_error(
        client.get(f"{URL}/2000000000/allowed", headers=admin.headers), 404, "coupon_not_found"
    )
    other = create(client, admin, code="VIPOTHER")
    entry = allow(client, admin, other["id"], phones=["9876543210"]).json()["entries"][0]
    assert_error(
        client.delete(f"{URL}/{coupon['id']}/allowed/{entry['id']}", headers=admin.headers),
        404,
        "allowed_entry_not_found",
    )


def test_targeting_is_cleared_only_once_the_list_is_empty(client, db, admin):
    coupon = create(client, admin, code="VIPCLEAR")
    entry = allow(client, admin, coupon["id"], phones=["9876543210"]).json()["entries"][0]
    refused = assert_error(
        client.put(f"{URL}/{coupon['id']}", headers=admin.headers, json={"targeted": False}),
        422,
        "invalid_coupon",
    )
    assert refused["details"][0]["field"] == "targeted"
    removed = client.delete(f"{URL}/{coupon['id']}/allowed/{entry['id']}", headers=admin.headers)
    assert removed.status_code == 204
    assert audit_changes(db, "coupon.allow_list_removed", coupon["id"]) == [
        {"phone": "+91******3210", "user_id": None}
    ]
    still = client.get(f"{URL}/{coupon['id']}", headers=admin.headers).json()
    assert still["targeted"] is True  # an empty list admits nobody
    opened = client.put(f"{URL}/{coupon['id']}", headers=admin.headers, json={"targeted": False})
    assert opened.status_code == 200 and opened.json()["targeted"] is False


# --- invisible to everyone else ----------------------------------------------------------------


def test_a_targeted_coupon_is_listed_and_applies_only_for_listed_accounts_and_phones(
    client, admin, me, other, product
):
    coupon = create(client, admin, code="FRIENDS25", percent_off=25, public=True)
    create(client, admin, code="EVERYONE5", percent_off=5, public=True)
    assert allow(client, admin, coupon["id"], phones=[me.login.phone]).status_code == 200
    for buyer in (me, other):
        add_to_cart(client, buyer.headers, product.id, [buyer.choice])

    assert listed_codes(client, me) == ["FRIENDS25", "EVERYONE5"]
    assert listed_codes(client, other) == ["EVERYONE5"]
    assert apply(client, me, "friends25").json()["coupon"]["code"] == "FRIENDS25"
    assert_error(apply(client, other, "friends25"), 400, "coupon_invalid")

    assert allow(client, admin, coupon["id"], user_ids=[other.user_id]).status_code == 200
    assert listed_codes(client, other) == ["FRIENDS25", "EVERYONE5"]
    assert apply(client, other, "FRIENDS25").status_code == 200


def test_someone_else_typing_a_targeted_code_gets_exactly_what_an_unknown_code_gets(
    client, db, admin, me, product
):
    coupon = create(client, admin, code="HIDDEN30", percent_off=30)
    allow(client, admin, coupon["id"], phones=["+919876512345"])
    add_to_cart(client, me.headers, product.id, [me.choice])
    client.get("/cart", headers=me.headers)  # the login's session cache warmed

    def attempt(code: str):
        with counting_statements() as statements:
            response = apply(client, me, code)
        return response, [s.split(" FROM ")[0] for s in statements]

    unknown, unknown_statements = attempt("NOSUCH30")
    hidden, hidden_statements = attempt("HIDDEN30")
    assert (hidden.status_code, hidden.json()) == (unknown.status_code, unknown.json())
    assert set(hidden.headers) - {"x-request-id"} == set(unknown.headers) - {"x-request-id"}
    assert len(hidden_statements) == len(unknown_statements)
    db.expire_all()
    rejections = db.scalars(
        select(AuditLog.changes)
        .where(AuditLog.action == "cart.coupon_rejected", AuditLog.actor_user_id == me.user_id)
        .order_by(AuditLog.id)
    ).all()
    assert rejections == [
        {"code": "NOSUCH30", "reason": "coupon_invalid"},
        {"code": "HIDDEN30", "reason": "coupon_invalid"},
    ]


def test_a_phone_listed_before_it_signs_up_can_use_the_coupon(client, admin, category):
    coupon = create(client, admin, code="WELCOMEBACK", public=True)
    allow(client, admin, coupon["id"], phones=["+91 98765 71301"])
    newcomer = login(client, "+919876571301")
    assert listed_codes(client, newcomer) == ["WELCOMEBACK"]


def test_a_coupon_taken_off_a_users_list_drops_from_their_cart(client, admin, me, product):
    coupon = create(client, admin, code="LISTEDONLY", public=True)
    entry = allow(client, admin, coupon["id"], user_ids=[me.user_id]).json()["entries"][0]
    add_to_cart(client, me.headers, product.id, [me.choice])
    assert apply(client, me, "LISTEDONLY").status_code == 200

    client.delete(f"{URL}/{coupon['id']}/allowed/{entry['id']}", headers=admin.headers)
    cart = client.get("/cart", headers=me.headers).json()
    assert cart["coupon"] is None
    assert cart["notices"] == [
        "The coupon LISTEDONLY no longer applies and was removed: This coupon code is not valid."
    ]
    assert listed_codes(client, me) == []


def test_a_hold_is_refused_once_the_user_is_off_the_list(db, me, other):
    coupon = make_coupon(db, targeted=True)
    db.add(CouponAllowedEntry(coupon_id=coupon.id, user_id=me.user_id))
    db.flush()
    mine, theirs = make_order(db, me.user_id), make_order(db, other.user_id)
    hold_coupon(db, coupon_id=coupon.id, user_id=me.user_id, order_id=mine.id, discount_paise=5)
    with pytest.raises(CouponInvalid):
        hold_coupon(
            db, coupon_id=coupon.id, user_id=other.user_id, order_id=theirs.id, discount_paise=5
        )


# --- the account's data ------------------------------------------------------------------------


def test_allow_list_entries_naming_an_account_are_exported_and_erased(client, db, admin, me):
    by_phone = create(client, admin, code="BYPHONE")
    by_account = create(client, admin, code="BYACCOUNT")
    allow(client, admin, by_phone["id"], phones=[me.login.phone, "+919876512345"])
    allow(client, admin, by_account["id"], user_ids=[me.user_id])

    offers = client.get("/profile/export", headers=me.headers).json()["coupon_offers"]
    assert [(o["coupon_code"], o["phone"], o["user_id"]) for o in offers] == [
        ("BYPHONE", me.login.phone, None),
        ("BYACCOUNT", None, me.user_id),
    ]
    code = request_code(client, me.login.phone)
    erased = client.request("DELETE", "/profile", headers=me.headers, json={"otp": code})
    assert erased.status_code == 200, erased.text
    assert erased.json()["coupon_allow_list_entries_erased"] == 2
    db.expire_all()
    left = db.scalars(select(CouponAllowedEntry.phone)).all()
    assert left == ["+919876512345"]
