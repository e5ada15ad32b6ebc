"""Enquiries are personal data: in the export of the account whose login phone or e-mail they
carry, erased with it, and deleted ENQUIRY_RETENTION_DAYS after they are closed (by the job)."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from core import clock
from Enquiry_module.jobs import purge_closed_enquiries_job
from Enquiry_module.models import Enquiry, EnquiryStatusChange
from Notification_module.models import Notification
from tests.support.enquiry import send_enquiry
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login, request_code

PHONE = "+919876512345"
EMAIL = "Asha.Rao@Example.com"


@pytest.fixture(autouse=True)
def many_from_one_ip(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "ENQUIRY_MAX_PER_IP_PER_HOUR", 100)
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)  # the erasure's fresh code


@pytest.fixture
def me(client: TestClient) -> LoggedIn:
    who = login(client, PHONE)
    response = client.put("/profile", json={"email": EMAIL}, headers=who.headers)
    assert response.status_code == 200, response.text
    return who


def mine_and_theirs(client: TestClient) -> tuple[dict, dict, dict]:
    """Enquiries carrying my phone, my e-mail (another case), and someone else's."""
    by_phone = send_enquiry(client, phone="98765 12345", email="work@acme.example")
    by_email = send_enquiry(client, phone="+919811111111", email="ASHA.RAO@example.com")
    theirs = send_enquiry(client, phone="+919822222222", email="ravi@example.com")
    return by_phone, by_email, theirs


def remaining(db: Session) -> list[int]:
    db.expire_all()
    return list(db.scalars(select(Enquiry.id).order_by(Enquiry.id)))


def test_my_export_holds_the_enquiries_that_carry_my_phone_or_email(
    client: TestClient, me: LoggedIn, admin: LoggedIn
) -> None:
    by_phone, by_email, _theirs = mine_and_theirs(client)
    moved = client.put(
        f"/enquiries/admin/{by_phone['id']}",
        json={"status": "contacted", "note": "Called back."},
        headers=admin.headers,
    )
    assert moved.status_code == 200

    document = client.get("/profile/export", headers=me.headers).json()
    exported = document["enquiries"]
    assert [e["reference"] for e in exported] == [by_phone["reference"], by_email["reference"]]
    assert exported[0]["phone"] == PHONE and exported[0]["organization"] == "Acme Labs"
    assert exported[0]["message"].startswith("We would like to test")
    assert [(s["from_status"], s["to_status"], s["note"]) for s in exported[0]["history"]] == [
        (None, "new", None),
        ("new", "contacted", "Called back."),
    ]
    # Which staff member did what is not the customer's data.
    assert "actor_user_id" not in exported[0]["history"][1]


def test_an_account_without_enquiries_exports_an_empty_list(
    client: TestClient, me: LoggedIn
) -> None:
    send_enquiry(client, phone="+919822222222", email="ravi@example.com")
    assert client.get("/profile/export", headers=me.headers).json()["enquiries"] == []


def test_erasure_deletes_my_enquiries_their_history_and_their_emails(
    client: TestClient, db: Session, me: LoggedIn, admin: LoggedIn
) -> None:
    by_phone, by_email, theirs = mine_and_theirs(client)
    client.put(
        f"/enquiries/admin/{by_email['id']}", json={"status": "closed"}, headers=admin.headers
    )

    code = request_code(client, PHONE)
    erased = client.request("DELETE", "/profile", headers=me.headers, json={"otp": code})
    assert erased.status_code == 200, erased.text
    assert erased.json()["enquiries_erased"] == 2

    assert remaining(db) == [theirs["id"]]
    assert db.scalars(select(EnquiryStatusChange.enquiry_id)).all() == [theirs["id"]]
    keys = db.scalars(select(Notification.dedupe_key).where(Notification.user_id.is_(None)))
    assert sorted(keys) == [f"enquiry:{theirs['id']}:ack:0", f"enquiry:{theirs['id']}:sales:0"]
    deleted = db.scalars(
        select(AuditLog).where(AuditLog.action == "enquiry.deleted").order_by(AuditLog.id)
    ).all()
    assert [(a.entity_id, a.changes) for a in deleted] == [
        (str(by_phone["id"]), {"reference": by_phone["reference"], "reason": "account_erased"}),
        (str(by_email["id"]), {"reference": by_email["reference"], "reason": "account_erased"}),
    ]
    assert_error(
        client.get(f"/enquiries/admin/{by_phone['id']}", headers=admin.headers),
        404,
        "enquiry_not_found",
    )


def test_closed_enquiries_are_deleted_after_the_retention_period(
    client: TestClient, db: Session, admin: LoggedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "frozen", start)
    old, later, still_open, converted = (
        send_enquiry(client, phone=f"+91987650000{n}", email=f"lead{n}@example.com")
        for n in range(4)
    )

    def move(sent: dict, status: str) -> None:
        response = client.put(
            f"/enquiries/admin/{sent['id']}", json={"status": status}, headers=admin.headers
        )
        assert response.status_code == 200, response.text

    move(old, "closed")
    move(converted, "converted")
    monkeypatch.setattr(clock, "frozen", start + timedelta(days=2))
    move(later, "closed")

    monkeypatch.setattr(clock, "frozen", start + timedelta(days=365, hours=-1))
    assert purge_closed_enquiries_job() == 0
    monkeypatch.setattr(clock, "frozen", start + timedelta(days=366))
    assert purge_closed_enquiries_job() == 1

    assert remaining(db) == [later["id"], still_open["id"], converted["id"]]
    assert old["id"] not in db.scalars(select(EnquiryStatusChange.enquiry_id)).all()
    assert not db.scalars(
        select(Notification.id).where(Notification.dedupe_key.like(f"enquiry:{old['id']}:%"))
    ).all()
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "enquiry.deleted"))
    assert entry is not None and entry.changes == {
        "reference": old["reference"],
        "reason": "retention",
    }
    monkeypatch.setattr(clock, "frozen", start + timedelta(days=368))
    assert purge_closed_enquiries_job() == 1
    assert remaining(db) == [still_open["id"], converted["id"]]
