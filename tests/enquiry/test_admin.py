"""The sales pipeline over HTTP as the admin screens use it: the list, filters and search, a
status change with a note, the history and the audit; the refusals."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from tests.support.enquiry import send_enquiry
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login


@pytest.fixture(autouse=True)
def many_from_one_ip(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "ENQUIRY_MAX_PER_IP_PER_HOUR", 100)


def three_enquiries(client: TestClient) -> list[dict]:
    return [
        send_enquiry(client),
        send_enquiry(
            client,
            name="Ravi Kumar",
            phone="+919812345678",
            email="ravi@hospital.example",
            organization="City Hospital",
        ),
        send_enquiry(
            client,
            name="Meera Shah",
            phone="+919898989898",
            email="meera@example.net",
            organization=None,
        ),
    ]


def test_the_list_is_newest_first_paginated_and_searchable(
    client: TestClient, admin: LoggedIn
) -> None:
    asha, ravi, meera = three_enquiries(client)

    page = client.get("/enquiries/admin", headers=admin.headers).json()
    assert [item["id"] for item in page["items"]] == [meera["id"], ravi["id"], asha["id"]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 20, 0)
    first = page["items"][2]
    assert first["reference"] == asha["reference"]
    assert first["phone"] == "+919876543210" and first["email"] == "asha.rao@example.com"
    assert first["status"] == "new" and first["closed_at"] is None
    assert [step["to_status"] for step in first["history"]] == ["new"]

    def found(**query: str) -> list[int]:
        answer = client.get("/enquiries/admin", params=query, headers=admin.headers)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert found(q="hospital") == [ravi["id"]]  # organisation and e-mail
    assert found(q="MEERA") == [meera["id"]]  # any case
    assert found(q="98765") == [asha["id"]]  # part of a phone
    assert found(q=asha["reference"]) == [asha["id"]]
    assert found(q="100%") == []  # a LIKE wildcard is a character here
    assert found(status="contacted") == []
    assert found(status="new", q="ravi") == [ravi["id"]]
    second = client.get("/enquiries/admin?limit=2&offset=2", headers=admin.headers).json()
    assert [item["id"] for item in second["items"]] == [asha["id"]]
    assert second["total"] == 3


def test_the_pipeline_keeps_its_history_and_is_audited(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    sent = send_enquiry(client)
    path = f"/enquiries/admin/{sent['id']}"

    contacted = client.put(
        path, json={"status": "contacted", "note": "Called; wants a quote."}, headers=admin.headers
    )
    assert contacted.status_code == 200, contacted.text
    assert contacted.json()["status"] == "contacted"
    noted = client.put(
        path, json={"status": "contacted", "note": "Quote sent."}, headers=admin.headers
    )
    assert noted.status_code == 200
    closed = client.put(path, json={"status": "closed"}, headers=admin.headers).json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    reopened = client.put(path, json={"status": "converted"}, headers=admin.headers).json()
    assert reopened["status"] == "converted" and reopened["closed_at"] is None

    history = client.get(path, headers=admin.headers).json()["history"]
    assert [(s["from_status"], s["to_status"], s["note"]) for s in history] == [
        (None, "new", None),
        ("new", "contacted", "Called; wants a quote."),
        ("contacted", "contacted", "Quote sent."),
        ("contacted", "closed", None),
        ("closed", "converted", None),
    ]
    assert {s["actor_user_id"] for s in history[1:]} == {admin.user_id}
    audit = db.scalars(
        select(AuditLog)
        .where(AuditLog.entity_type == "enquiry", AuditLog.entity_id == str(sent["id"]))
        .order_by(AuditLog.id)
    ).all()
    assert [(a.action, a.actor_user_id) for a in audit] == [
        ("enquiry.received", None),
        ("enquiry.status_changed", admin.user_id),
        ("enquiry.noted", admin.user_id),
        ("enquiry.status_changed", admin.user_id),
        ("enquiry.status_changed", admin.user_id),
    ]
    assert audit[1].changes == {"status": {"old": "new", "new": "contacted"}, "noted": True}
    # The note is in the history, never in the audit trail every admin reads.
    assert all("Called" not in str(a.changes) for a in audit)


def test_the_same_status_without_a_note_changes_nothing(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    sent = send_enquiry(client)
    answer = client.put(
        f"/enquiries/admin/{sent['id']}", json={"status": "new"}, headers=admin.headers
    )
    assert answer.status_code == 200
    assert len(answer.json()["history"]) == 1
    actions = db.scalars(select(AuditLog.action).where(AuditLog.entity_type == "enquiry")).all()
    assert actions == ["enquiry.received"]


def test_refusals(client: TestClient, admin: LoggedIn) -> None:
    sent = send_enquiry(client)
    path = f"/enquiries/admin/{sent['id']}"
    assert client.put(path, json={"status": "contacted"}, headers=admin.headers).status_code == 200

    assert_error(
        client.put(path, json={"status": "new"}, headers=admin.headers),
        409,
        "enquiry_cannot_be_new",
    )
    assert_error(
        client.put(path, json={"status": "won"}, headers=admin.headers), 422, "validation_error"
    )
    assert_error(
        client.put(path, json={"status": "closed", "note": "n" * 2001}, headers=admin.headers),
        422,
        "validation_error",
    )
    missing = "/enquiries/admin/999999"
    assert_error(client.get(missing, headers=admin.headers), 404, "enquiry_not_found")
    assert_error(
        client.put(missing, json={"status": "closed"}, headers=admin.headers),
        404,
        "enquiry_not_found",
    )
    assert_error(
        client.get("/enquiries/admin?status=won", headers=admin.headers), 422, "validation_error"
    )

    customer = login(client, "+919876500111")
    for method, url in (("GET", "/enquiries/admin"), ("GET", path), ("PUT", path)):
        refused = client.request(method, url, json={"status": "closed"}, headers=customer.headers)
        assert_error(refused, 403, "admin_required")
    assert_error(client.get("/enquiries/admin"), 401, "not_authenticated")
    assert client.get(path, headers=admin.headers).json()["status"] == "contacted"
