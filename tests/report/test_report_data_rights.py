"""Reports and the data rights: the export lists them, the erasure leaves no report byte in the
storage (local folder and S3 server) while keeping their metadata."""

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from core.storage import forget_storage
from Report_module.jobs import purge_erased_reports_job
from Report_module.models import Report
from tests.support.http import assert_error, free_port
from tests.support.login import LoggedIn, request_code
from tests.support.report import InLab, Stored, download, in_lab, pdf, upload

PHONE = "+919876571001"

pytestmark = pytest.mark.usefixtures("razorpay")


@pytest.fixture(autouse=True)
def no_resend_cooldown(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


def completed_with_reports(client: TestClient, db: Session, admin: LoggedIn) -> InLab:
    """Two versions of the member's report, the order completed (so the account is erasable)."""
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    for text in ("first", "amended"):
        uploaded = upload(client, admin, lab.order["id"], item_id, pdf(text), note=f"{text} note")
        assert uploaded.status_code == 201, uploaded.text
    done = client.put(
        f"/orders/{lab.order['id']}/status", json={"status": "completed"}, headers=admin.headers
    )
    assert done.status_code == 200, done.text
    return lab


def erase(client: TestClient, lab: InLab) -> dict:
    code = request_code(client, PHONE)
    response = client.request("DELETE", "/profile", headers=lab.buyer.headers, json={"otp": code})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_export_lists_report_metadata_and_where_to_download(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = completed_with_reports(client, db, admin)
    [item_id] = lab.item_ids
    exported = client.get("/profile/export", headers=lab.buyer.headers)
    assert exported.status_code == 200, exported.text
    reports = exported.json()["reports"]
    assert [(r["version"], r["note"], r["item_id"]) for r in reports] == [
        (1, "first note", item_id),
        (2, "amended note", item_id),
    ]
    assert reports[1]["sha256"] == hashlib.sha256(pdf("amended")).hexdigest()
    assert reports[1]["size_bytes"] == len(pdf("amended"))
    path = reports[0]["download"]
    assert path == f"/orders/{lab.order['id']}/items/{item_id}/report?version=1"
    assert client.get(path, headers=lab.buyer.headers).content == pdf("first")
    # No report bytes in the export itself.
    assert "%PDF" not in exported.text


def test_erasure_deletes_every_report_file_and_keeps_the_metadata(
    client: TestClient, db: Session, admin: LoggedIn, stored: Stored
) -> None:
    lab = completed_with_reports(client, db, admin)
    [item_id] = lab.item_ids
    assert len(stored.objects()) == 2

    summary = erase(client, lab)

    assert summary["report_files_deleted"] == 2
    assert stored.objects() == {}
    db.expire_all()
    rows = db.scalars(select(Report).order_by(Report.version)).all()
    assert [(r.version, r.note, r.size_bytes) for r in rows] == [
        (1, None, len(pdf("first"))),
        (2, None, len(pdf("amended"))),
    ]
    assert all(r.erased_at is not None for r in rows)
    # What is left is the record that a report existed; the file is gone for good.
    assert_error(download(client, admin, lab.order["id"], item_id), 410, "report_erased")
    assert purge_erased_reports_job() == 2
    db.expire_all()
    assert all(r.purged_at is not None for r in db.scalars(select(Report)))
    assert purge_erased_reports_job() == 0


@pytest.mark.parametrize("stored", ["s3"], indirect=True)
def test_files_the_storage_refused_to_delete_are_purged_once_it_is_back(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    stored: Stored,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab = completed_with_reports(client, db, admin)
    endpoint = settings.S3_ENDPOINT_URL
    monkeypatch.setattr(settings, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    forget_storage()

    summary = erase(client, lab)  # the erasure itself does not wait for the storage

    assert summary["status"] == "erased"
    assert len(stored.objects()) == 2
    assert purge_erased_reports_job() == 0  # still away: nothing confirmed
    monkeypatch.setattr(settings, "S3_ENDPOINT_URL", endpoint)
    forget_storage()
    assert purge_erased_reports_job() == 2
    assert stored.objects() == {}
