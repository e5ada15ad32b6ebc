"""Lab reports through HTTP, on the local folder and on the S3 test server: upload, versions,
download, refusals, what is stored (sealed), failures that must leave nothing half-written."""

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from core.storage import forget_storage
from Notification_module.models import NotificationEvent
from Orders_module.models import OrderItem, OrderStatus
from Report_module import service as report_service
from Report_module.models import Report
from tests.support.http import assert_error, free_port
from tests.support.login import LoggedIn, login
from tests.support.notification import outbox
from tests.support.report import Stored, download, in_lab, move_item, paid_order, pdf, upload

PHONE = "+919876570001"
OTHER_PHONE = "+919876570002"

pytestmark = pytest.mark.usefixtures("razorpay")


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def order_of(client: TestClient, who: LoggedIn, order_id: int) -> dict:
    response = client.get(f"/orders/{order_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


def audit_actions(db: Session, action: str) -> list[AuditLog]:
    db.expire_all()
    return list(db.scalars(select(AuditLog).where(AuditLog.action == action)))


# --- the journey ------------------------------------------------------------------------------


def test_an_upload_makes_the_report_ready_and_the_owner_downloads_the_exact_bytes(
    client: TestClient, db: Session, admin: LoggedIn, stored: Stored
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    content = pdf("Asha's result")
    assert order_of(client, lab.buyer.me, lab.order["id"])["report_available"] is False

    uploaded = upload(client, admin, lab.order["id"], item_id, content)

    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert set(body) == {"id", "version", "sha256", "size_bytes", "uploaded_at"}
    assert (body["version"], body["sha256"], body["size_bytes"]) == (1, sha(content), len(content))
    order = order_of(client, lab.buyer.me, lab.order["id"])
    assert order["status"] == "report_ready"
    assert order["report_available"] is True
    [item] = order["items"]
    assert (item["status"], item["report_available"], item["report_version"]) == (
        "report_ready",
        True,
        1,
    )
    assert [(h["status"], h["item_id"], h["note"]) for h in order["status_history"][-2:]] == [
        ("report_ready", item_id, "report uploaded"),
        ("report_ready", None, "all items reached this step"),
    ]

    got = download(client, lab.buyer, lab.order["id"], item_id)
    assert got.status_code == 200, got.text
    assert got.content == content and sha(got.content) == body["sha256"]
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment; filename=")
    assert got.headers["content-disposition"].endswith('-report-v1.pdf"')
    assert got.headers["cache-control"] == "no-store"


def test_the_stored_object_is_sealed_not_the_pdf(
    client: TestClient, db: Session, admin: LoggedIn, stored: Stored
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    content = pdf("Sensitive finding")
    assert upload(client, admin, lab.order["id"], lab.item_ids[0], content).status_code == 201

    objects = stored.objects()
    assert len(objects) == 1
    [(key, raw)] = objects.items()
    assert key.startswith(f"reports/{lab.order['id']}/{lab.item_ids[0]}/v1-")
    assert b"%PDF" not in raw and b"Sensitive finding" not in raw
    assert raw != content and len(raw) > len(content)


def test_a_new_version_is_kept_beside_the_old_and_served_by_default(
    client: TestClient, db: Session, admin: LoggedIn, stored: Stored
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    first, amended = pdf("first reading"), pdf("amended reading")
    assert upload(client, admin, lab.order["id"], item_id, first).status_code == 201
    second = upload(client, admin, lab.order["id"], item_id, amended, note="Corrected a typo")
    assert second.status_code == 201, second.text
    assert second.json()["version"] == 2

    listed = client.get(
        f"/orders/{lab.order['id']}/items/{item_id}/reports", headers=lab.buyer.headers
    )
    assert listed.status_code == 200, listed.text
    assert [(v["version"], v["sha256"], v["size_bytes"], v["note"]) for v in listed.json()] == [
        (1, sha(first), len(first), None),
        (2, sha(amended), len(amended), "Corrected a typo"),
    ]
    assert set(listed.json()[0]) == {"version", "sha256", "size_bytes", "uploaded_at", "note"}

    assert download(client, lab.buyer, lab.order["id"], item_id).content == amended
    assert download(client, lab.buyer, lab.order["id"], item_id, version=1).content == first
    assert_error(
        download(client, lab.buyer, lab.order["id"], item_id, version=3), 404, "report_not_found"
    )
    order = order_of(client, lab.buyer.me, lab.order["id"])
    assert order["items"][0]["report_version"] == 2
    # One move to report_ready for the item: the amendment is no status change.
    item_moves = [h for h in order["status_history"] if h["item_id"] == item_id]
    assert [h["status"] for h in item_moves].count("report_ready") == 1
    assert len(stored.objects()) == 2


def test_the_order_is_report_ready_once_every_member_has_a_report(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE, members=2)
    first, second = lab.item_ids
    assert upload(client, admin, lab.order["id"], first).status_code == 201
    order = order_of(client, lab.buyer.me, lab.order["id"])
    assert order["status"] == "in_lab" and order["report_available"] is True
    assert [i["report_available"] for i in order["items"]] == [True, False]
    assert_error(download(client, lab.buyer, lab.order["id"], second), 409, "report_not_ready")

    assert upload(client, admin, lab.order["id"], second).status_code == 201
    assert order_of(client, lab.buyer.me, lab.order["id"])["status"] == "report_ready"
    completed = client.put(
        f"/orders/{lab.order['id']}/status", json={"status": "completed"}, headers=admin.headers
    )
    assert completed.status_code == 200, completed.text
    # A completed test takes no further version; its report stays readable.
    assert_error(upload(client, admin, lab.order["id"], second), 409, "invalid_status_transition")
    assert download(client, lab.buyer, lab.order["id"], first).status_code == 200


def test_an_admin_downloads_any_report_and_every_download_is_audited(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    report_id = upload(client, admin, lab.order["id"], item_id).json()["id"]
    assert download(client, admin, lab.order["id"], item_id).status_code == 200
    assert download(client, lab.buyer, lab.order["id"], item_id, version=1).status_code == 200

    entries = audit_actions(db, "report.downloaded")
    assert [(e.actor_user_id, e.entity_id) for e in entries] == [
        (admin.user_id, str(report_id)),
        (lab.buyer.me.user_id, str(report_id)),
    ]
    assert all(e.ip == "testclient" for e in entries)
    assert entries[1].changes == {
        "order_id": lab.order["id"],
        "order_item_id": item_id,
        "version": 1,
        "format": "pdf",
    }
    [uploaded] = audit_actions(db, "report.uploaded")
    assert uploaded.actor_user_id == admin.user_id
    assert uploaded.changes["sha256"] == sha(pdf())


# --- refusals ---------------------------------------------------------------------------------


def test_someone_elses_report_is_404_and_anonymous_callers_401(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    intruder = login(client, OTHER_PHONE)
    path = f"/orders/{lab.order['id']}/items/{item_id}"

    assert_error(client.get(f"{path}/report", headers=intruder.headers), 404, "order_not_found")
    assert_error(client.get(f"{path}/reports", headers=intruder.headers), 404, "order_not_found")
    assert_error(client.get(f"{path}/report"), 401, "not_authenticated")
    assert_error(client.get(f"{path}/reports"), 401, "not_authenticated")
    assert audit_actions(db, "report.downloaded") == []


def test_an_item_of_another_order_is_404(client: TestClient, db: Session, admin: LoggedIn) -> None:
    lab = in_lab(client, db, admin, PHONE, members=2)
    other_buyer, other = paid_order(client, db, OTHER_PHONE)
    foreign_item = other["items"][0]["id"]
    assert_error(
        download(client, lab.buyer, lab.order["id"], foreign_item), 404, "order_item_not_found"
    )
    assert_error(upload(client, admin, lab.order["id"], foreign_item), 404, "order_item_not_found")
    assert_error(upload(client, admin, 10**6, lab.item_ids[0]), 404, "order_not_found")
    assert other_buyer.me.user_id != lab.buyer.me.user_id


def test_a_report_before_the_lab_has_it_is_not_ready(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    buyer, order = paid_order(client, db, PHONE)
    [item_id] = [item["id"] for item in order["items"]]
    assert_error(download(client, buyer, order["id"], item_id), 409, "report_not_ready")
    listed = client.get(f"/orders/{order['id']}/items/{item_id}/reports", headers=buyer.headers)
    assert listed.status_code == 200 and listed.json() == []
    # The lab uploads only once the sample is in the lab.
    refused = assert_error(
        upload(client, admin, order["id"], item_id), 409, "invalid_status_transition"
    )
    assert refused["details"] == [{"from": "paid", "to": "report_ready"}]


def test_only_an_upload_moves_a_test_to_report_ready(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert_error(
        move_item(client, admin, lab.order["id"], item_id, "report_ready"), 409, "report_required"
    )
    assert_error(
        client.put(
            f"/orders/{lab.order['id']}/status",
            json={"status": "report_ready"},
            headers=admin.headers,
        ),
        409,
        "report_required",
    )
    # Other wrong moves keep their own answer.
    assert_error(
        move_item(client, admin, lab.order["id"], item_id, "completed"),
        409,
        "invalid_status_transition",
    )
    assert order_of(client, lab.buyer.me, lab.order["id"])["status"] == "in_lab"


def test_users_cannot_upload(client: TestClient, db: Session, admin: LoggedIn) -> None:
    lab = in_lab(client, db, admin, PHONE)
    refused = upload(client, lab.buyer.me, lab.order["id"], lab.item_ids[0])
    assert_error(refused, 403, "admin_required")


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (b"GIF89a not a pdf", "report.pdf", "application/pdf"),
        (b"", "report.pdf", "application/pdf"),
        (b" %PDF-1.4 leading space", "report.pdf", "application/pdf"),
        (b"<html>%PDF-</html>", "report.html", "text/html"),
    ],
)
def test_what_is_not_a_pdf_by_its_bytes_is_415_and_nothing_is_stored(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    stored: Stored,
    content: bytes,
    filename: str,
    content_type: str,
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    refused = upload(
        client,
        admin,
        lab.order["id"],
        lab.item_ids[0],
        content,
        filename=filename,
        content_type=content_type,
    )
    assert_error(refused, 415, "unsupported_report_type")
    assert stored.objects() == {}
    assert order_of(client, lab.buyer.me, lab.order["id"])["status"] == "in_lab"


NO_PAGES = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF"
)


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-",
        b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>",
        NO_PAGES,
        pdf()[:200],  # a real PDF cut short
    ],
    ids=["header-only", "html-behind-a-header", "no-pages", "truncated"],
)
def test_a_file_that_does_not_open_as_a_pdf_with_a_page_is_415_and_changes_nothing(
    client: TestClient, db: Session, admin: LoggedIn, stored: Stored, content: bytes
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    refused = upload(client, admin, lab.order["id"], lab.item_ids[0], content)
    assert_error(refused, 415, "invalid_report_file")
    assert stored.objects() == {}
    order = order_of(client, lab.buyer.me, lab.order["id"])
    assert order["status"] == "in_lab"
    assert order["report_available"] is False
    assert outbox(db, NotificationEvent.REPORT_READY) == []


def test_a_report_over_the_size_cap_is_413(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    stored: Stored,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    content = pdf("x" * 400)
    monkeypatch.setattr(settings, "MAX_REPORT_BYTES", len(content) - 1)
    assert_error(
        upload(client, admin, lab.order["id"], lab.item_ids[0], content), 413, "file_too_large"
    )
    monkeypatch.setattr(settings, "MAX_REPORT_BYTES", len(content))
    assert upload(client, admin, lab.order["id"], lab.item_ids[0], content).status_code == 201
    assert len(stored.objects()) == 1


def test_the_default_cap_is_20_mb_and_the_body_limit_lets_it_through(
    client: TestClient, db: Session, admin: LoggedIn, settings: Settings
) -> None:
    assert settings.MAX_REPORT_BYTES == 20 * 1_048_576
    lab = in_lab(client, db, admin, PHONE)
    big = pdf() + b"%" + b"0" * (settings.MAX_REPORT_BYTES - len(pdf()) - 1)
    assert len(big) == settings.MAX_REPORT_BYTES
    uploaded = upload(client, admin, lab.order["id"], lab.item_ids[0], big)
    assert uploaded.status_code == 201, uploaded.text
    assert_error(
        upload(client, admin, lab.order["id"], lab.item_ids[0], big + b"0"), 413, "file_too_large"
    )
    assert download(client, lab.buyer, lab.order["id"], lab.item_ids[0]).content == big


def test_downloads_are_rate_limited_per_user(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "REPORT_DOWNLOADS_PER_HOUR", 2)
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    for _ in range(2):
        assert download(client, lab.buyer, lab.order["id"], item_id).status_code == 200
    limited = download(client, lab.buyer, lab.order["id"], item_id)
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    # Someone else's limit is their own.
    assert download(client, admin, lab.order["id"], item_id).status_code == 200
    assert len(audit_actions(db, "report.downloaded")) == 3


def test_staff_have_their_own_larger_download_limit_across_customers(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Support downloads many customers' reports: the customers' hourly limit does not apply
    to staff, who have their own (REPORT_STAFF_DOWNLOADS_PER_HOUR), each download audited."""
    monkeypatch.setattr(settings, "REPORT_DOWNLOADS_PER_HOUR", 2)
    monkeypatch.setattr(settings, "REPORT_STAFF_DOWNLOADS_PER_HOUR", 5)
    labs = [in_lab(client, db, admin, phone) for phone in (PHONE, OTHER_PHONE)]
    for lab in labs:
        assert upload(client, admin, lab.order["id"], lab.item_ids[0]).status_code == 201
    for n in range(5):
        lab = labs[n % 2]
        got = download(client, admin, lab.order["id"], lab.item_ids[0])
        assert got.status_code == 200, got.text
    limited = download(client, admin, labs[0].order["id"], labs[0].item_ids[0])
    assert_error(limited, 429, "rate_limited")
    # The customers' own allowance is untouched by the staff's downloads.
    for _ in range(2):
        assert download(client, labs[0].buyer, labs[0].order["id"], labs[0].item_ids[0]).is_success
    assert len(audit_actions(db, "report.downloaded")) == 7


# --- failures leave nothing half-written ------------------------------------------------------


@pytest.fixture
def storage_down(stored: Stored, settings: Settings, monkeypatch: pytest.MonkeyPatch):
    """Turn the configured backend off: a root below a plain file, or an S3 port nobody
    listens on."""

    def turn_off() -> None:
        if stored.backend == "local":
            blocker = stored.root.parent / "a-file"
            blocker.write_bytes(b"not a folder")
            monkeypatch.setattr(settings, "PRIVATE_STORAGE_ROOT", str(blocker / "private"))
        else:
            monkeypatch.setattr(settings, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
        forget_storage()

    return turn_off


def test_storage_down_is_a_503_and_nothing_is_half_written(
    client: TestClient, db: Session, admin: LoggedIn, stored: Stored, storage_down
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    storage_down()
    assert_error(upload(client, admin, lab.order["id"], item_id), 503, "storage_unavailable")
    order = order_of(client, lab.buyer.me, lab.order["id"])
    assert (order["status"], order["items"][0]["status"]) == ("in_lab", "in_lab")
    assert order["items"][0]["report_version"] is None
    db.expire_all()
    assert db.scalars(select(Report)).all() == []
    assert audit_actions(db, "report.uploaded") == []
    assert audit_actions(db, "order_item.report_uploaded") == []


def test_a_download_while_storage_is_down_is_a_503_and_not_audited(
    client: TestClient, db: Session, admin: LoggedIn, stored: Stored, storage_down
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    storage_down()
    assert_error(download(client, lab.buyer, lab.order["id"], item_id), 503, "storage_unavailable")
    assert audit_actions(db, "report.downloaded") == []


def test_a_failure_after_the_file_is_written_removes_the_file(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    stored: Stored,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids

    def audit_fails(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the audit write failed")

    monkeypatch.setattr(report_service, "record_audit", audit_fails)
    assert_error(upload(client, admin, lab.order["id"], item_id), 500, "internal_error")
    assert stored.objects() == {}
    db.expire_all()
    assert db.scalars(select(Report)).all() == []
    assert db.get(OrderItem, item_id).status == OrderStatus.IN_LAB


def test_a_stored_file_that_is_not_the_uploaded_one_is_never_served(
    client: TestClient, db: Session, admin: LoggedIn, stored: Stored
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    report = db.scalars(select(Report)).one()
    report.sha256 = "0" * 64
    db.flush()
    assert_error(download(client, lab.buyer, lab.order["id"], item_id), 500, "report_unreadable")


def test_no_report_file_is_reachable_through_media(
    client: TestClient, db: Session, admin: LoggedIn, settings: Settings, tmp_path: Path
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    assert upload(client, admin, lab.order["id"], lab.item_ids[0]).status_code == 201
    key = db.scalars(select(Report.storage_key)).one()
    for path in (f"/media/{key}", f"/media/../private/{key}", f"/media/%2e%2e/private/{key}"):
        assert client.get(path).status_code == 404, path


def test_the_download_is_documented_as_a_pdf(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/orders/{order_id}/items/{item_id}/report"]["get"]
    assert "application/pdf" in operation["responses"]["200"]["content"]
    upload_op = schema["paths"]["/orders/admin/{order_id}/items/{item_id}/report"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]


def test_a_body_far_over_the_report_cap_is_refused_before_it_is_read(
    client: TestClient, admin: LoggedIn, settings: Settings
) -> None:
    huge = pdf() + b"0" * (settings.MAX_REPORT_BYTES + 1_048_576)
    assert_error(upload(client, admin, 1, 1, huge), 413, "payload_too_large")
