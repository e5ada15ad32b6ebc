"""Public counsellor list and availability: IST working hours, 30-minute slots, minus Google
busy times, minus our bookings, minus the past."""

import time
import uuid
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gmeet_api import rate_limits
from gmeet_api.models import ActivityLog, Booking, Counsellor
from tests.fakes.google import FREEBUSY_PATH, FakeGoogle
from tests.fakes.google_setup import Clock
from tests.support.factories.gmeet import ist, make_counsellor
from tests.support.factories.user import make_user
from tests.support.http import assert_error

EMAIL = "asha.rao@example.com"


def availability(
    client: TestClient, start: datetime, end: datetime, counsellor_id: str = "A3X9K2"
) -> dict:
    response = client.get(
        "/gmeet/availability",
        params={
            "counsellor_id": counsellor_id,
            "start_time": start.isoformat(),
            "end_time": end.isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def starts(body: dict) -> list[str]:
    return [slot["start"] for slot in body["available_slots"]]


def day_starts(day: str, times: list[str]) -> list[str]:
    return [f"{day}T{hhmm}:00+05:30" for hhmm in times]


def half_hours(first: str, last: str) -> list[str]:
    """'10:00'..'17:30' every 30 minutes, inclusive."""
    h, m = map(int, first.split(":"))
    end_h, end_m = map(int, last.split(":"))
    out = []
    while (h, m) <= (end_h, end_m):
        out.append(f"{h:02d}:{m:02d}")
        h, m = (h, m + 30) if m == 0 else (h + 1, 0)
    return out


def add_booking(
    db: Session, counsellor_id: str, start: datetime, end: datetime, status: str = "confirmed"
) -> Booking:
    user = make_user(db)
    booking = Booking(
        uuid=str(uuid.uuid4()),
        counsellor_id=counsellor_id,
        user_id=user.id,
        patient_name="Someone",
        start_time=start,
        end_time=end,
        slot_key=start if status == "confirmed" else None,
        status=status,
    )
    db.add(booking)
    db.flush()
    return booking


# --- the public list -----------------------------------------------------------------------------


def test_only_active_connected_counsellors_are_listed(
    client: TestClient, google: FakeGoogle, db: Session
) -> None:
    make_counsellor(db, google, counsellor_id="A3X9K2", name="Dr. Asha Rao")
    make_counsellor(db, google, counsellor_id="B4Y8M3", email="b@example.com", is_active=False)
    make_counsellor(
        db, google, counsellor_id="C5Z7N4", email="c@example.com", status="reconnect_required"
    )
    response = client.get("/gmeet/counsellors")
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "counsellor_id": "A3X9K2",
                "name": "Dr. Asha Rao",
                "specialization": "Hereditary cancer",
                "bio": "Ten years of genetic counselling.",
            }
        ],
        "total": 1,
        "limit": 20,
        "offset": 0,
    }


# --- slot arithmetic -----------------------------------------------------------------------------


