"""Totals of lists over whole tables (admin orders, audit search) may be ADMIN_LIST_TOTAL_SECONDS
old, shared through Redis; their items are always current. A page shorter than its limit knows
its total exactly without counting, so these read full pages (limit=1)."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from core.redis import get_redis
from tests.fakes.razorpay import FakeRazorpay
from tests.support.database import counting_statements
from tests.support.login import ADMIN_PHONE, login
from tests.support.orders import checkout, make_shop, shopper


@pytest.fixture
def recent_totals(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "ADMIN_LIST_TOTAL_SECONDS", 5)
    for key in get_redis().scan_iter("page:total:*"):
        get_redis().delete(key)


def test_the_admin_order_total_may_be_seconds_old_but_the_items_are_current(
    client: TestClient, db: Session, razorpay: FakeRazorpay, recent_totals: None
) -> None:
    shop = make_shop(db)
    first = shopper(client, db, "+919876581001", shop.single)
    checkout(client, first)
    admin = login(client, ADMIN_PHONE)
    before = client.get("/orders/admin?limit=1", headers=admin.headers).json()
    second = shopper(client, db, "+919876581002", shop.single)
    placed = checkout(client, second).json()["order"]
    with counting_statements() as statements:
        after = client.get("/orders/admin?limit=1", headers=admin.headers).json()
    assert after["items"][0]["id"] == placed["id"]  # the new order is listed at once
    assert after["total"] == before["total"]  # its count follows within the max age
    assert not any(s.lower().startswith("select count(") for s in statements)
    # Another filter is another total.
    pending = client.get(
        "/orders/admin?status=pending_payment&limit=1", headers=admin.headers
    ).json()
    assert pending["total"] == 2


def test_without_a_max_age_every_total_is_exact(
    client: TestClient, db: Session, razorpay: FakeRazorpay, settings: Settings
) -> None:
    assert settings.ADMIN_LIST_TOTAL_SECONDS == 0
    shop = make_shop(db)
    admin = login(client, ADMIN_PHONE)
    checkout(client, shopper(client, db, "+919876581005", shop.single))
    before = client.get("/orders/admin?limit=1", headers=admin.headers).json()["total"]
    checkout(client, shopper(client, db, "+919876581003", shop.single))
    assert client.get("/orders/admin?limit=1", headers=admin.headers).json()["total"] == before + 1


def test_the_audit_search_total_is_shared_the_same_way(
    client: TestClient, db: Session, recent_totals: None
) -> None:
    admin = login(client, ADMIN_PHONE)
    first = client.get("/audit?entity_type=user&limit=1", headers=admin.headers).json()
    login(client, "+919876581004")  # a new account: another `user` entry
    second = client.get("/audit?entity_type=user&limit=1", headers=admin.headers).json()
    assert second["total"] == first["total"]
    assert second["items"][0]["id"] > first["items"][0]["id"]  # the newest entry, at once
