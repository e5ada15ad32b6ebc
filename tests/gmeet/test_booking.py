"""Booking a session: slot rules, the Calendar event exactly as Google saw it, token refresh,
revoked grants, Google failures leaving nothing behind."""

import json
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from core.clock import wall_utcnow
from gmeet_api import bookings as booking_service
from gmeet_api import utils
from gmeet_api.models import ActivityLog, Booking, Counsellor, CounsellorToken
from tests.fakes.google import EVENTS_PATH, FREEBUSY_PATH, FakeGoogle, api_error
from tests.fakes.google_setup import Clock
from tests.support.factories.gmeet import ist, make_counsellor
from tests.support.factories.member import make_member
from tests.support.http import assert_error
from tests.support.login import ADMIN_PHONE, LoggedIn, login

EMAIL = "asha.rao@example.com"
TEN = ist(2031, 6, 2, 10)
TEN_THIRTY = ist(2031, 6, 2, 10, 30)


def slot(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "counsellor_id": "A3X9K2",
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
        **extra,
    }


def set_profile_email(client: TestClient, user: LoggedIn, email: str) -> None:
    """The only address a booking may invite is the profile's own."""
    response = client.put("/profile", json={"email": email}, headers=user.headers)
    assert response.status_code == 200, response.text


def book(client: TestClient, user: LoggedIn, **body: Any) -> Any:
    payload = slot(TEN, TEN_THIRTY) | body
    return client.post("/gmeet/book", json=payload, headers=user.headers)


def bookings(db: Session) -> list[Booking]:
    db.expire_all()
    return list(db.scalars(select(Booking).order_by(Booking.id)))


def activity(db: Session, action: str) -> list[ActivityLog]:
    db.expire_all()
    return list(db.scalars(select(ActivityLog).where(ActivityLog.action == action)))


@pytest.fixture
def counsellor(db: Session, google: FakeGoogle, clock: Clock) -> Counsellor:
    return make_counsellor(db, google)


@pytest.fixture
def user(client: TestClient) -> LoggedIn:
    return login(client, "+919876500001")


# --- the happy path ------------------------------------------------------------------------------