def test_a_free_day_offers_every_working_half_hour_in_indian_time(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    body = availability(client, ist(2031, 6, 2, 0), ist(2031, 6, 3, 0))
    assert body["counsellor_id"] == "A3X9K2"
    assert body["start_time"] == "2031-06-02T00:00:00+05:30"
    assert body["end_time"] == "2031-06-03T00:00:00+05:30"
    assert starts(body) == day_starts("2031-06-02", half_hours("10:00", "17:30"))
    assert body["available_slots"][0] == {
        "start": "2031-06-02T10:00:00+05:30",
        "end": "2031-06-02T10:30:00+05:30",
    }
    assert body["available_slots"][-1]["end"] == "2031-06-02T18:00:00+05:30"


def test_a_window_given_in_utc_is_answered_in_indian_time(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    # 04:30Z-06:00Z is 10:00-11:30 IST.
    body = availability(
        client,
        datetime.fromisoformat("2031-06-02T04:30:00+00:00"),
        datetime.fromisoformat("2031-06-02T06:00:00+00:00"),
    )
    assert starts(body) == day_starts("2031-06-02", ["10:00", "10:30", "11:00"])
    assert body["start_time"] == "2031-06-02T10:00:00+05:30"


def test_busy_blocks_remove_overlapping_slots_across_the_night(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    google.add_busy(EMAIL, ist(2031, 6, 2, 12, 15), ist(2031, 6, 2, 12, 45))
    # From Monday 17:30 to Tuesday 10:30, Indian time.
    google.add_busy(EMAIL, ist(2031, 6, 2, 17, 30), ist(2031, 6, 3, 10, 30))
    body = availability(client, ist(2031, 6, 2, 0), ist(2031, 6, 4, 0))
    monday = [t for t in half_hours("10:00", "17:00") if t not in ("12:00", "12:30")]
    tuesday = half_hours("10:30", "17:30")
    assert starts(body) == day_starts("2031-06-02", monday) + day_starts("2031-06-03", tuesday)


def test_freebusy_is_asked_for_the_primary_calendar_over_the_candidate_slots(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    availability(client, ist(2031, 6, 2, 0), ist(2031, 6, 4, 0))
    (request,) = google.freebusy_requests()
    body = request.json()
    assert body["items"] == [{"id": "primary"}]
    assert datetime.fromisoformat(body["timeMin"]) == ist(2031, 6, 2, 10)
    assert datetime.fromisoformat(body["timeMax"]) == ist(2031, 6, 3, 18)
    assert request.headers["authorization"].startswith("Bearer ya29.fake-")


def test_sunday_has_no_slots_and_google_is_not_asked(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    assert availability(client, ist(2031, 6, 8, 0), ist(2031, 6, 9, 0))["available_slots"] == []
    assert google.freebusy_requests() == []
    saturday = availability(client, ist(2031, 6, 7, 0), ist(2031, 6, 8, 0))
    assert len(saturday["available_slots"]) == 16


def test_slots_in_the_past_are_not_offered(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    clock.set(ist(2031, 6, 2, 13, 10))
    body = availability(client, ist(2031, 6, 2, 0), ist(2031, 6, 3, 0))
    assert starts(body) == day_starts("2031-06-02", half_hours("13:30", "17:30"))
    clock.set(ist(2031, 6, 2, 18, 0))
    assert availability(client, ist(2031, 6, 2, 0), ist(2031, 6, 3, 0))["available_slots"] == []


def test_only_slots_wholly_inside_the_window_are_offered(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    body = availability(client, ist(2031, 6, 2, 10, 15), ist(2031, 6, 2, 11, 45))
    assert starts(body) == day_starts("2031-06-02", ["10:30", "11:00"])


def test_our_live_bookings_are_taken_and_cancelled_ones_are_free(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    add_booking(db, "A3X9K2", ist(2031, 6, 2, 10), ist(2031, 6, 2, 10, 30))
    add_booking(db, "A3X9K2", ist(2031, 6, 2, 11), ist(2031, 6, 2, 11, 30), status="cancelled")
    body = availability(client, ist(2031, 6, 2, 10), ist(2031, 6, 2, 12))
    assert starts(body) == day_starts("2031-06-02", ["10:30", "11:00", "11:30"])


def test_a_counsellors_own_hours_override_the_defaults(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google, working_days="sun", workday_start="09:00", workday_end="11:00")
    sunday = availability(client, ist(2031, 6, 8, 0), ist(2031, 6, 9, 0))
    assert starts(sunday) == day_starts("2031-06-08", ["09:00", "09:30", "10:00", "10:30"])
    monday = availability(client, ist(2031, 6, 9, 0), ist(2031, 6, 10, 0))
    assert monday["available_slots"] == []


def test_slot_length_follows_the_setting(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock, settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "SLOT_MINUTES", 45)
    make_counsellor(db, google)
    body = availability(client, ist(2031, 6, 2, 10), ist(2031, 6, 2, 12, 30))
    assert starts(body) == day_starts("2031-06-02", ["10:00", "10:45", "11:30"])


# --- refusals ------------------------------------------------------------------------------------


def test_window_limits_are_enforced(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    params = {"counsellor_id": "A3X9K2"}
    too_long = {
        **params,
        "start_time": ist(2031, 6, 2, 0).isoformat(),
        "end_time": ist(2031, 6, 16, 0, 1).isoformat(),
    }
    assert_error(
        client.get("/gmeet/availability", params=too_long), 422, "availability_window_too_large"
    )
    backwards = {
        **params,
        "start_time": ist(2031, 6, 3, 0).isoformat(),
        "end_time": ist(2031, 6, 2, 0).isoformat(),
    }
    assert_error(client.get("/gmeet/availability", params=backwards), 422, "invalid_time_window")
    naive = {**params, "start_time": "2031-06-02T10:00:00", "end_time": "2031-06-03T10:00:00"}
    assert_error(client.get("/gmeet/availability", params=naive), 422, "validation_error")
    assert_error(client.get("/gmeet/availability", params=params), 422, "validation_error")
    fourteen_days = {**too_long, "end_time": ist(2031, 6, 16, 0).isoformat()}
    assert client.get("/gmeet/availability", params=fourteen_days).status_code == 200


def test_unknown_and_inactive_counsellors_are_not_found(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google, counsellor_id="B4Y8M3", is_active=False)
    window = {
        "start_time": ist(2031, 6, 2, 0).isoformat(),
        "end_time": ist(2031, 6, 3, 0).isoformat(),
    }
    for code in ("B4Y8M3", "ZZZZZZ"):
        response = client.get("/gmeet/availability", params={"counsellor_id": code, **window})
        assert_error(response, 404, "counsellor_not_found")


def test_a_counsellor_needing_reconnection_is_unavailable(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google, status="reconnect_required")
    window = {
        "start_time": ist(2031, 6, 2, 0).isoformat(),
        "end_time": ist(2031, 6, 3, 0).isoformat(),
    }
    response = client.get("/gmeet/availability", params={"counsellor_id": "A3X9K2", **window})
    assert_error(response, 409, "counsellor_unavailable")
    assert google.requests == []


def test_google_failure_is_a_clean_503_and_is_logged(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock
) -> None:
    make_counsellor(db, google)
    google.fail("POST", FREEBUSY_PATH)
    window = {
        "start_time": ist(2031, 6, 2, 0).isoformat(),
        "end_time": ist(2031, 6, 3, 0).isoformat(),
    }
    response = client.get("/gmeet/availability", params={"counsellor_id": "A3X9K2", **window})
    body = assert_error(response, 503, "google_calendar_unavailable")
    assert "Backend Error" not in response.text and body["details"] == []
    db.expire_all()
    (log,) = db.scalars(select(ActivityLog).where(ActivityLog.action == "google_error"))
    assert log.counsellor_id == "A3X9K2"
    assert log.detail == {"during": "freeBusy", "reason": "HTTP 500"}


def test_a_google_timeout_is_bounded(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock, settings, monkeypatch
) -> None:
    make_counsellor(db, google)
    monkeypatch.setattr(settings, "GOOGLE_TIMEOUT_SECONDS", 0.5)
    google.time_out("POST", FREEBUSY_PATH, seconds=5)
    window = {
        "start_time": ist(2031, 6, 2, 0).isoformat(),
        "end_time": ist(2031, 6, 3, 0).isoformat(),
    }
    began = time.monotonic()
    response = client.get("/gmeet/availability", params={"counsellor_id": "A3X9K2", **window})
    assert time.monotonic() - began < 3
    assert_error(response, 503, "google_calendar_unavailable")
    db.expire_all()
    (log,) = db.scalars(select(ActivityLog).where(ActivityLog.action == "google_error"))
    assert log.detail == {"during": "freeBusy", "reason": "timeout"}
    assert db.scalar(select(Counsellor.status)) == "connected"


def test_availability_checks_are_rate_limited_per_client(
    client: TestClient, google: FakeGoogle, db: Session, clock: Clock, monkeypatch
) -> None:
    monkeypatch.setattr(rate_limits, "AVAILABILITY_CHECKS_PER_IP_PER_MINUTE", 3)
    make_counsellor(db, google)
    for _ in range(3):
        availability(client, ist(2031, 6, 2, 10), ist(2031, 6, 2, 11))
    window = {
        "counsellor_id": "A3X9K2",
        "start_time": ist(2031, 6, 2, 10).isoformat(),
        "end_time": ist(2031, 6, 2, 11).isoformat(),
    }
    assert_error(client.get("/gmeet/availability", params=window), 429, "rate_limited")
    assert len(google.freebusy_requests()) == 3
