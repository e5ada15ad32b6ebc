"""Admins racing on one banner, with real threads and real commits on MariaDB: the banner ends
with one picture that is in the store, and no picture is left behind that nothing points at."""

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from Banner_module.models import Banner
from config import Settings
from tests.support.banner import create_banner, upload_image
from tests.support.http import new_client
from tests.support.images import image_bytes
from tests.support.login import ADMIN_PHONE, login
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency


def test_racing_picture_uploads_leave_the_winner_in_the_store_and_nothing_else(
    committing: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(settings, "MEDIA_ROOT", str(tmp_path / "media"))
    client = new_client()
    admin = login(client, ADMIN_PHONE)
    banner = create_banner(client, admin)
    pictures = [image_bytes("PNG", size=(4 + n, 3)) for n in range(6)]

    answers = all_at_once(
        [
            lambda p=picture: upload_image(new_client(), admin, banner["id"], p)
            for picture in pictures
        ]
    )

    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    with Session(committing) as session:
        kept = session.get(Banner, banner["id"]).image_key
    stored = sorted(
        p.relative_to(tmp_path / "media").as_posix() for p in (tmp_path / "media").rglob("*.png")
    )
    assert stored == [kept]
    shown = client.get("/banners").json()["items"]
    assert [b["image_url"] for b in shown] == [f"{settings.MEDIA_URL}/{kept}"]


def test_a_delete_racing_uploads_leaves_no_picture_behind(
    committing: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(settings, "MEDIA_ROOT", str(tmp_path / "media"))
    client = new_client()
    admin = login(client, ADMIN_PHONE)
    banner = create_banner(client, admin)
    path = f"/banners/admin/{banner['id']}"

    answers = all_at_once(
        [
            *(
                lambda n=n: upload_image(
                    new_client(), admin, banner["id"], image_bytes("PNG", (4 + n, 3))
                )
                for n in range(4)
            ),
            lambda: new_client().delete(path, headers=admin.headers),
        ]
    )

    *uploads, deleted = answers
    assert deleted.status_code == 204, deleted.text
    assert {a.status_code for a in uploads} <= {200, 404}, [a.text for a in uploads]
    assert list((tmp_path / "media").rglob("*.png")) == []
    assert client.get("/banners").json()["items"] == []
