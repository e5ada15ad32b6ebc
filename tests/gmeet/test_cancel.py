"""Cancelling a booking: the Calendar event is deleted (with or without notifying), the slot
is freed; other users' bookings do not exist; Google outages change nothing."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from gmeet_api.models import ActivityLog, Booking, Counsellor
from tests.fakes.google import EVENTS_PATH, FakeGoogle, api_error
from tests.fakes.google_setup import Clock
from tests.support.factories.gmeet import ist, make_counsellor
from tests.support.http import assert_error
from tests.support.login import ADMIN_PHONE, LoggedIn, login

EMAIL = "asha.rao@example.com"
TEN = ist(2031, 6, 2, 10)
TEN_THIRTY = ist(2031, 6, 2, 10, 30)


@pytest.fixture
def counsellor(db: Session, google: FakeGoogle, clock: Clock) -> Counsellor:
    return make_counsellor(db, google)


@pytest.fixture
def user(client: TestClient) -> LoggedIn:
    return login(client, "+919876500001")


@pytest.fixture
def booked(client: TestClient, counsellor: Counsellor, user: LoggedIn) -> dict[str, Any]:
    body = {
        "counsellor_id": "A3X9K2",
        "start_time": TEN.isoformat(),
        "end_time": TEN_THIRTY.isoformat(),
        "patient_email": "ravi@example.com",
    }
    # The invitation may only go to the profile's own email.
    client.put("/profile", json={"email": "ravi@example.com"}, headers=user.headers)
    response = client.post("/gmeet/book", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


def cancel(client: TestClient, who: LoggedIn, booking: dict[str, Any], **params: Any) -> Any:
    path = f"/gmeet/appointment/{booking['counsellor_id']}/{booking['booking_id']}"
    return client.delete(path, params=params, headers=who.headers)


def booking_row(db: Session) -> Booking:
    db.expire_all()
    return db.scalars(select(Booking)).one()


def test_cancelling_deletes_the_event_notifies_and_frees_the_slot(
    client: TestClient, google: FakeGoogle, db: Session, user: LoggedIn, booked: dict
) -> None:
    response = cancel(client, user, booked)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancelled_at"] is not None

    (delete,) = google.event_deletes()
    assert delete.path == f"{EVENTS_PATH}/{booked['google_event_id']}"
    assert delete.query["sendUpdates"] == ["all"]
    assert google.calendar(EMAIL).events[booked["google_event_id"]]["status"] == "cancelled"
    row = booking_row(db)
    assert row.status == "cancelled" and row.slot_key is None
    assert row.cancelled_by_user_id == user.user_id

    log = db.scalars(select(ActivityLog).where(ActivityLog.action == "cancelled")).one()
    assert log.detail["event_removed"] is True and log.detail["notified"] is True
    audit = db.scalars(select(AuditLog).where(AuditLog.action == "gmeet_booking.cancelled")).one()
    assert audit.entity_id == str(booked["booking_id"])

    # The same slot can be booked again.
    again = client.post(
        "/gmeet/book",
        json={
            "counsellor_id": "A3X9K2",
            "start_time": TEN.isoformat(),
            "end_time": TEN_THIRTY.isoformat(),
        },
        headers=user.headers,
    )
    assert again.status_code == 201, again.text


def test_cancelling_quietly_sends_no_updates(
    client: TestClient, google: FakeGoogle, user: LoggedIn, booked: dict
) -> None:
    assert cancel(client, user, booked, send_notifications="false").status_code == 200
    (delete,) = google.event_deletes()
    assert delete.query["sendUpdates"] == ["none"]


def test_someone_elses_booking_is_not_found(
    client: TestClient, google: FakeGoogle, db: Session, booked: dict
) -> None:
    other = login(client, "+919876500002")
    assert_error(cancel(client, other, booked), 404, "booking_not_found")
    assert google.event_deletes() == []
    assert booking_row(db).status == "confirmed"


def test_a_booking_under_another_counsellor_id_is_not_found(
    client: TestClient, google: FakeGoogle, db: Session, user: LoggedIn, booked: dict
) -> None:
    make_counsellor(db, google, counsellor_id="B4Y8M3", email="b@example.com")
    for code in ("B4Y8M3", "NOPE99"):
        assert_error(
            cancel(client, user, {**booked, "counsellor_id": code}), 404, "booking_not_found"
        )
    assert_error(cancel(client, user, {**booked, "booking_id": 999999}), 404, "booking_not_found")


def test_an_admin_can_cancel_anyones_booking(
    client: TestClient, google: FakeGoogle, db: Session, booked: dict
) -> None:
    admin = login(client, ADMIN_PHONE)
    response = cancel(client, admin, booked)
    assert response.status_code == 200, response.text
    row = booking_row(db)
    assert row.status == "cancelled"
    assert row.cancelled_by_user_id == admin.user_id
    log = db.scalars(select(ActivityLog).where(ActivityLog.action == "cancelled")).one()
    assert log.detail["by_admin"] is True


def test_a_cancelled_booking_cannot_be_cancelled_again(
    client: TestClient, google: FakeGoogle, user: LoggedIn, booked: dict
) -> None:
    assert cancel(client, user, booked).status_code == 200
    assert_error(cancel(client, user, booked), 409, "booking_already_cancelled")
    assert len(google.event_deletes()) == 1


def test_a_session_that_has_started_cannot_be_cancelled(
    client: TestClient, google: FakeGoogle, db: Session, user: LoggedIn, booked: dict, clock: Clock
) -> None:
    clock.set(ist(2031, 6, 2, 10, 0))
    assert_error(cancel(client, user, booked), 409, "booking_not_cancellable")
    assert google.event_deletes() == []


@pytest.mark.parametrize("status", [404, 410])
def test_an_event_already_gone_from_the_calendar_is_fine(
    client: TestClient, google: FakeGoogle, db: Session, user: LoggedIn, booked: dict, status: int
) -> None:
    google.fail("DELETE", EVENTS_PATH, api_error(status, "gone", "deleted"))
    assert cancel(client, user, booked).status_code == 200
    assert booking_row(db).status == "cancelled"


def test_google_500_on_delete_changes_nothing(
    client: TestClient, google: FakeGoogle, db: Session, user: LoggedIn, booked: dict
) -> None:
    google.fail("DELETE", EVENTS_PATH)
    assert_error(cancel(client, user, booked), 503, "google_calendar_unavailable")
    row = booking_row(db)
    assert row.status == "confirmed" and row.slot_key is not None
    log = db.scalars(select(ActivityLog).where(ActivityLog.action == "google_error")).one()
    assert log.detail == {"during": "events.delete", "reason": "HTTP 500"}
    assert cancel(client, user, booked).status_code == 200  # a retry completes it


def test_a_revoked_grant_still_lets_the_customer_cancel(
    client: TestClient, google: FakeGoogle, db: Session, user: LoggedIn, booked: dict
) -> None:
    google.revoke(EMAIL)
    response = cancel(client, user, booked)
    assert response.status_code == 200, response.text
    assert booking_row(db).status == "cancelled"
    assert db.scalar(select(Counsellor.status)) == "reconnect_required"
    log = db.scalars(select(ActivityLog).where(ActivityLog.action == "cancelled")).one()
    assert log.detail["event_removed"] is False
    assert db.scalars(select(ActivityLog).where(ActivityLog.action == "token_refresh_failed")).one()


def test_cancel_needs_a_login(client: TestClient, booked: dict) -> None:
    path = f"/gmeet/appointment/{booked['counsellor_id']}/{booked['booking_id']}"
    assert_error(client.delete(path), 401, "not_authenticated")
