"""Home banners the way the admin's console makes them: create over HTTP, then upload a picture."""

from typing import Any

from fastapi.testclient import TestClient

from tests.support.images import PNG
from tests.support.login import LoggedIn

CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def create_banner(client: TestClient, admin: LoggedIn, **fields: Any) -> dict[str, Any]:
    """POST /banners/admin with a title (unless given) and `fields`; the 201 answer."""
    response = client.post(
        "/banners/admin", headers=admin.headers, json={"title": "Monsoon sale", **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


def upload_image(
    client: TestClient,
    admin: LoggedIn,
    banner_id: int,
    content: bytes = PNG,
    name: str = "banner.png",
    content_type: str | None = None,
) -> Any:
    """POST the picture as a browser's file input does (multipart `file`)."""
    ctype = content_type or CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")
    return client.post(
        f"/banners/admin/{banner_id}/image",
        headers=admin.headers,
        files={"file": (name, content, ctype)},
    )


def live_banner(client: TestClient, admin: LoggedIn, **fields: Any) -> dict[str, Any]:
    """A banner with its picture uploaded: what GET /banners shows (when its window holds)."""
    banner = create_banner(client, admin, **fields)
    uploaded = upload_image(client, admin, banner["id"])
    assert uploaded.status_code == 200, uploaded.text
    return uploaded.json()
