"""Admin coupon management under /cart/admin/coupons."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from Audit_module.models import AuditLog
from Cart_module.models import Coupon, RedemptionStatus
from tests.support.factories.cart import make_coupon, make_redemption
from tests.support.http import assert_error
from tests.support.login import login

URL = "/cart/admin/coupons"


def audit_rows(db, action, entity_id):
    db.expire_all()
    return db.scalars(
        select(AuditLog)
        .where(AuditLog.action == action, AuditLog.entity_id == str(entity_id))
        .order_by(AuditLog.id)
    ).all()


def percent(**overrides):
    return {"code": "summer10", "discount_type": "percent", "percent_off": 10, **overrides}


def test_customers_get_403_and_anonymous_callers_401(client, db):
    customer = login(client, "+919876500021")
    coupon = make_coupon(db)
    calls = [
        ("get", URL, None),
        ("post", URL, percent()),
        ("get", f"{URL}/{coupon.id}", None),
        ("put", f"{URL}/{coupon.id}", {"percent_off": 20}),
        ("delete", f"{URL}/{coupon.id}", None),
    ]
    for method, path, body in calls:
        assert_error(
            client.request(method, path, headers=customer.headers, json=body), 403, "admin_required"
        )
        assert_error(client.request(method, path, json=body), 401, "not_authenticated")
    db.expire_all()
    assert db.get(Coupon, coupon.id).active is True


def test_creating_a_coupon_upper_cases_the_code_and_is_audited(client, db, admin, category):
    valid_from = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    body = percent(
        description="Summer sale",
        max_discount_paise=50_000,
        min_order_paise=100_000,
        valid_from=valid_from.isoformat(),
        valid_to=(valid_from + timedelta(days=30)).isoformat(),
        usage_limit_total=100,
        usage_limit_per_user=1,
        category_ids=[category.id, category.id],
    )
    response = client.post(URL, headers=admin.headers, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["code"] == "SUMMER10"
    assert created["category_ids"] == [category.id]
    assert created["product_ids"] == []
    assert created["active"] is True
    assert (created["used_count"], created["held_count"]) == (0, 0)
    assert datetime.fromisoformat(created["valid_from"]) == valid_from
    [entry] = audit_rows(db, "coupon.created", created["id"])
    assert entry.actor_user_id == admin.user_id
    assert entry.changes["code"] == "SUMMER10"


def test_a_flat_coupon(client, admin):
    response = client.post(
        URL,
        headers=admin.headers,
        json={"code": "FLAT-500", "discount_type": "flat", "amount_off_paise": 50_000},
    )
    assert response.status_code == 201, response.text
    assert response.json()["amount_off_paise"] == 50_000
    assert response.json()["percent_off"] is None


@pytest.mark.parametrize("code", ["AB", "X" * 33, "HAS SPACE", "ÜBER10", "semi;colon"])
def test_codes_must_be_3_to_32_plain_characters(client, admin, code):
    assert_error(
        client.post(URL, headers=admin.headers, json=percent(code=code)), 422, "validation_error"
    )


def test_a_duplicate_code_in_any_case_is_a_conflict(client, db, admin):
    make_coupon(db, code="DUPE")
    assert_error(
        client.post(URL, headers=admin.headers, json=percent(code="dupe")), 409, "coupon_exists"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (percent(percent_off=None), "percent_off"),
        (percent(amount_off_paise=100), "amount_off_paise"),
        ({"code": "FLAT1", "discount_type": "flat"}, "amount_off_paise"),
        ({"code": "FLAT2", "discount_type": "flat", "amount_off_paise": 0}, "amount_off_paise"),
        (
            {"code": "FLAT3", "discount_type": "flat", "amount_off_paise": 5, "percent_off": 5},
            "percent_off",
        ),
        (
            {
                "code": "FLAT4",
                "discount_type": "flat",
                "amount_off_paise": 5,
                "max_discount_paise": 5,
            },
            "max_discount_paise",
        ),
        (
            percent(valid_from="2030-01-02T00:00:00+05:30", valid_to="2030-01-01T00:00:00+05:30"),
            "valid_to",
        ),
        (
            percent(valid_from="2030-01-01T00:00:00+05:30", valid_to="2030-01-01T00:00:00+05:30"),
            "valid_to",
        ),
        (percent(product_ids=[999_999]), "product_ids"),
        (percent(category_ids=[999_999]), "category_ids"),
    ],
)
def test_inconsistent_settings_are_invalid_coupon(client, admin, body, field):
    response = client.post(URL, headers=admin.headers, json=body)
    error = assert_error(response, 422, "invalid_coupon")
    assert field in [detail["field"] for detail in error["details"]]


@pytest.mark.parametrize(
    "overrides",
    [
        {"percent_off": 0},
        {"percent_off": 101},
        {"min_order_paise": -1},
        {"max_discount_paise": 10**12 + 1},
        {"usage_limit_total": 0},
        {"usage_limit_per_user": 0},
        {"valid_from": "2030-01-01T00:00:00"},
        {"discount_type": "bogo"},
        {"unknown": 1},
        {"description": "x" * 256},
    ],
)
def test_out_of_range_fields_are_validation_errors(client, admin, overrides):
    assert_error(
        client.post(URL, headers=admin.headers, json=percent(**overrides)), 422, "validation_error"
    )


def test_listing_is_paginated_filterable_and_counts_uses(client, db, admin, me):
    live = make_coupon(db, code="LIVE")
    make_coupon(db, code="DEAD", active=False)
    make_redemption(db, live, me.user_id, status=RedemptionStatus.USED)
    make_redemption(db, live, me.user_id, status=RedemptionStatus.USED)
    make_redemption(db, live, me.user_id, status=RedemptionStatus.HELD)
    make_redemption(db, live, me.user_id, status=RedemptionStatus.RELEASED)

    page = client.get(URL, headers=admin.headers, params={"limit": 1}).json()
    assert page["total"] == 2 and page["limit"] == 1 and len(page["items"]) == 1
    assert page["items"][0]["code"] == "DEAD"  # newest first

    active = client.get(URL, headers=admin.headers, params={"active": "true"}).json()
    assert [c["code"] for c in active["items"]] == ["LIVE"]
    assert (active["items"][0]["used_count"], active["items"][0]["held_count"]) == (2, 1)
    inactive = client.get(URL, headers=admin.headers, params={"active": "false"}).json()
    assert [c["code"] for c in inactive["items"]] == ["DEAD"]

    one = client.get(f"{URL}/{live.id}", headers=admin.headers).json()
    assert (one["code"], one["used_count"], one["held_count"]) == ("LIVE", 2, 1)


def test_an_unknown_coupon_is_not_found(client, admin):
    for method, body in [("get", None), ("put", {"percent_off": 5}), ("delete", None)]:
        response = client.request(method, f"{URL}/999999", headers=admin.headers, json=body)
        assert_error(response, 404, "coupon_not_found")


def test_updates_change_only_what_is_sent_and_are_audited(client, db, admin):
    coupon = make_coupon(db, code="EDIT-ME", percent_off=10, usage_limit_total=5)
    response = client.put(
        f"{URL}/{coupon.id}",
        headers=admin.headers,
        json={"percent_off": 15, "usage_limit_total": None, "description": "Now 15"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["percent_off"], updated["usage_limit_total"]) == (15, None)
    assert updated["code"] == "EDIT-ME"
    [entry] = audit_rows(db, "coupon.updated", coupon.id)
    assert entry.changes["percent_off"] == {"old": 10, "new": 15}
    assert entry.changes["usage_limit_total"] == {"old": 5, "new": None}
    assert "code" not in entry.changes


def test_updates_are_validated_on_the_merged_coupon(client, db, admin):
    coupon = make_coupon(db, code="MERGE", percent_off=10)
    make_coupon(db, code="TAKEN")
    url = f"{URL}/{coupon.id}"
    assert_error(
        client.put(url, headers=admin.headers, json={"discount_type": "flat"}),
        422,
        "invalid_coupon",
    )
    switched = client.put(
        url,
        headers=admin.headers,
        json={"discount_type": "flat", "percent_off": None, "amount_off_paise": 20_000},
    )
    assert switched.status_code == 200, switched.text
    assert_error(
        client.put(url, headers=admin.headers, json={"code": "taken"}), 409, "coupon_exists"
    )
    assert_error(
        client.put(url, headers=admin.headers, json={"code": None}), 422, "validation_error"
    )
    assert_error(
        client.put(
            url,
            headers=admin.headers,
            json={"valid_from": "2031-01-01T00:00:00Z", "valid_to": "2030-01-01T00:00:00Z"},
        ),
        422,
        "invalid_coupon",
    )
    renamed = client.put(url, headers=admin.headers, json={"code": "merged-2"})
    assert renamed.json()["code"] == "MERGED-2"


def test_deleting_deactivates_and_is_audited_once(client, db, admin):
    coupon = make_coupon(db, code="BYE")
    assert client.delete(f"{URL}/{coupon.id}", headers=admin.headers).status_code == 204
    db.expire_all()
    assert db.get(Coupon, coupon.id).active is False
    assert client.delete(f"{URL}/{coupon.id}", headers=admin.headers).status_code == 204
    [entry] = audit_rows(db, "coupon.deactivated", coupon.id)
    assert entry.changes == {"active": {"old": True, "new": False}}
    assert client.get(f"{URL}/{coupon.id}", headers=admin.headers).json()["active"] is False
