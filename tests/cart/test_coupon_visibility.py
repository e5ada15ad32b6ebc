"""Public and private coupons: GET /cart/coupons lists only public ones; a private code still
applies when typed; admins set and see `public`."""

from sqlalchemy import select

from Audit_module.models import AuditLog
from tests.support.factories.cart import add_to_cart

URL = "/cart/admin/coupons"


def listed_codes(client, buyer) -> list[str]:
    response = client.get("/cart/coupons", headers=buyer.headers)
    assert response.status_code == 200, response.text
    return [coupon["code"] for coupon in response.json()]


def create(client, admin, **body):
    response = client.post(
        URL,
        headers=admin.headers,
        json={"discount_type": "percent", "percent_off": 10, **body},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_private_coupon_is_not_listed_but_applies_when_typed(client, me, admin, product):
    add_to_cart(client, me.headers, product.id, [me.choice])
    private = create(client, admin, code="STAFF50", percent_off=50)
    public = create(client, admin, code="FESTIVE10", public=True)
    assert (private["public"], public["public"]) == (False, True)

    assert listed_codes(client, me) == ["FESTIVE10"]
    applied = client.post("/cart/coupon", json={"code": "staff50"}, headers=me.headers)
    assert applied.status_code == 200, applied.text
    assert applied.json()["coupon"]["code"] == "STAFF50"
    assert applied.json()["coupon"]["discount_paise"] == 499_900 // 2


def test_admins_switch_a_coupon_public_and_back(client, db, me, admin):
    coupon = create(client, admin, code="PARTNER20", percent_off=20)
    assert listed_codes(client, me) == []

    shown = client.put(f"{URL}/{coupon['id']}", headers=admin.headers, json={"public": True})
    assert shown.status_code == 200, shown.text
    assert shown.json()["public"] is True
    assert listed_codes(client, me) == ["PARTNER20"]
    detail = client.get(f"{URL}/{coupon['id']}", headers=admin.headers).json()
    assert detail["public"] is True
    listing = client.get(URL, headers=admin.headers).json()["items"]
    assert [c["public"] for c in listing if c["code"] == "PARTNER20"] == [True]

    hidden = client.put(f"{URL}/{coupon['id']}", headers=admin.headers, json={"public": False})
    assert hidden.json()["public"] is False
    assert listed_codes(client, me) == []
    db.expire_all()
    changes = db.scalars(
        select(AuditLog.changes)
        .where(AuditLog.action == "coupon.updated", AuditLog.entity_id == str(coupon["id"]))
        .order_by(AuditLog.id)
    ).all()
    assert changes == [
        {"public": {"old": False, "new": True}},
        {"public": {"old": True, "new": False}},
    ]
    refused = client.put(f"{URL}/{coupon['id']}", headers=admin.headers, json={"public": None})
    assert refused.status_code == 422
