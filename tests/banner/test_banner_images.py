"""Banner images: checked by their bytes, re-encoded without metadata, at most 2 MB, stored
through the public media store (a folder under MEDIA_ROOT, or an S3 bucket of its own, here the
S3 server the tests run) and served by URL; a replaced or withdrawn image leaves the store."""

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from Banner_module import service as banner_service
from config import Settings
from core.media import IMMUTABLE
from tests.fakes.s3 import aws_env, s3_bucket, s3_client, s3_server  # noqa: F401 (fixtures)
from tests.support.banner import create_banner, upload_image
from tests.support.http import assert_error, free_port
from tests.support.images import JPEG, PNG, WEBP, camera_exif, described, exif_of, image_bytes
from tests.support.login import LoggedIn


def banner_files(settings: Settings) -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "banners"
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


@pytest.fixture
def banner(client: TestClient, admin: LoggedIn) -> dict[str, Any]:
    return create_banner(client, admin)


@pytest.mark.parametrize(
    ("content", "name", "fmt"),
    [(PNG, "b.png", "PNG"), (JPEG, "b.jpg", "JPEG"), (WEBP, "b.webp", "WEBP")],
)
def test_jpeg_png_and_webp_are_stored_and_served_by_url(
    client: TestClient, admin: LoggedIn, banner: dict[str, Any], content: bytes, name: str, fmt: str
) -> None:
    uploaded = upload_image(client, admin, banner["id"], content, name)
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["image_url"]
    assert url.startswith(f"/media/banners/{banner['id']}/")
    served = client.get(url)
    assert served.status_code == 200
    assert described(served.content) == (fmt, (4, 3))


def test_the_type_is_told_by_the_bytes_and_the_metadata_is_dropped(
    client: TestClient, admin: LoggedIn, banner: dict[str, Any]
) -> None:
    # A phone photo (GPS, camera serial, rotated by EXIF) sent under a misleading name and type.
    photo = image_bytes("JPEG", size=(6, 4), exif=camera_exif(orientation=6))
    assert exif_of(photo)["gps"]
    uploaded = upload_image(client, admin, banner["id"], photo, "sale.png", "image/png")
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["image_url"]
    assert url.endswith(".jpg")
    served = client.get(url).content
    assert exif_of(served) == {}
    assert b"SN-4711" not in served and b"Nucleotide Test Camera" not in served
    assert described(served) == ("JPEG", (4, 6))  # the orientation applied to the pixels


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"%PDF-1.7 not a picture", "sale.png"),
        (b"GIF89a" + b"\x00" * 64, "sale.gif"),
        (PNG[: len(PNG) // 2], "cut.png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "fake.png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.svg"),
    ],
)
def test_anything_but_a_whole_jpeg_png_or_webp_is_415(
    client: TestClient,
    admin: LoggedIn,
    banner: dict[str, Any],
    settings: Settings,
    content: bytes,
    name: str,
) -> None:
    before = banner_files(settings)
    response = upload_image(client, admin, banner["id"], content, name, "image/png")
    assert_error(response, 415, "unsupported_image_type")
    assert banner_files(settings) == before
    seen = client.get(f"/banners/admin/{banner['id']}", headers=admin.headers).json()
    assert seen["image_url"] is None


def test_a_picture_of_too_many_pixels_is_415(
    client: TestClient, admin: LoggedIn, banner: dict[str, Any]
) -> None:
    huge = image_bytes("PNG", size=(5000, 4000))  # 20 megapixels in a few kB
    assert len(huge) < 2_000_000
    response = upload_image(client, admin, banner["id"], huge)
    assert_error(response, 415, "unsupported_image_type")


def test_more_than_2_mb_is_413(
    client: TestClient, admin: LoggedIn, banner: dict[str, Any], settings: Settings
) -> None:
    assert settings.MAX_BANNER_IMAGE_BYTES == 2 * 1_048_576
    too_big = PNG + b"\x00" * (settings.MAX_BANNER_IMAGE_BYTES + 1 - len(PNG))
    response = upload_image(client, admin, banner["id"], too_big)
    assert_error(response, 413, "file_too_large")
    exactly = upload_image(client, admin, banner["id"], too_big[:-1])
    assert exactly.status_code != 413  # at the limit it is looked at (and is a PNG with junk)


def test_local_files_are_readable_by_a_web_server(
    client: TestClient, admin: LoggedIn, banner: dict[str, Any], settings: Settings
) -> None:
    url = upload_image(client, admin, banner["id"]).json()["image_url"]
    path = Path(settings.MEDIA_ROOT) / url.removeprefix(settings.MEDIA_URL + "/")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755


def test_replacing_the_image_removes_the_old_file_and_a_failed_upload_leaves_none(
    client: TestClient,
    admin: LoggedIn,
    banner: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = banner_files(settings)  # earlier tests' files (their rows are rolled back)
    first = upload_image(client, admin, banner["id"]).json()["image_url"]
    second = upload_image(client, admin, banner["id"], JPEG, "b.jpg").json()["image_url"]
    assert first != second
    assert client.get(first).status_code == 404
    [kept] = banner_files(settings) - before
    assert kept.name == second.rsplit("/", 1)[-1]

    def broken_audit(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(banner_service, "record_audit", broken_audit)
    failed = upload_image(client, admin, banner["id"], WEBP, "b.webp")
    assert_error(failed, 500, "internal_error")
    assert banner_files(settings) - before == {kept}
    seen = client.get(f"/banners/admin/{banner['id']}", headers=admin.headers).json()
    assert seen["image_url"] == second
    assert client.get(second).status_code == 200


@pytest.fixture
def s3_media(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: str,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> Iterator[str]:
    """Public images in a bucket of the test S3 server, made readable by everyone with a bucket
    policy (as in production) and linked at the bucket's own address."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{s3_bucket}/*",
            }
        ],
    }
    s3_client(s3_server).put_bucket_policy(Bucket=s3_bucket, Policy=json.dumps(policy))
    monkeypatch.setattr(settings, "PUBLIC_MEDIA_BACKEND", "s3")
    monkeypatch.setattr(settings, "MEDIA_S3_BUCKET", s3_bucket)
    monkeypatch.setattr(settings, "MEDIA_S3_PUBLIC_URL", f"{s3_server}/{s3_bucket}")
    monkeypatch.setattr(settings, "S3_ENDPOINT_URL", s3_server)
    yield f"{s3_server}/{s3_bucket}"


def test_on_s3_the_image_is_an_object_of_the_public_bucket_served_from_its_address(
    client: TestClient,
    admin: LoggedIn,
    banner: dict[str, Any],
    settings: Settings,
    s3_media: str,
    s3_server: str,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    on_disk = banner_files(settings)
    photo = image_bytes("JPEG", size=(6, 4), exif=camera_exif())
    uploaded = upload_image(client, admin, banner["id"], photo, "b.jpg")
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["image_url"]
    assert url.startswith(f"{s3_media}/banners/{banner['id']}/") and url.endswith(".jpg")
    key = url.removeprefix(s3_media + "/")
    stored = s3_client(s3_server).get_object(Bucket=s3_bucket, Key=key)
    assert stored["ContentType"] == "image/jpeg"
    assert stored["CacheControl"] == IMMUTABLE
    assert banner_files(settings) == on_disk  # nothing written on this machine's disk

    served = httpx.get(url)  # what an app does with the URL: no credentials
    assert served.status_code == 200
    assert exif_of(served.content) == {}
    assert [item["image_url"] for item in client.get("/banners").json()["items"]] == [url]

    replaced = upload_image(client, admin, banner["id"], PNG).json()["image_url"]
    assert keys(s3_server, s3_bucket) == [replaced.removeprefix(s3_media + "/")]
    assert client.delete(f"/banners/admin/{banner['id']}", headers=admin.headers).status_code == 204
    assert keys(s3_server, s3_bucket) == []


def keys(server: str, bucket: str) -> list[str]:
    listing = s3_client(server).list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_when_the_store_is_down_the_upload_is_503_and_nothing_changes(
    client: TestClient,
    admin: LoggedIn,
    banner: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    aws_env: None,  # noqa: F811
) -> None:
    monkeypatch.setattr(settings, "PUBLIC_MEDIA_BACKEND", "s3")
    monkeypatch.setattr(settings, "MEDIA_S3_BUCKET", "banners")
    monkeypatch.setattr(settings, "MEDIA_S3_PUBLIC_URL", "https://media.nucleotide.example")
    monkeypatch.setattr(settings, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(settings, "S3_CONNECT_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(settings, "S3_MAX_ATTEMPTS", 1)
    response = upload_image(client, admin, banner["id"])
    assert_error(response, 503, "storage_unavailable")
    assert response.headers["Retry-After"]
    seen = client.get(f"/banners/admin/{banner['id']}", headers=admin.headers).json()
    assert seen["image_url"] is None
