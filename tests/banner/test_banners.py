"""Home banners over HTTP: the public carousel shows only live banners (window, active, platform,
an image, a target on sale) in position order; admins create, change and delete them, each
change audited, and see each banner's state; bad input is refused with stable codes."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from Category_module.models import Category
from core import clock
from Product_module.models import Product
from tests.support.banner import create_banner, live_banner, upload_image
from tests.support.factories.product import make_product
from tests.support.http import assert_error
from tests.support.login import LoggedIn

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=clock.IST)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "frozen", NOW)


def at(moment: datetime) -> str:
    return moment.isoformat()


def public(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get("/banners", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def titles(items: list[dict[str, Any]]) -> list[str]:
    return [item["title"] for item in items]


def test_a_banner_is_shown_once_it_has_an_image(
    client: TestClient, admin: LoggedIn, product: Product
) -> None:
    banner = create_banner(
        client,
        admin,
        title="Know your gut",
        subtitle="20% off this week",
        action={"type": "product", "value": "gut"},
        position=3,
    )
    assert banner["image_url"] is None
    assert (banner["state"], banner["visible"]) == ("live", False)
    assert banner["platforms"] == ["app", "web"]
    assert public(client) == []

    uploaded = upload_image(client, admin, banner["id"])
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["visible"] is True
    [shown] = public(client)
    assert shown == {
        "id": banner["id"],
        "title": "Know your gut",
        "subtitle": "20% off this week",
        "image_url": uploaded.json()["image_url"],
        "action": {"type": "product", "value": "gut"},
        "position": 3,
    }
    assert shown["image_url"].startswith("/media/banners/")
    assert client.get(shown["image_url"]).headers["content-type"] == "image/png"


def test_only_live_banners_in_position_then_id_order(client: TestClient, admin: LoggedIn) -> None:
    live_banner(client, admin, title="second", position=2)
    live_banner(client, admin, title="first", position=1)
    live_banner(client, admin, title="first too", position=1)
    live_banner(client, admin, title="off", position=0, active=False)
    live_banner(client, admin, title="later", starts_at=at(NOW + HOUR))
    live_banner(client, admin, title="over", ends_at=at(NOW - timedelta(seconds=1)))
    live_banner(client, admin, title="window", starts_at=at(NOW - HOUR), ends_at=at(NOW + HOUR))
    create_banner(client, admin, title="no picture")
    assert titles(public(client)) == ["window", "first", "first too", "second"]


def test_the_window_includes_its_start_and_excludes_its_end(
    client: TestClient, admin: LoggedIn
) -> None:
    live_banner(client, admin, title="starts now", starts_at=at(NOW))
    live_banner(client, admin, title="ends now", ends_at=at(NOW))
    assert titles(public(client)) == ["starts now"]


def test_each_platform_sees_its_banners_and_no_platform_sees_all(
    client: TestClient, admin: LoggedIn
) -> None:
    live_banner(client, admin, title="both")
    live_banner(client, admin, title="app only", platforms=["app"])
    live_banner(client, admin, title="web only", platforms=["web", "web"])
    assert titles(public(client, platform="app")) == ["both", "app only"]
    assert titles(public(client, platform="web")) == ["both", "web only"]
    assert titles(public(client)) == ["both", "app only", "web only"]
    assert_error(client.get("/banners", params={"platform": "tv"}), 422, "validation_error")


def test_a_banner_whose_product_goes_off_sale_is_left_out_and_back_when_it_returns(
    client: TestClient, admin: LoggedIn, product: Product
) -> None:
    banner = live_banner(client, admin, action={"type": "product", "value": "gut"})
    assert titles(public(client)) == ["Monsoon sale"]
    assert client.delete(f"/products/{product.id}", headers=admin.headers).status_code == 204
    assert public(client) == []
    seen = client.get(f"/banners/admin/{banner['id']}", headers=admin.headers).json()
    assert (seen["state"], seen["visible"]) == ("live", False)
    back = client.put(f"/products/{product.id}", headers=admin.headers, json={"is_active": True})
    assert back.status_code == 200, back.text
    assert titles(public(client)) == ["Monsoon sale"]


def test_a_banner_follows_its_product_when_the_slug_changes(
    client: TestClient, admin: LoggedIn, product: Product
) -> None:
    live_banner(client, admin, action={"type": "product", "value": "gut"})
    renamed = client.put(
        f"/products/{product.id}", headers=admin.headers, json={"slug": "gut-health"}
    )
    assert renamed.status_code == 200, renamed.text
    [shown] = public(client)
    assert shown["action"] == {"type": "product", "value": "gut-health"}


def test_a_banner_whose_category_is_switched_off_or_whose_target_is_gone_is_left_out(
    client: TestClient, admin: LoggedIn, db: Session, category: Category
) -> None:
    live_banner(client, admin, title="shelf", action={"type": "category", "value": category.slug})
    gone = make_product(db, category, slug="soon-gone")
    live_banner(client, admin, title="gone", action={"type": "product", "value": gone.slug})
    live_banner(client, admin, title="away", action={"type": "url", "value": "https://x.example/a"})
    assert titles(public(client)) == ["shelf", "gone", "away"]
    db.delete(gone)
    db.flush()
    assert titles(public(client)) == ["shelf", "away"]
    off = client.put(f"/categories/{category.id}", headers=admin.headers, json={"is_active": False})
    assert off.status_code == 200, off.text
    assert titles(public(client)) == ["away"]
    listed = client.get("/banners/admin", headers=admin.headers).json()["items"]
    assert [(b["title"], b["action"], b["visible"]) for b in listed] == [
        ("shelf", {"type": "category", "value": category.slug}, False),
        ("gone", {"type": "product", "value": None}, False),
        ("away", {"type": "url", "value": "https://x.example/a"}, True),
    ]


def test_the_admin_list_shows_each_banners_state_and_filters_by_it(
    client: TestClient, admin: LoggedIn
) -> None:
    live_banner(client, admin, title="live")
    create_banner(client, admin, title="scheduled", starts_at=at(NOW + HOUR))
    create_banner(client, admin, title="expired", ends_at=at(NOW - HOUR))
    create_banner(client, admin, title="inactive", active=False, starts_at=at(NOW + HOUR))
    page = client.get("/banners/admin", headers=admin.headers).json()
    assert page["total"] == 4
    assert {b["title"]: b["state"] for b in page["items"]} == {
        "live": "live",
        "scheduled": "scheduled",
        "expired": "expired",
        "inactive": "inactive",
    }
    for state in ("live", "scheduled", "expired", "inactive"):
        only = client.get("/banners/admin", params={"state": state}, headers=admin.headers)
        assert [b["title"] for b in only.json()["items"]] == [state]


def test_changes_are_partial_and_checked_on_the_merged_window(
    client: TestClient, admin: LoggedIn, product: Product
) -> None:
    banner = live_banner(
        client,
        admin,
        action={"type": "product", "value": "gut"},
        starts_at=at(NOW - HOUR),
        ends_at=at(NOW + HOUR),
    )
    path = f"/banners/admin/{banner['id']}"
    refused = client.put(path, headers=admin.headers, json={"ends_at": at(NOW - 2 * HOUR)})
    body = assert_error(refused, 422, "invalid_banner")
    assert [d["field"] for d in body["details"]] == ["ends_at"]

    changed = client.put(
        path, headers=admin.headers, json={"subtitle": "Now", "ends_at": None, "action": None}
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["title"], after["subtitle"], after["ends_at"]) == ("Monsoon sale", "Now", None)
    assert after["action"] == {"type": "none", "value": None}
    assert after["starts_at"] == "2026-12-07T03:30:00Z"  # kept, and given back in UTC
    assert_error(
        client.put(path, headers=admin.headers, json={"title": None}), 422, "validation_error"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": "x" * 81}, "validation_error"),
        ({"title": "   "}, "validation_error"),
        ({"title": "Sale\u202egpj.exe"}, "validation_error"),
        ({"title": "Sale", "subtitle": "y" * 161}, "validation_error"),
        ({"title": "Sale", "subtitle": "two\nlines"}, "validation_error"),
        ({"title": "Sale", "platforms": []}, "validation_error"),
        ({"title": "Sale", "position": -1}, "validation_error"),
        ({"title": "Sale", "starts_at": "2026-12-07T10:00:00"}, "validation_error"),
        ({"title": "Sale", "ends_at": "9999-12-31T23:00:00-14:00"}, "validation_error"),
        ({"title": "Sale", "colour": "red"}, "validation_error"),
        (
            {"title": "Sale", "action": {"type": "url", "value": "http://x.example"}},
            "invalid_banner_action",
        ),
        (
            {"title": "Sale", "action": {"type": "url", "value": "https://u:p@x.example"}},
            "invalid_banner_action",
        ),
        (
            {"title": "Sale", "action": {"type": "url", "value": "javascript:alert(1)"}},
            "invalid_banner_action",
        ),
        ({"title": "Sale", "action": {"type": "url"}}, "invalid_banner_action"),
        (
            {"title": "Sale", "action": {"type": "product", "value": "Not A Slug"}},
            "invalid_banner_action",
        ),
        ({"title": "Sale", "action": {"type": "none", "value": "gut"}}, "invalid_banner_action"),
        (
            {"title": "Sale", "action": {"type": "product", "value": "no-such-product"}},
            "invalid_banner",
        ),
        (
            {"title": "Sale", "action": {"type": "category", "value": "no-such-shelf"}},
            "invalid_banner",
        ),
        (
            {
                "title": "Sale",
                "starts_at": "2026-12-08T10:00:00+05:30",
                "ends_at": "2026-12-08T04:30:00Z",
            },
            "invalid_banner",
        ),
    ],
)
def test_bad_banners_are_refused_with_a_stable_code(
    client: TestClient, admin: LoggedIn, body: dict[str, Any], code: str
) -> None:
    assert_error(client.post("/banners/admin", headers=admin.headers, json=body), 422, code)
    assert client.get("/banners/admin", headers=admin.headers).json()["total"] == 0


def test_customers_are_refused_every_admin_route(
    client: TestClient, admin: LoggedIn, customer: LoggedIn
) -> None:
    banner = live_banner(client, admin)
    path = f"/banners/admin/{banner['id']}"
    for method, url in (
        ("GET", "/banners/admin"),
        ("POST", "/banners/admin"),
        ("GET", path),
        ("PUT", path),
        ("DELETE", path),
        ("POST", f"{path}/image"),
    ):
        response = client.request(method, url, headers=customer.headers, json={"title": "Mine"})
        assert_error(response, 403, "admin_required")
    assert_error(client.post("/banners/admin", json={"title": "Mine"}), 401, "not_authenticated")
    assert titles(public(client)) == ["Monsoon sale"]


def test_unknown_and_deleted_banners_are_404(client: TestClient, admin: LoggedIn) -> None:
    banner = live_banner(client, admin)
    path = f"/banners/admin/{banner['id']}"
    assert client.delete(path, headers=admin.headers).status_code == 204
    for method, url in (
        ("GET", path),
        ("PUT", path),
        ("DELETE", path),
        ("GET", "/banners/admin/999999"),
    ):
        response = client.request(method, url, headers=admin.headers, json={"title": "Again"})
        assert_error(response, 404, "banner_not_found")
    assert_error(upload_image(client, admin, banner["id"]), 404, "banner_not_found")
    assert_error(upload_image(client, admin, 999_999), 404, "banner_not_found")


def test_deleting_is_soft_hides_the_banner_everywhere_and_removes_its_image(
    client: TestClient, admin: LoggedIn
) -> None:
    banner = live_banner(client, admin)
    image_url = banner["image_url"]
    assert client.get(image_url).status_code == 200
    assert client.delete(f"/banners/admin/{banner['id']}", headers=admin.headers).status_code == 204
    assert public(client) == []
    assert client.get("/banners/admin", headers=admin.headers).json()["items"] == []
    assert client.get(image_url).status_code == 404
    trail = audit(client, admin, banner["id"])
    assert [entry["action"] for entry in trail] == [
        "banner.deleted",
        "banner.image_set",
        "banner.created",
    ]


def audit(client: TestClient, admin: LoggedIn, banner_id: int) -> list[dict[str, Any]]:
    response = client.get(
        "/audit",
        params={"entity_type": "banner", "entity_id": str(banner_id)},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_every_change_is_audited_with_its_admin_and_what_changed(
    client: TestClient, admin: LoggedIn, product: Product
) -> None:
    banner = create_banner(client, admin, action={"type": "product", "value": "gut"})
    path = f"/banners/admin/{banner['id']}"
    assert client.put(path, headers=admin.headers, json={"position": 5}).status_code == 200
    assert client.put(path, headers=admin.headers, json={"position": 5}).status_code == 200
    assert upload_image(client, admin, banner["id"]).status_code == 200
    created, updated, image = reversed(audit(client, admin, banner["id"]))
    assert {entry["actor_user_id"] for entry in (created, updated, image)} == {admin.user_id}
    assert created["action"] == "banner.created"
    assert created["changes"]["title"] == {"old": None, "new": "Monsoon sale"}
    assert created["changes"]["product_id"] == {"old": None, "new": product.id}
    assert updated["action"] == "banner.updated"
    assert updated["changes"] == {"position": {"old": 0, "new": 5}}  # the repeat changed nothing
    assert image["action"] == "banner.image_set"
    assert image["changes"]["image_key"]["old"] is None
