"""Two customers book the same slot at the same moment (MariaDB: real commits, real locks):
exactly one booking, one Calendar event, and a clean 409 for the other."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from database import engine
from gmeet_api.models import ActivityLog, Booking, Counsellor, CounsellorToken
from Login_module.models import DeviceSession, User
from main import app
from tests.fakes.google import FakeGoogle
from tests.fakes.google_setup import Clock
from tests.support.database import requires_mariadb
from tests.support.factories.gmeet import ist, make_counsellor
from tests.support.login import login

CODE = "R4C3QQ"
EMAIL = "race.counsellor@example.com"
PHONES = ("+919876500071", "+919876500072")


def remove_everything(user_ids: list[int]) -> None:
    with Session(engine) as session:
        session.execute(delete(Booking).where(Booking.counsellor_id == CODE))
        session.execute(delete(ActivityLog).where(ActivityLog.counsellor_id == CODE))
        session.execute(delete(CounsellorToken).where(CounsellorToken.counsellor_id == CODE))
        session.execute(delete(Counsellor).where(Counsellor.counsellor_id == CODE))
        session.execute(
            delete(AuditLog).where(
                or_(AuditLog.actor_user_id.in_(user_ids), AuditLog.entity_id == CODE)
            )
        )
        session.execute(delete(DeviceSession).where(DeviceSession.user_id.in_(user_ids)))
        session.execute(delete(User).where(User.id.in_(user_ids)))
        session.commit()


@pytest.fixture
def committed_counsellor(google: FakeGoogle, clock: Clock) -> Iterator[str]:
    """A counsellor committed for real: the racing requests cannot see a test transaction."""
    with Session(engine) as session:
        make_counsellor(session, google, counsellor_id=CODE, email=EMAIL)
        session.commit()
    yield CODE
    with Session(engine) as session:
        user_ids = list(session.scalars(select(User.id).where(User.phone.in_(PHONES))))
    remove_everything(user_ids)


@pytest.mark.concurrency
@requires_mariadb
def test_two_customers_booking_the_same_slot_get_one_booking_and_one_event(
    committed_counsellor: str, google: FakeGoogle
) -> None:
    clients = [TestClient(app, raise_server_exceptions=False) for _ in PHONES]
    users = [login(client, phone) for client, phone in zip(clients, PHONES, strict=True)]
    google.requests.clear()
    barrier = threading.Barrier(len(clients))
    body = {
        "counsellor_id": committed_counsellor,
        "start_time": ist(2031, 6, 2, 11).isoformat(),
        "end_time": ist(2031, 6, 2, 11, 30).isoformat(),
    }

    def attempt(index: int) -> tuple[int, dict]:
        barrier.wait()
        response = clients[index].post("/gmeet/book", json=body, headers=users[index].headers)
        return response.status_code, response.json()

    with ThreadPoolExecutor(len(clients)) as pool:
        outcomes = list(pool.map(attempt, range(len(clients))))
    for client in clients:
        client.close()

    assert sorted(status for status, _ in outcomes) == [201, 409], outcomes
    refused = next(body for status, body in outcomes if status == 409)
    assert refused["code"] == "slot_unavailable"
    with Session(engine) as session:
        rows = session.scalars(select(Booking).where(Booking.counsellor_id == CODE)).all()
    assert len(rows) == 1 and rows[0].status == "confirmed"
    assert len(google.event_inserts()) == 1
    assert len(google.freebusy_requests()) == 1  # the loser stopped before reaching Google
    assert rows[0].google_event_id == next(iter(google.calendar(EMAIL).events))


@pytest.mark.concurrency
@requires_mariadb
def test_one_account_booking_many_slots_at_once_stays_within_the_limit(
    committed_counsellor: str, google: FakeGoogle
) -> None:
    """MAX_UPCOMING_BOOKINGS (2) holds when four bookings of one account race: the count is
    taken under the user's row lock, so the later ones see the earlier ones' commits."""
    attempts = 4
    clients = [TestClient(app, raise_server_exceptions=False) for _ in range(attempts)]
    user = login(clients[0], PHONES[0])
    google.requests.clear()
    barrier = threading.Barrier(attempts)

    def attempt(index: int) -> tuple[int, dict]:
        body = {
            "counsellor_id": committed_counsellor,
            "start_time": ist(2031, 6, 3, 10 + index).isoformat(),
            "end_time": ist(2031, 6, 3, 10 + index, 30).isoformat(),
        }
        barrier.wait()
        response = clients[index].post("/gmeet/book", json=body, headers=user.headers)
        return response.status_code, response.json()

    with ThreadPoolExecutor(attempts) as pool:
        outcomes = list(pool.map(attempt, range(attempts)))
    for client in clients:
        client.close()

    assert sorted(status for status, _ in outcomes) == [201, 201, 409, 409], outcomes
    assert {body["code"] for status, body in outcomes if status == 409} == {"booking_limit_reached"}
    with Session(engine) as session:
        rows = session.scalars(select(Booking).where(Booking.counsellor_id == CODE)).all()
    assert len(rows) == 2 and {row.status for row in rows} == {"confirmed"}
    assert len(google.event_inserts()) == 2
