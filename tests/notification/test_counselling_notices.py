"""Counselling messages: booked and cancelled in the booking's transaction; the reminders 24 h
and 1 h before, each enqueued once however often the job runs."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gmeet_api.models import Counsellor
from gmeet_api.notices import counselling_reminders_job, enqueue_reminders
from Notification_module.models import Channel, NotificationEvent
from tests.fakes.google import FakeGoogle
from tests.fakes.google_setup import Clock
from tests.fakes.sms import FakeSmsGateway
from tests.support.factories.gmeet import ist, make_counsellor
from tests.support.login import LoggedIn, login
from tests.support.notification import deliver, outbox, texts_to

PHONE = "+919876581001"
TEN = ist(2031, 6, 2, 10)


@pytest.fixture
def counsellor(db: Session, google: FakeGoogle, clock: Clock) -> Counsellor:
    return make_counsellor(db, google)


@pytest.fixture
def user(client: TestClient) -> LoggedIn:
    return login(client, PHONE)


def book(client: TestClient, user: LoggedIn) -> dict[str, Any]:
    body = {
        "counsellor_id": "A3X9K2",
        "start_time": TEN.isoformat(),
        "end_time": (TEN + timedelta(minutes=30)).isoformat(),
    }
    response = client.post("/gmeet/book", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_booking_and_cancelling_tell_the_patient(
    client: TestClient,
    db: Session,
    counsellor: Counsellor,
    user: LoggedIn,
    sms_gateway: FakeSmsGateway,
) -> None:
    booked = book(client, user)
    [entry] = [
        r for r in outbox(db, NotificationEvent.COUNSELLING_BOOKED) if r.channel == Channel.INBOX
    ]
    assert entry.booking_id == booked["booking_id"]
    assert "Mon 02 Jun 2031, 10:00 AM IST" in entry.body
    path = f"/gmeet/appointment/{booked['counsellor_id']}/{booked['booking_id']}"
    assert client.delete(path, headers=user.headers).status_code == 200
    assert len(outbox(db, NotificationEvent.COUNSELLING_CANCELLED)) == 2  # inbox + sms
    assert deliver() == 2
    booked_text, cancelled_text = texts_to(sms_gateway, PHONE)
    assert "booked for Mon 02 Jun 2031, 10:00 AM IST" in booked_text
    assert "has been cancelled" in cancelled_text
    inbox = client.get("/notifications", headers=user.headers).json()
    assert [i["event"] for i in inbox["items"]] == ["counselling_cancelled", "counselling_booked"]
    assert inbox["items"][0]["booking_id"] == booked["booking_id"]


def test_reminders_go_24_hours_and_1_hour_before_each_once(
    client: TestClient, db: Session, counsellor: Counsellor, user: LoggedIn, clock: Clock
) -> None:
    clock.set(TEN - timedelta(days=2))  # booked well before either reminder's lead time
    booked = book(client, user)

    def reminders() -> list[str]:
        rows = outbox(db, NotificationEvent.COUNSELLING_REMINDER)
        return [r.title for r in rows if r.channel == Channel.INBOX]

    assert enqueue_reminders(db, TEN - timedelta(hours=25)) == 0
    assert enqueue_reminders(db, TEN - timedelta(hours=23)) == 1
    assert enqueue_reminders(db, TEN - timedelta(hours=22)) == 0  # already enqueued
    assert reminders() == ["Counselling session tomorrow"]
    assert enqueue_reminders(db, TEN - timedelta(minutes=50)) == 1
    assert enqueue_reminders(db, TEN - timedelta(minutes=10)) == 0
    assert reminders() == ["Counselling session tomorrow", "Counselling session in one hour"]
    assert enqueue_reminders(db, TEN + timedelta(minutes=1)) == 0  # it has started
    assert booked["booking_id"] == outbox(db, NotificationEvent.COUNSELLING_REMINDER)[0].booking_id


def test_a_cancelled_session_gets_no_reminder(
    client: TestClient, db: Session, counsellor: Counsellor, user: LoggedIn
) -> None:
    booked = book(client, user)
    path = f"/gmeet/appointment/{booked['counsellor_id']}/{booked['booking_id']}"
    assert client.delete(path, headers=user.headers).status_code == 200
    assert enqueue_reminders(db, TEN - timedelta(hours=23)) == 0
    # The job itself runs on the clock: nothing due now.
    assert counselling_reminders_job() == 0