def test_booking_creates_a_calendar_event_with_a_meet_link(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    set_profile_email(client, user, "ravi@example.com")
    response = book(
        client,
        user,
        patient_name="Ravi Kumar",
        patient_email="ravi@example.com",
        patient_phone="98765 43210",
        notes="BRCA result questions",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    (booking,) = bookings(db)
    (insert,) = google.event_inserts()
    event = google.calendar(EMAIL).events[body["google_event_id"]]

    assert insert.query["conferenceDataVersion"] == ["1"]
    assert insert.query["sendUpdates"] == ["all"]
    sent = insert.json()
    assert sent["conferenceData"]["createRequest"] == {
        "requestId": booking.uuid,
        "conferenceSolutionKey": {"type": "hangoutsMeet"},
    }
    assert sent["reminders"] == {
        "useDefault": False,
        "overrides": [
            {"method": "email", "minutes": 1440},
            {"method": "email", "minutes": 60},
            {"method": "popup", "minutes": 15},
        ],
    }
    assert sent["attendees"] == [{"email": "ravi@example.com", "displayName": "Ravi Kumar"}]
    assert sent["start"] == {"dateTime": "2031-06-02T10:00:00+05:30", "timeZone": "Asia/Kolkata"}
    assert sent["end"] == {"dateTime": "2031-06-02T10:30:00+05:30", "timeZone": "Asia/Kolkata"}
    assert "BRCA result questions" in sent["description"]
    assert "+919876543210" in sent["description"]

    meet = event["conferenceData"]["entryPoints"][0]["uri"]
    assert meet.startswith("https://meet.google.com/")
    assert body == {
        "booking_id": booking.id,
        "counsellor_id": "A3X9K2",
        "google_event_id": event["id"],
        "meet_link": meet,
        "calendar_link": event["htmlLink"],
        "start_time": "2031-06-02T10:00:00+05:30",
        "end_time": "2031-06-02T10:30:00+05:30",
        "status": "confirmed",
        "notifications_sent": True,
        "member_id": None,
        "patient_name": "Ravi Kumar",
        "created_at": body["created_at"],
        "cancelled_at": None,
    }
    assert booking.user_id == user.user_id
    assert booking.patient_phone == "+919876543210"
    assert booking.slot_key == TEN
    # Free/busy was checked again for exactly that slot before the event was made.
    (check,) = google.freebusy_requests()
    assert datetime.fromisoformat(check.json()["timeMin"]) == TEN
    assert [r.path for r in google.requests] == ["/calendar/v3/freeBusy", EVENTS_PATH]

    (log,) = activity(db, "booked")
    assert log.counsellor_id == "A3X9K2" and log.actor_user_id == user.user_id
    audit = db.scalars(select(AuditLog).where(AuditLog.action == "gmeet_booking.created")).one()
    assert audit.entity_id == str(booking.id) and audit.actor_user_id == user.user_id


def test_without_an_email_nobody_is_invited(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    response = book(client, user)
    assert response.status_code == 201, response.text
    assert response.json()["notifications_sent"] is False
    (insert,) = google.event_inserts()
    assert insert.query["sendUpdates"] == ["none"]
    assert "attendees" not in insert.json()
    (booking,) = bookings(db)
    assert booking.patient_phone == "+919876500001"  # the account holder, by default


def test_the_patient_defaults_to_the_member(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    member = make_member(db, user.user_id, name="Meera Kumar", phone="+919812345678")
    response = book(client, user, member_id=member.id)
    assert response.status_code == 201, response.text
    assert response.json()["patient_name"] == "Meera Kumar"
    assert response.json()["member_id"] == member.id
    (booking,) = bookings(db)
    assert booking.patient_phone == "+919812345678"
    assert google.event_inserts()[0].json()["summary"] == "Genetic counselling: Meera Kumar"


def test_the_patient_email_defaults_to_the_account_holders(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    profile = {"name": "Ravi Kumar", "email": "ravi@example.com"}
    assert client.put("/profile", json=profile, headers=user.headers).status_code == 200
    response = book(client, user)
    assert response.json()["patient_name"] == "Ravi Kumar"
    assert response.json()["notifications_sent"] is True
    assert google.event_inserts()[0].json()["attendees"][0]["email"] == "ravi@example.com"


def test_an_address_other_than_the_profile_email_gets_no_invite(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    # Without a profile email, and with another one on the profile: refused before Google.
    refused = book(client, user, patient_email="stranger@example.org")
    assert_error(refused, 422, "patient_email_not_allowed")
    set_profile_email(client, user, "ravi@example.com")
    refused = book(client, user, patient_email="stranger@example.org")
    assert_error(refused, 422, "patient_email_not_allowed")
    assert bookings(db) == []
    assert google.requests == []

    # The profile's own address, in any case, is invited as the profile holds it.
    response = book(client, user, patient_email="Ravi@Example.com")
    assert response.status_code == 201, response.text
    (insert,) = google.event_inserts()
    assert [a["email"] for a in insert.json()["attendees"]] == ["ravi@example.com"]
    assert "stranger@example.org" not in json.dumps([r.json() for r in google.event_inserts()])


def test_one_account_holds_at_most_max_upcoming_bookings(
    client: TestClient,
    google: FakeGoogle,
    db: Session,
    counsellor: Counsellor,
    user: LoggedIn,
    clock: Clock,
    settings: Settings,
) -> None:
    assert settings.MAX_UPCOMING_BOOKINGS == 2
    first = book(client, user)
    second = book(client, user, **slot(TEN_THIRTY, ist(2031, 6, 2, 11)))
    assert first.status_code == second.status_code == 201
    third = book(client, user, **slot(ist(2031, 6, 2, 11), ist(2031, 6, 2, 11, 30)))
    body = assert_error(third, 409, "booking_limit_reached")
    assert body["details"] == [{"limit": 2, "upcoming": 2}]
    assert len(bookings(db)) == 2 and len(google.event_inserts()) == 2

    # Another account is not affected.
    other = login(client, "+919876500009")
    assert book(client, other, **slot(ist(2031, 6, 2, 12), ist(2031, 6, 2, 12, 30))).is_success

    # A cancelled session frees a place; so does one that has started.
    path = f"/gmeet/appointment/A3X9K2/{first.json()['booking_id']}"
    assert client.delete(path, headers=user.headers).status_code == 200
    assert book(client, user, **slot(ist(2031, 6, 2, 11), ist(2031, 6, 2, 11, 30))).is_success
    assert_error(
        book(client, user, **slot(ist(2031, 6, 2, 13), ist(2031, 6, 2, 13, 30))),
        409,
        "booking_limit_reached",
    )
    clock.set(ist(2031, 6, 2, 10, 45))  # the 10:30 session is under way
    assert book(client, user, **slot(ist(2031, 6, 2, 13), ist(2031, 6, 2, 13, 30))).is_success


def test_someone_elses_member_is_not_found(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    other = login(client, "+919876500002")
    member = make_member(db, other.user_id)
    assert_error(book(client, user, member_id=member.id), 404, "member_not_found")
    assert bookings(db) == [] and google.event_inserts() == []


def test_a_booked_slot_disappears_from_availability_and_cannot_be_booked_again(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    assert book(client, user).status_code == 201
    window = {
        "counsellor_id": "A3X9K2",
        "start_time": TEN.isoformat(),
        "end_time": ist(2031, 6, 2, 11).isoformat(),
    }
    slots = client.get("/gmeet/availability", params=window).json()["available_slots"]
    assert [s["start"] for s in slots] == ["2031-06-02T10:30:00+05:30"]

    other = login(client, "+919876500002")
    assert_error(book(client, other), 409, "slot_unavailable")
    assert len(bookings(db)) == 1
    assert len(google.event_inserts()) == 1


def test_a_slot_busy_in_google_calendar_is_refused(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    google.add_busy(EMAIL, ist(2031, 6, 2, 9, 45), ist(2031, 6, 2, 10, 15))
    assert_error(book(client, user), 409, "slot_unavailable")
    assert bookings(db) == []
    assert google.event_inserts() == []


def test_the_unique_key_allows_one_live_booking_per_slot(
    db: Session, google: FakeGoogle, clock: Clock, client: TestClient
) -> None:
    make_counsellor(db, google)
    owner = login(client, "+919876500003")

    def row(status: str) -> Booking:
        return Booking(
            uuid=str(uuid.uuid4()),
            counsellor_id="A3X9K2",
            user_id=owner.user_id,
            patient_name="P",
            start_time=TEN,
            end_time=TEN_THIRTY,
            slot_key=TEN if status == "confirmed" else None,
            status=status,
        )

    db.add_all([row("cancelled"), row("cancelled"), row("confirmed")])
    db.flush()
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(row("confirmed"))


# --- slot rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (ist(2031, 6, 2, 10, 15), ist(2031, 6, 2, 10, 45)),  # not on the half hour
        (ist(2031, 6, 2, 10), ist(2031, 6, 2, 11)),  # two slots
        (ist(2031, 6, 2, 10), ist(2031, 6, 2, 10, 20)),  # part of a slot
        (ist(2031, 6, 2, 18), ist(2031, 6, 2, 18, 30)),  # after hours
        (ist(2031, 6, 2, 9, 30), ist(2031, 6, 2, 10)),  # before hours
        (ist(2031, 6, 8, 10), ist(2031, 6, 8, 10, 30)),  # Sunday
        (ist(2031, 6, 2, 10, 30), ist(2031, 6, 2, 10)),  # backwards
    ],
)
def test_only_an_offered_slot_can_be_booked(
    client: TestClient,
    google: FakeGoogle,
    db: Session,
    counsellor: Counsellor,
    user: LoggedIn,
    start: datetime,
    end: datetime,
) -> None:
    assert_error(book(client, user, **slot(start, end)), 422, "invalid_slot")
    assert google.requests == []


def test_a_slot_in_the_past_cannot_be_booked(
    client: TestClient,
    google: FakeGoogle,
    db: Session,
    counsellor: Counsellor,
    user: LoggedIn,
    clock: Clock,
) -> None:
    clock.set(ist(2031, 6, 2, 10, 5))
    assert_error(book(client, user), 422, "invalid_slot")
    assert book(client, user, **slot(TEN_THIRTY, ist(2031, 6, 2, 11))).status_code == 201


@pytest.mark.parametrize(
    "change",
    [
        {"start_time": "2031-06-02T10:00:00"},  # no offset
        {"patient_email": "not-an-email"},
        {"patient_name": "x" * 121},
        {"notes": "x" * 2001},
        {"member_id": 0},
        {"unexpected": 1},
    ],
)
def test_bad_booking_input_is_422(
    client: TestClient,
    google: FakeGoogle,
    db: Session,
    counsellor: Counsellor,
    user: LoggedIn,
    change: dict,
) -> None:
    assert_error(book(client, user, **change), 422, "validation_error")


def test_a_bad_patient_phone_is_422_invalid_phone(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    assert_error(book(client, user, patient_phone="12345"), 422, "invalid_phone")


def test_unknown_and_inactive_counsellors_cannot_be_booked(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock, user: LoggedIn
) -> None:
    make_counsellor(db, google, counsellor_id="B4Y8M3", is_active=False)
    for code in ("B4Y8M3", "ZZZZZZ"):
        assert_error(book(client, user, counsellor_id=code), 404, "counsellor_not_found")
    assert google.requests == []


def test_booking_needs_a_login(client: TestClient, google: FakeGoogle, clock: Clock) -> None:
    assert_error(client.post("/gmeet/book", json=slot(TEN, TEN_THIRTY)), 401, "not_authenticated")
    assert_error(client.get("/gmeet/bookings"), 401, "not_authenticated")
    assert_error(client.delete("/gmeet/appointment/A3X9K2/1"), 401, "not_authenticated")


# --- tokens --------------------------------------------------------------------------------------


def test_an_expired_access_token_is_refreshed_and_stored_encrypted(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock, user: LoggedIn
) -> None:
    make_counsellor(db, google, token_expired=True)
    old_access = next(iter(google.access_tokens))
    response = book(client, user)
    assert response.status_code == 201, response.text

    (refresh,) = google.token_requests("refresh_token")
    assert refresh.form()["refresh_token"] == [next(iter(google.grants))]
    new_access = list(google.access_tokens)[-1]
    assert new_access != old_access
    # Both Calendar calls used the new token.
    calls = google.requests_to("POST", "/calendar/v3/")
    assert {r.headers["authorization"] for r in calls} == {f"Bearer {new_access}"}
    db.expire_all()
    token = db.scalars(select(CounsellorToken)).one()
    assert new_access not in token.access_token
    assert utils.decrypt_token(token.access_token) == new_access
    assert token.expires_at is not None and token.expires_at > wall_utcnow()  # google-auth's clock


def test_a_revoked_grant_marks_the_counsellor_for_reconnection(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock, user: LoggedIn
) -> None:
    make_counsellor(db, google, token_expired=True)
    google.revoke(EMAIL)

    assert_error(book(client, user), 409, "counsellor_unavailable")

    assert [r.form()["grant_type"] for r in google.requests_to("POST", "/token")] == [
        ["refresh_token"]
    ]
    assert google.event_inserts() == []
    assert bookings(db) == []  # the request failed: nothing of the booking is kept...
    counsellor = db.scalars(select(Counsellor)).one()
    assert counsellor.status == "reconnect_required"  # ...but the revoked grant is
    (log,) = activity(db, "token_refresh_failed")
    assert log.detail == {"during": "freeBusy", "status": "reconnect_required"}
    assert log.actor_user_id == user.user_id

    # From now on: no Google calls, 409 for everyone, visible to admins.
    google.reset()
    assert_error(book(client, user), 409, "counsellor_unavailable")
    assert google.requests == []
    assert client.get("/gmeet/counsellors").json()["items"] == []
    admin = login(client, ADMIN_PHONE)
    listed = client.get("/gmeet/admin/counsellors", headers=admin.headers).json()["items"]
    assert [(c["counsellor_id"], c["status"]) for c in listed] == [("A3X9K2", "reconnect_required")]


def test_a_revoked_grant_during_availability_is_kept_too(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google, token_expired=True)
    google.revoke(EMAIL)
    window = {
        "counsellor_id": "A3X9K2",
        "start_time": TEN.isoformat(),
        "end_time": ist(2031, 6, 2, 12).isoformat(),
    }
    assert_error(client.get("/gmeet/availability", params=window), 409, "counsellor_unavailable")
    db.expire_all()
    assert db.scalar(select(Counsellor.status)) == "reconnect_required"


# --- Google failures -----------------------------------------------------------------------------


def test_google_500_on_insert_leaves_no_booking(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    google.fail("POST", EVENTS_PATH)
    response = book(client, user)
    body = assert_error(response, 503, "google_calendar_unavailable")
    assert body["details"] == []
    assert bookings(db) == []
    (log,) = activity(db, "google_error")
    assert log.detail == {"during": "events.insert", "reason": "HTTP 500"}
    assert (
        db.scalars(select(AuditLog).where(AuditLog.action == "gmeet_booking.created")).all() == []
    )
    # The slot is free again.
    assert book(client, user).status_code == 201


def test_google_timeout_on_insert_is_bounded(
    client: TestClient,
    google: FakeGoogle,
    db: Session,
    counsellor: Counsellor,
    user: LoggedIn,
    settings,
    monkeypatch,
) -> None:
    monkeypatch.setattr(settings, "GOOGLE_TIMEOUT_SECONDS", 0.5)
    google.time_out("POST", EVENTS_PATH, seconds=5)
    began = time.monotonic()
    assert_error(book(client, user), 503, "google_calendar_unavailable")
    assert time.monotonic() - began < 3
    assert bookings(db) == []


def test_google_500_on_freebusy_makes_no_event(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    google.fail("POST", FREEBUSY_PATH)
    assert_error(book(client, user), 503, "google_calendar_unavailable")
    assert google.event_inserts() == []
    assert bookings(db) == []


def test_an_event_whose_booking_does_not_commit_is_deleted(
    client: TestClient,
    google: FakeGoogle,
    db: Session,
    counsellor: Counsellor,
    user: LoggedIn,
    monkeypatch,
) -> None:
    def broken_audit(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    set_profile_email(client, user, "ravi@example.com")
    monkeypatch.setattr(booking_service, "record_audit", broken_audit)
    response = book(client, user, patient_email="ravi@example.com")
    assert_error(response, 500, "internal_error")
    assert bookings(db) == []
    assert len(google.event_inserts()) == 1
    (delete,) = google.event_deletes()
    (event_id,) = google.calendar(EMAIL).events
    assert delete.path.endswith("/" + event_id)
    assert delete.query["sendUpdates"] == ["all"]
    assert google.calendar(EMAIL).events[event_id]["status"] == "cancelled"
    (log,) = activity(db, "orphan_event_removed")
    assert log.detail == {"google_event_id": event_id}


# --- my bookings ---------------------------------------------------------------------------------


def test_i_see_only_my_bookings_latest_first(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    other = login(client, "+919876500002")
    assert book(client, user).status_code == 201
    assert (
        book(client, user, **slot(ist(2031, 6, 3, 11), ist(2031, 6, 3, 11, 30))).status_code == 201
    )
    assert (
        book(client, other, **slot(ist(2031, 6, 3, 12), ist(2031, 6, 3, 12, 30))).status_code == 201
    )

    page = client.get("/gmeet/bookings", headers=user.headers).json()
    assert page["total"] == 2
    assert [b["start_time"] for b in page["items"]] == [
        "2031-06-03T11:00:00+05:30",
        "2031-06-02T10:00:00+05:30",
    ]
    first = client.get("/gmeet/bookings?limit=1&offset=1", headers=user.headers).json()
    assert [b["start_time"] for b in first["items"]] == ["2031-06-02T10:00:00+05:30"]
    assert first["limit"] == 1 and first["offset"] == 1
    theirs = client.get("/gmeet/bookings", headers=other.headers).json()
    assert theirs["total"] == 1


def test_a_withdrawn_calendar_permission_marks_the_counsellor_for_reconnection(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    google.fail(
        "POST",
        FREEBUSY_PATH,
        api_error(
            403, "Request had insufficient authentication scopes.", "insufficientPermissions"
        ),
    )
    assert_error(book(client, user), 409, "counsellor_unavailable")
    db.expire_all()
    assert db.scalar(select(Counsellor.status)) == "reconnect_required"


def test_a_google_rate_limit_is_a_503_not_a_reconnection(
    client: TestClient, google: FakeGoogle, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    google.fail("POST", FREEBUSY_PATH, api_error(403, "Rate Limit Exceeded", "rateLimitExceeded"))
    assert_error(book(client, user), 503, "google_calendar_unavailable")
    db.expire_all()
    assert db.scalar(select(Counsellor.status)) == "connected"
