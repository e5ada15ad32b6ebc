"""Admin: every counsellor with status, approval/deactivation, profile and working hours."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from gmeet_api.models import ActivityLog, Counsellor
from tests.fakes.google import FakeGoogle
from tests.fakes.google_setup import Clock
from tests.support.factories.gmeet import connect, ist, make_counsellor
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login


def update(client: TestClient, admin: LoggedIn, counsellor_id: str, **body: Any) -> Any:
    return client.put(f"/gmeet/admin/counsellors/{counsellor_id}", json=body, headers=admin.headers)


def sunday_slots(client: TestClient) -> Any:
    return client.get(
        "/gmeet/availability",
        params={
            "counsellor_id": "A3X9K2",
            "start_time": ist(2031, 6, 8, 0).isoformat(),
            "end_time": ist(2031, 6, 9, 0).isoformat(),
        },
    )


def test_admin_routes_are_for_admins_only(client: TestClient, google: FakeGoogle) -> None:
    assert_error(client.get("/gmeet/admin/counsellors"), 401, "not_authenticated")
    user = login(client, "+919876500001")
    assert_error(
        client.get("/gmeet/admin/counsellors", headers=user.headers), 403, "admin_required"
    )
    response = update(client, user, "A3X9K2", is_active=True)
    assert_error(response, 403, "admin_required")


def test_admin_sees_every_counsellor_with_status(
    client: TestClient, google: FakeGoogle, db: Session, admin: LoggedIn
) -> None:
    make_counsellor(db, google, counsellor_id="A3X9K2")
    make_counsellor(
        db,
        google,
        counsellor_id="B4Y8M3",
        email="b@example.com",
        is_active=False,
        status="reconnect_required",
        working_days="mon,wed",
        workday_start="09:00",
    )
    page = client.get("/gmeet/admin/counsellors", headers=admin.headers).json()
    assert page["total"] == 2
    by_id = {item["counsellor_id"]: item for item in page["items"]}
    assert by_id["A3X9K2"]["is_active"] is True
    assert by_id["A3X9K2"]["status"] == "connected"
    assert by_id["A3X9K2"]["working_days"] is None
    assert by_id["B4Y8M3"] | {"connected_at": None, "created_at": None, "updated_at": None} == {
        "counsellor_id": "B4Y8M3",
        "name": "Dr. Asha Rao",
        "email": "b@example.com",
        "specialization": "Hereditary cancer",
        "bio": "Ten years of genetic counselling.",
        "is_active": False,
        "status": "reconnect_required",
        "working_days": ["mon", "wed"],
        "workday_start": "09:00",
        "workday_end": None,
        "connected_at": None,
        "created_at": None,
        "updated_at": None,
    }


def test_a_new_counsellor_is_offered_once_an_admin_approves_them(
    client: TestClient, google: FakeGoogle, db: Session, admin: LoggedIn
) -> None:
    code = connect(client, google).json()["counsellor_id"]
    assert client.get("/gmeet/counsellors").json()["total"] == 0

    response = update(
        client, admin, code, is_active=True, specialization="Cardiogenetics", bio="Hello."
    )
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is True
    listed = client.get("/gmeet/counsellors").json()["items"]
    assert listed == [
        {
            "counsellor_id": code,
            "name": "Dr. Asha Rao",
            "specialization": "Cardiogenetics",
            "bio": "Hello.",
        }
    ]
    db.expire_all()
    audit = db.scalars(select(AuditLog).where(AuditLog.action == "gmeet_counsellor.updated")).one()
    assert audit.actor_user_id == admin.user_id
    assert audit.entity_id == code
    assert audit.changes["is_active"] == {"old": False, "new": True}
    assert audit.changes["specialization"] == {"old": None, "new": "Cardiogenetics"}
    log = db.scalars(select(ActivityLog).where(ActivityLog.action == "admin_updated")).one()
    assert log.counsellor_id == code


def test_a_deactivated_counsellor_disappears_and_cannot_be_booked(
    client: TestClient, google: FakeGoogle, db: Session, admin: LoggedIn, clock: Clock
) -> None:
    make_counsellor(db, google)
    assert update(client, admin, "A3X9K2", is_active=False).status_code == 200
    assert client.get("/gmeet/counsellors").json()["total"] == 0
    assert_error(sunday_slots(client), 404, "counsellor_not_found")
    user = login(client, "+919876500001")
    body = {
        "counsellor_id": "A3X9K2",
        "start_time": ist(2031, 6, 2, 10).isoformat(),
        "end_time": ist(2031, 6, 2, 10, 30).isoformat(),
    }
    booked = client.post("/gmeet/book", json=body, headers=user.headers)
    assert_error(booked, 404, "counsellor_not_found")

    assert update(client, admin, "A3X9K2", is_active=True).status_code == 200
    assert client.post("/gmeet/book", json=body, headers=user.headers).status_code == 201


def test_admin_sets_and_clears_working_hours(
    client: TestClient, google: FakeGoogle, db: Session, admin: LoggedIn, clock: Clock
) -> None:
    make_counsellor(db, google)
    assert sunday_slots(client).json()["available_slots"] == []

    response = update(
        client,
        admin,
        "A3X9K2",
        working_days=["sun", "mon", "sun"],
        workday_start="09:00",
        workday_end="10:00",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["working_days"] == ["mon", "sun"]
    assert (body["workday_start"], body["workday_end"]) == ("09:00", "10:00")
    slots = sunday_slots(client).json()["available_slots"]
    assert [s["start"] for s in slots] == [
        "2031-06-08T09:00:00+05:30",
        "2031-06-08T09:30:00+05:30",
    ]

    cleared = update(
        client, admin, "A3X9K2", working_days=None, workday_start=None, workday_end=None
    )
    assert cleared.json()["working_days"] is None
    assert sunday_slots(client).json()["available_slots"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"workday_start": "18:00", "workday_end": "10:00"},
        {"workday_start": "10:00", "workday_end": "10:00"},
        {"workday_start": "10:00", "workday_end": "10:15"},  # no room for one slot
        {"workday_end": "09:30"},  # before the default opening
    ],
)
def test_a_working_day_must_hold_a_slot(
    client: TestClient, google: FakeGoogle, db: Session, admin: LoggedIn, body: dict
) -> None:
    make_counsellor(db, google)
    assert_error(update(client, admin, "A3X9K2", **body), 422, "invalid_working_hours")
    db.expire_all()
    assert db.scalar(select(Counsellor.workday_start)) is None


@pytest.mark.parametrize(
    "body",
    [
        {"workday_start": "9am"},
        {"workday_start": "24:00"},
        {"working_days": ["funday"]},
        {"working_days": []},
        {"is_active": None},
        {"bio": "x" * 2001},
        {"specialization": "x" * 121},
        {"email": "new@example.com"},
    ],
)
def test_bad_admin_input_is_422(
    client: TestClient, google: FakeGoogle, db: Session, admin: LoggedIn, body: dict
) -> None:
    make_counsellor(db, google)
    assert_error(update(client, admin, "A3X9K2", **body), 422, "validation_error")


def test_updating_an_unknown_counsellor_is_404(
    client: TestClient, google: FakeGoogle, admin: LoggedIn
) -> None:
    assert_error(update(client, admin, "ZZZZZZ", is_active=True), 404, "counsellor_not_found")
