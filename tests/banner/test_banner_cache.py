"""The public carousel is cached like the catalogue: a strong ETag, 304 on a match, public
Cache-Control, served from memory; an admin's change (or one to the product a banner points at)
shows at once and moves the stamp every replica follows; a window opening or closing shows at
its moment with no write at all."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from core import clock
from core.redis import get_redis
from core.response_cache import VERSION_KEY, CatalogueCache, catalogue_cache
from Product_module.models import Product
from tests.support.banner import create_banner, live_banner, upload_image
from tests.support.database import counting_statements
from tests.support.login import LoggedIn

PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=300"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=clock.IST)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "frozen", NOW)


def titles(client: TestClient, path: str = "/banners") -> list[str]:
    return [item["title"] for item in client.get(path).json()["items"]]


def test_a_repeated_answer_comes_from_memory_with_its_etag_and_a_match_is_304(
    client: TestClient, admin: LoggedIn
) -> None:
    live_banner(client, admin)
    first = client.get("/banners?platform=app")
    assert first.status_code == 200
    assert first.headers["cache-control"] == PUBLIC_CACHE_CONTROL
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    with counting_statements() as statements:
        again = client.get("/banners?platform=app")
        matched = client.get("/banners?platform=app", headers={"If-None-Match": etag})
    assert statements == []
    assert (again.content, again.headers["etag"]) == (first.content, etag)
    assert matched.status_code == 304
    assert matched.content == b""
    assert matched.headers["etag"] == etag
    assert matched.headers["cache-control"] == PUBLIC_CACHE_CONTROL


def test_every_admin_change_shows_at_once_with_a_new_etag(
    client: TestClient, admin: LoggedIn
) -> None:
    banner = live_banner(client, admin, title="Monsoon sale")
    path = f"/banners/admin/{banner['id']}"
    seen = [client.get("/banners")]
    assert client.put(path, headers=admin.headers, json={"title": "Diwali sale"}).status_code == 200
    seen.append(client.get("/banners"))
    assert upload_image(client, admin, banner["id"]).status_code == 200
    seen.append(client.get("/banners"))
    live_banner(client, admin, title="Second")
    seen.append(client.get("/banners"))
    assert client.delete(path, headers=admin.headers).status_code == 204
    seen.append(client.get("/banners"))
    assert [[b["title"] for b in s.json()["items"]] for s in seen] == [
        ["Monsoon sale"],
        ["Diwali sale"],
        ["Diwali sale"],
        ["Diwali sale", "Second"],
        ["Second"],
    ]
    etags = [response.headers["etag"] for response in seen]
    assert len(set(etags)) == len(etags)  # the new image's URL is a change too
    old = client.get("/banners", headers={"If-None-Match": etags[0]})
    assert old.status_code == 200


def test_a_product_going_off_sale_takes_its_banner_out_of_the_cached_list(
    client: TestClient, admin: LoggedIn, product: Product
) -> None:
    live_banner(client, admin, action={"type": "product", "value": product.slug})
    assert titles(client) == ["Monsoon sale"]
    assert client.delete(f"/products/{product.id}", headers=admin.headers).status_code == 204
    assert titles(client) == []


def test_a_window_opening_or_closing_shows_at_its_moment_without_any_write(
    client: TestClient, admin: LoggedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    opens, closes = NOW + timedelta(minutes=10), NOW + timedelta(minutes=20)
    live_banner(
        client, admin, title="flash sale", starts_at=opens.isoformat(), ends_at=closes.isoformat()
    )
    live_banner(client, admin, title="always")
    assert titles(client) == ["always"]
    version = get_redis().get(VERSION_KEY)

    monkeypatch.setattr(clock, "frozen", opens - timedelta(microseconds=1))
    with counting_statements() as statements:
        assert titles(client) == ["always"]
    assert statements == []  # still cached: nothing has changed yet

    monkeypatch.setattr(clock, "frozen", opens)
    assert titles(client) == ["flash sale", "always"]
    monkeypatch.setattr(clock, "frozen", closes)
    assert titles(client) == ["always"]
    assert get_redis().get(VERSION_KEY) == version  # no write: the answer knew its moment


def test_a_banner_write_moves_the_stamp_another_replica_follows(
    client: TestClient, admin: LoggedIn
) -> None:
    other = CatalogueCache()  # a second process's cache on the same Redis
    other.refresh()
    before = other.version
    assert before is not None
    banner = create_banner(client, admin)
    other.refresh()  # what its poller does every VERSION_POLL_SECONDS (<= 1 s)
    assert other.version != before
    after_create = other.version
    client.put(f"/banners/admin/{banner['id']}", headers=admin.headers, json={"position": 2})
    other.refresh()
    assert other.version != after_create
    other.stop()
    assert catalogue_cache.version == other.version


def test_callers_with_a_token_get_a_fresh_uncached_answer(
    client: TestClient, admin: LoggedIn, customer: LoggedIn
) -> None:
    live_banner(client, admin)
    client.get("/banners")
    with counting_statements() as statements:
        response = client.get("/banners", headers=customer.headers)
    assert response.status_code == 200
    assert statements
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers
