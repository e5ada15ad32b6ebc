"""GET/PUT /profile and the profile photo through HTTP."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import Profile_module.service as profile_service
from Audit_module.models import AuditLog
from config import Settings
from core import clock as clock_module
from Login_module.models import User
from tests.support.http import assert_error
from tests.support.images import GPS, JPEG, PNG, WEBP, camera_exif, described, exif_of, image_bytes
from tests.support.login import LoggedIn, login

PHONE = "+919876500041"


@pytest.fixture
def user(client: TestClient) -> LoggedIn:
    return login(client, PHONE)


def audit_rows(db: Session, action: str) -> list[AuditLog]:
    db.expire_all()
    return list(db.scalars(select(AuditLog).where(AuditLog.action == action)).all())


def put(client: TestClient, user: LoggedIn, body: dict):
    return client.put("/profile", json=body, headers=user.headers)


def upload(
    client: TestClient, user: LoggedIn, content: bytes, name: str = "me.png", ctype="image/png"
):
    return client.post(
        "/profile/photo", files={"file": (name, content, ctype)}, headers=user.headers
    )


def stored_file(settings: Settings, photo_url: str) -> Path:
    relative = photo_url.removeprefix(settings.MEDIA_URL.rstrip("/") + "/")
    return Path(settings.MEDIA_ROOT) / relative


def media_files(settings: Settings) -> set[Path]:
    return {p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}


# --- GET /profile ---------------------------------------------------------------------------


def test_new_user_profile_has_only_the_phone(client: TestClient, user: LoggedIn) -> None:
    response = client.get("/profile", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": user.user_id,
        "phone": PHONE,
        "name": None,
        "email": None,
        "date_of_birth": None,
        "gender": None,
        "photo_url": None,
    }


def test_profile_needs_a_token(client: TestClient) -> None:
    assert_error(client.get("/profile"), 401, "not_authenticated")
    assert_error(client.put("/profile", json={"name": "X"}), 401, "not_authenticated")
    assert_error(
        client.post("/profile/photo", files={"file": ("a.png", PNG, "image/png")}),
        401,
        "not_authenticated",
    )
    assert_error(client.delete("/profile/photo"), 401, "not_authenticated")


# --- PUT /profile ---------------------------------------------------------------------------


def test_put_changes_only_the_fields_sent(client: TestClient, user: LoggedIn) -> None:
    full = {
        "name": "Asha Rao",
        "email": "asha@example.com",
        "date_of_birth": "1990-05-17",
        "gender": "female",
    }
    response = put(client, user, full)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": user.user_id, "phone": PHONE, "photo_url": None, **full}
    partial = put(client, user, {"name": "Asha R."})
    assert partial.json() == {
        "id": user.user_id,
        "phone": PHONE,
        "photo_url": None,
        **full,
        "name": "Asha R.",
    }
    assert client.get("/profile", headers=user.headers).json()["name"] == "Asha R."


def test_put_null_clears_a_field(client: TestClient, user: LoggedIn) -> None:
    put(client, user, {"name": "Asha", "email": "asha@example.com", "gender": "other"})
    body = put(client, user, {"email": None, "gender": None}).json()
    assert (body["name"], body["email"], body["gender"]) == ("Asha", None, None)


def test_put_empty_body_changes_nothing(client: TestClient, user: LoggedIn, db: Session) -> None:
    put(client, user, {"name": "Asha"})
    response = put(client, user, {})
    assert response.status_code == 200
    assert response.json()["name"] == "Asha"
    assert len(audit_rows(db, "profile.updated")) == 1


def test_put_is_audited_with_old_and_new_values_personal_ones_named_only(
    client: TestClient, user: LoggedIn, db: Session
) -> None:
    put(client, user, {"name": "Asha", "date_of_birth": "1990-05-17"})
    put(client, user, {"name": "Asha Rao", "date_of_birth": "1990-05-17", "gender": "female"})
    first, second = audit_rows(db, "profile.updated")
    assert first.changes == {
        "name": {"old": None, "new": "[redacted]"},
        "date_of_birth": {"old": None, "new": "[redacted]"},
    }
    # Unchanged fields are not listed.
    assert second.changes == {
        "name": {"old": "[redacted]", "new": "[redacted]"},
        "gender": {"old": None, "new": "female"},
    }
    assert (second.entity_type, second.entity_id) == ("user", str(user.user_id))
    assert second.actor_user_id == user.user_id


def test_put_strips_the_name(client: TestClient, user: LoggedIn) -> None:
    assert put(client, user, {"name": "  Asha  "}).json()["name"] == "Asha"


def test_phone_is_not_editable_here(client: TestClient, user: LoggedIn, db: Session) -> None:
    body = assert_error(put(client, user, {"phone": "+919876500049"}), 422, "validation_error")
    assert body["details"][0]["field"] == "phone"
    assert body["details"][0]["type"] == "extra_forbidden"
    db.expire_all()
    assert db.get(User, user.user_id).phone == PHONE


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"date_of_birth": (date.today() + timedelta(days=2)).isoformat()}, "date_of_birth"),
        ({"date_of_birth": "1899-12-31"}, "date_of_birth"),
        ({"date_of_birth": "1990-13-01"}, "date_of_birth"),
        ({"gender": "robot"}, "gender"),
        ({"gender": "Female"}, "gender"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": 42}, "name"),
        ({"role": "admin"}, "role"),
        ({"photo_url": "/media/x.png"}, "photo_url"),
    ],
)
def test_put_rejects_bad_values(
    client: TestClient, user: LoggedIn, db: Session, body: dict, field: str
) -> None:
    response = put(client, user, body)
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["field"].split(".")[0] == field
    assert set(error["details"][0]) == {"field", "message", "type"}
    assert audit_rows(db, "profile.updated") == []


def test_put_with_a_bad_field_changes_nothing(client: TestClient, user: LoggedIn) -> None:
    put(client, user, {"name": "Asha"})
    assert put(client, user, {"name": "Bina", "gender": "robot"}).status_code == 422
    assert client.get("/profile", headers=user.headers).json()["name"] == "Asha"


@pytest.mark.parametrize("gender", ["male", "female", "other", "prefer_not_to_say"])
def test_every_gender_value_is_stored(client: TestClient, user: LoggedIn, gender: str) -> None:
    assert put(client, user, {"gender": gender}).json()["gender"] == gender
    assert client.get("/profile", headers=user.headers).json()["gender"] == gender


def test_today_is_an_acceptable_date_of_birth(client: TestClient, user: LoggedIn) -> None:
    today = datetime.now(ZoneInfo("Asia/Kolkata")).date().isoformat()
    assert put(client, user, {"date_of_birth": today}).json()["date_of_birth"] == today


def test_date_of_birth_is_judged_by_the_indian_calendar(
    client: TestClient, user: LoggedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 19:00 UTC on 10 March 2024: already 00:30 on 11 March in India.
    monkeypatch.setattr(clock_module, "frozen", datetime(2024, 3, 10, 19, 0, tzinfo=UTC))
    assert put(client, user, {"date_of_birth": "2024-03-11"}).status_code == 200
    assert_error(put(client, user, {"date_of_birth": "2024-03-12"}), 422, "validation_error")


# --- the photo ------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "extension"), [(PNG, "png"), (JPEG, "jpg"), (WEBP, "webp")])
def test_photo_upload_is_stored_and_served(
    client: TestClient,
    user: LoggedIn,
    settings: Settings,
    db: Session,
    content: bytes,
    extension: str,
) -> None:
    response = upload(client, user, content, name="upload.bin", ctype="application/octet-stream")
    assert response.status_code == 200, response.text
    url = response.json()["photo_url"]
    assert url.startswith(f"/media/profile/{user.user_id}/")
    assert url.endswith(f".{extension}")
    path = stored_file(settings, url)
    assert described(path.read_bytes()) == described(content)
    assert Path(settings.MEDIA_ROOT).resolve() in path.resolve().parents
    served = client.get(url)
    assert served.status_code == 200
    assert served.content == path.read_bytes()
    assert client.get("/profile", headers=user.headers).json()["photo_url"] == url
    [row] = audit_rows(db, "profile.photo_updated")
    # The photo's (public) path is personal: the entry says a photo was set, not where.
    assert row.changes == {"photo_path": {"old": None, "new": "[redacted]"}}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_photo_metadata_is_not_served(
    client: TestClient, user: LoggedIn, settings: Settings, fmt: str
) -> None:
    """A phone photo's EXIF (GPS position, camera serial) is gone from the served file; the
    orientation it asked for is applied to the pixels instead."""
    content = image_bytes(fmt, size=(6, 4), exif=camera_exif(orientation=6))
    assert exif_of(content)["gps"] == GPS
    response = upload(client, user, content, name="IMG_0001.bin")
    assert response.status_code == 200, response.text
    served = client.get(response.json()["photo_url"])
    assert served.status_code == 200
    assert exif_of(served.content) == {}
    assert b"SN-4711-0815" not in served.content and b"Nucleotide Test Camera" not in served.content
    assert described(served.content) == (fmt, (4, 6))  # rotated a quarter turn, as shown


def test_a_photo_that_is_only_a_header_is_refused(
    client: TestClient, user: LoggedIn, settings: Settings
) -> None:
    before = media_files(settings)
    assert_error(upload(client, user, JPEG[:40], name="cut.jpg"), 415, "unsupported_image_type")
    assert_error(upload(client, user, PNG[:30]), 415, "unsupported_image_type")
    assert media_files(settings) == before


def test_a_photo_of_too_many_pixels_is_refused(client: TestClient, user: LoggedIn) -> None:
    # 80 megapixels of one colour compress to a few kilobytes.
    bomb = image_bytes("PNG", size=(10_000, 8_000))
    assert len(bomb) < 1_000_000
    assert_error(upload(client, user, bomb), 415, "unsupported_image_type")


def test_photo_type_comes_from_the_bytes_not_the_name(
    client: TestClient, user: LoggedIn, settings: Settings
) -> None:
    before = media_files(settings)
    response = upload(
        client, user, b"just some text, honestly\n", name="me.jpg", ctype="image/jpeg"
    )
    assert_error(response, 415, "unsupported_image_type")
    assert client.get("/profile", headers=user.headers).json()["photo_url"] is None
    assert media_files(settings) == before


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"GIF89a" + b"\x00" * 20,
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"%PDF-1.7\n",
    ],
)
def test_other_formats_are_unsupported(client: TestClient, user: LoggedIn, content: bytes) -> None:
    assert_error(upload(client, user, content), 415, "unsupported_image_type")


def test_a_hostile_filename_cannot_choose_the_path(
    client: TestClient, user: LoggedIn, settings: Settings
) -> None:
    response = upload(client, user, PNG, name="../../../etc/passwd.png")
    assert response.status_code == 200
    url = response.json()["photo_url"]
    assert "passwd" not in url and ".." not in url
    assert described(stored_file(settings, url).read_bytes()) == described(PNG)


def test_photo_over_5_mb_is_413(client: TestClient, user: LoggedIn, settings: Settings) -> None:
    assert settings.MAX_PHOTO_BYTES == 5 * 1024 * 1024
    too_big = PNG + b"\x00" * (settings.MAX_PHOTO_BYTES + 1 - len(PNG))
    response = upload(client, user, too_big)
    assert response.status_code == 413
    assert response.json()["status"] == "error"
    assert client.get("/profile", headers=user.headers).json()["photo_url"] is None


def test_photo_far_over_the_limit_is_refused_before_reading_it(
    client: TestClient, user: LoggedIn
) -> None:
    response = upload(client, user, PNG + b"\x00" * (8 * 1024 * 1024))
    assert_error(response, 413, "payload_too_large")


def test_photo_of_exactly_5_mb_is_accepted(
    client: TestClient, user: LoggedIn, settings: Settings
) -> None:
    content = PNG + b"\x00" * (settings.MAX_PHOTO_BYTES - len(PNG))
    assert upload(client, user, content).status_code == 200


def test_photo_upload_needs_a_file(client: TestClient, user: LoggedIn) -> None:
    response = client.post("/profile/photo", headers=user.headers)
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["field"] == "file"


def test_replacing_the_photo_deletes_the_old_file(
    client: TestClient, user: LoggedIn, settings: Settings, db: Session
) -> None:
    first = upload(client, user, PNG).json()["photo_url"]
    second = upload(client, user, JPEG, name="b.jpg", ctype="image/jpeg").json()["photo_url"]
    assert first != second
    assert not stored_file(settings, first).exists()
    assert described(stored_file(settings, second).read_bytes()) == described(JPEG)
    assert client.get(first).status_code == 404
    assert client.get(second).content == stored_file(settings, second).read_bytes()
    rows = audit_rows(db, "profile.photo_updated")
    assert rows[1].changes == {"photo_path": {"old": "[redacted]", "new": "[redacted]"}}


def test_a_refused_replacement_keeps_the_old_photo(
    client: TestClient, user: LoggedIn, settings: Settings
) -> None:
    url = upload(client, user, PNG).json()["photo_url"]
    assert upload(client, user, b"text", name="x.png").status_code == 415
    assert stored_file(settings, url).exists()
    assert client.get("/profile", headers=user.headers).json()["photo_url"] == url


def test_delete_photo_removes_the_file(
    client: TestClient, user: LoggedIn, settings: Settings, db: Session
) -> None:
    url = upload(client, user, WEBP, name="w.webp", ctype="image/webp").json()["photo_url"]
    response = client.delete("/profile/photo", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert not stored_file(settings, url).exists()
    assert client.get(url).status_code == 404
    assert client.get("/profile", headers=user.headers).json()["photo_url"] is None
    [row] = audit_rows(db, "profile.photo_deleted")
    assert row.changes == {"photo_path": {"old": "[redacted]", "new": None}}


def test_delete_without_a_photo_is_404(client: TestClient, user: LoggedIn) -> None:
    assert_error(client.delete("/profile/photo", headers=user.headers), 404, "photo_not_found")


def test_photos_are_per_user(client: TestClient, user: LoggedIn, settings: Settings) -> None:
    other = login(client, "+919876500042")
    mine = upload(client, user, PNG).json()["photo_url"]
    assert_error(client.delete("/profile/photo", headers=other.headers), 404, "photo_not_found")
    assert stored_file(settings, mine).exists()


def test_a_failed_upload_leaves_no_file_behind(
    client: TestClient, user: LoggedIn, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_url = upload(client, user, PNG).json()["photo_url"]
    before = media_files(settings)

    def broken_audit(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(profile_service, "record_audit", broken_audit)
    response = upload(client, user, JPEG, name="new.jpg", ctype="image/jpeg")
    assert_error(response, 500, "internal_error")
    assert "audit table" not in response.text
    assert media_files(settings) == before
    assert client.get("/profile", headers=user.headers).json()["photo_url"] == old_url
    assert described(client.get(old_url).content) == described(PNG)
