"""Service functions other modules call: account erasure cancels and scrubs bookings."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gmeet_api.bookings import erase_bookings_of_user
from gmeet_api.models import ActivityLog, Booking
from tests.fakes.google import EVENTS_PATH, FakeGoogle
from tests.fakes.google_setup import Clock
from tests.support.factories.gmeet import ist, make_counsellor
from tests.support.login import LoggedIn, login

EMAIL = "asha.rao@example.com"


def book(client: TestClient, user: LoggedIn, day: int, hour: int) -> dict[str, Any]:
    body = {
        "counsellor_id": "A3X9K2",
        "start_time": ist(2031, 6, day, hour).isoformat(),
        "end_time": ist(2031, 6, day, hour, 30).isoformat(),
        "patient_name": "Ravi Kumar",
        "patient_email": "ravi@example.com",
        "patient_phone": "+919812345678",
        "notes": "family history",
    }
    # The invitation may only go to the profile's own email.
    client.put("/profile", json={"email": "ravi@example.com"}, headers=user.headers)
    response = client.post("/gmeet/book", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_erasure_cancels_upcoming_sessions_and_scrubs_every_booking(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    user = login(client, "+919876500001")
    earlier = book(client, user, 2, 10)
    later = book(client, user, 3, 11)
    clock.set(ist(2031, 6, 2, 12))  # the first session is over

    assert erase_bookings_of_user(db, user.user_id) == 1

    (delete,) = google.event_deletes()
    assert delete.path == f"{EVENTS_PATH}/{later['google_event_id']}"
    assert delete.query["sendUpdates"] == ["all"]
    db.expire_all()
    rows = {b.id: b for b in db.scalars(select(Booking))}
    assert rows[earlier["booking_id"]].status == "confirmed"
    assert rows[later["booking_id"]].status == "cancelled"
    assert rows[later["booking_id"]].slot_key is None
    for row in rows.values():
        assert (row.patient_name, row.patient_email, row.patient_phone, row.notes) == (
            "Erased",
            None,
            None,
            None,
        )


def test_erasure_goes_ahead_when_google_is_down(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    user = login(client, "+919876500001")
    booked = book(client, user, 3, 11)
    google.fail("DELETE", EVENTS_PATH)

    assert erase_bookings_of_user(db, user.user_id) == 1

    db.expire_all()
    assert db.get(Booking, booked["booking_id"]).status == "cancelled"
    cancelled = db.scalars(select(ActivityLog).where(ActivityLog.action == "cancelled")).one()
    assert cancelled.detail["event_removed"] is False
    assert db.scalars(select(ActivityLog).where(ActivityLog.action == "google_error")).one()
