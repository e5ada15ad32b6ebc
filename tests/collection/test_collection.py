"""Home sample collection through HTTP: free windows, booking, moving, the run sheet, the
technician, holidays, and the refusals, with the clock fixed (Asia/Kolkata)."""

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Collection_module.models import SlotCount
from core import clock as clock_module
from Notification_module.models import Channel, NotificationEvent
from tests.support.factories.address import make_location
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login
from tests.support.notification import outbox
from tests.support.report import paid_order

PHONE = "+919876590001"
# Monday 7 December 2026, 08:00 in Kolkata.
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=clock_module.IST)
TUESDAY = date(2026, 12, 8)

pytestmark = pytest.mark.usefixtures("razorpay")


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock_module, "frozen", NOW)


def free(client: TestClient, buyer, order: dict, **params) -> dict:
    query = {"item_id": order["items"][0]["id"], **params}
    response = client.get(
        f"/orders/{order['id']}/collection-slots", params=query, headers=buyer.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def book(client: TestClient, buyer, order: dict, day: date, start: str, items=None):
    body = {
        "item_ids": items or [item["id"] for item in order["items"]],
        "date": day.isoformat(),
        "start": start,
    }
    return client.post(f"/orders/{order['id']}/collection", json=body, headers=buyer.headers)


def test_free_windows_respect_lead_time_days_and_horizon(client: TestClient, db: Session) -> None:
    buyer, order = paid_order(client, db, PHONE)
    listed = free(client, buyer, order, days=3)
    assert listed["city"] == "BANGALORE"
    pairs = [(s["date"], s["start"], s["end"], s["remaining"]) for s in listed["slots"]]
    # Monday 08:00 + 12 h lead: nothing is left today, Tuesday starts at 07:00.
    assert pairs[0] == ("2026-12-08", "07:00", "09:00", 8)
    assert not [p for p in pairs if p[0] == "2026-12-07"]
    assert [p[1] for p in pairs if p[0] == "2026-12-08"] == ["07:00", "09:00", "11:00", "16:00"]
    far = free(client, buyer, order, **{"from": "2026-12-20", "days": 10})
    assert max(s["date"] for s in far["slots"]) == "2026-12-21"  # 14 days ahead at most


def test_booking_schedules_the_items_and_tells_the_customer(
    client: TestClient, db: Session
) -> None:
    buyer, order = paid_order(client, db, PHONE, members=2)
    booked = book(client, buyer, order, TUESDAY, "09:00")
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert (body["date"], body["start"], body["end"], body["city"]) == (
        "2026-12-08",
        "09:00",
        "11:00",
        "BANGALORE",
    )
    assert sorted(body["item_ids"]) == sorted(i["id"] for i in order["items"])
    detail = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert detail["status"] == "sample_collection_scheduled"
    assert {i["scheduled_date"] for i in detail["items"]} == {"2026-12-08"}
    [entry] = [
        r for r in outbox(db, NotificationEvent.COLLECTION_SCHEDULED) if r.channel == Channel.INBOX
    ]
    assert "08 Dec 2026, 09:00-11:00" in entry.body
    slot = free(client, buyer, order, **{"from": "2026-12-08", "days": 1})["slots"]
    assert [s["remaining"] for s in slot if s["start"] == "09:00"] == [7]
    # The same items cannot be booked twice.
    assert_error(book(client, buyer, order, TUESDAY, "11:00"), 409, "items_not_schedulable")


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (date(2026, 12, 7), "07:00"),  # inside the 12 h lead time
        (date(2026, 12, 22), "09:00"),  # beyond 14 days
        (TUESDAY, "08:00"),  # not a window
    ],
)
def test_slots_we_cannot_book_are_422(
    client: TestClient, db: Session, day: date, start: str
) -> None:
    buyer, order = paid_order(client, db, PHONE)
    assert_error(book(client, buyer, order, day, start), 422, "invalid_collection_slot")


def test_holidays_and_non_working_days_have_no_windows(
    client: TestClient, db: Session, admin: LoggedIn, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer, order = paid_order(client, db, PHONE)
    added = client.post("/orders/admin/holidays/2026-12-08", headers=admin.headers)
    assert added.status_code == 201, added.text
    assert added.json()["date"] == "2026-12-08"
    assert_error(book(client, buyer, order, TUESDAY, "09:00"), 422, "invalid_collection_slot")
    assert not [s for s in free(client, buyer, order, days=3)["slots"] if s["date"] == "2026-12-08"]
    assert (
        client.delete("/orders/admin/holidays/2026-12-08", headers=admin.headers).status_code == 204
    )
    monkeypatch.setattr(settings, "COLLECTION_DAYS", "mon,wed,thu,fri,sat")
    assert_error(book(client, buyer, order, TUESDAY, "09:00"), 422, "invalid_collection_slot")
    assert book(client, buyer, order, date(2026, 12, 9), "09:00").status_code == 201


def test_a_full_window_is_409_and_the_admin_capacity_counts(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    location = make_location(db)
    changed = client.put(
        f"/address/admin/locations/{location.id}",
        json={"collection_capacity": 1},
        headers=admin.headers,
    )
    assert changed.status_code == 200 and changed.json()["collection_capacity"] == 1
    first_buyer, first = paid_order(client, db, PHONE)
    second_buyer, second = paid_order(client, db, "+919876590002")
    assert book(client, first_buyer, first, TUESDAY, "09:00").status_code == 201
    assert_error(book(client, second_buyer, second, TUESDAY, "09:00"), 409, "slot_full")
    assert book(client, second_buyer, second, TUESDAY, "11:00").status_code == 201


def test_a_city_without_home_collection_is_told_about_the_courier_kit(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    location = make_location(db)
    client.put(
        f"/address/admin/locations/{location.id}",
        json={"home_collection": False},
        headers=admin.headers,
    )
    buyer, order = paid_order(client, db, PHONE)
    refused = assert_error(
        book(client, buyer, order, TUESDAY, "09:00"), 409, "home_collection_unavailable"
    )
    assert "courier" in refused["message"]
    response = client.get(
        f"/orders/{order['id']}/collection-slots",
        params={"item_id": order["items"][0]["id"]},
        headers=buyer.headers,
    )
    assert_error(response, 409, "home_collection_unavailable")


def test_rescheduling_moves_the_place_until_the_cutoff(
    client: TestClient, db: Session, clock: list[datetime]
) -> None:
    buyer, order = paid_order(client, db, PHONE)
    collection = book(client, buyer, order, TUESDAY, "09:00").json()
    path = f"/orders/{order['id']}/collection/{collection['id']}"
    moved = client.put(path, json={"date": "2026-12-09", "start": "16:00"}, headers=buyer.headers)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["date"], moved.json()["start"]) == ("2026-12-09", "16:00")
    db.expire_all()
    counts = {(c.day.isoformat(), c.start): c.booked for c in db.scalars(select(SlotCount))}
    assert counts == {("2026-12-08", "09:00"): 0, ("2026-12-09", "16:00"): 1}
    detail = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert detail["items"][0]["scheduled_date"] == "2026-12-09"
    # Within 4 hours of the window it stays where it is.
    clock_module.frozen = datetime(2026, 12, 9, 12, 30, tzinfo=clock_module.IST)
    late = client.put(path, json={"date": "2026-12-10", "start": "16:00"}, headers=buyer.headers)
    assert_error(late, 409, "reschedule_too_late")
    intruder = login(client, "+919876590003")
    assert_error(
        client.put(path, json={"date": "2026-12-10", "start": "16:00"}, headers=intruder.headers),
        404,
        "order_not_found",
    )


def test_cancelling_the_order_gives_the_place_back(client: TestClient, db: Session) -> None:
    buyer, order = paid_order(client, db, PHONE)
    assert book(client, buyer, order, TUESDAY, "09:00").status_code == 201
    cancelled = client.post(f"/orders/{order['id']}/cancel", headers=buyer.headers)
    assert cancelled.status_code == 200, cancelled.text
    db.expire_all()
    assert [c.booked for c in db.scalars(select(SlotCount))] == [0]


def test_the_run_sheet_and_the_technician(client: TestClient, db: Session, admin: LoggedIn) -> None:
    buyer, order = paid_order(client, db, PHONE)
    collection = book(client, buyer, order, TUESDAY, "09:00").json()
    sheet = client.get(
        "/orders/admin/collections",
        params={"date": "2026-12-08", "city": "Bangalore"},
        headers=admin.headers,
    )
    assert sheet.status_code == 200, sheet.text
    [entry] = sheet.json()
    assert entry["id"] == collection["id"] and entry["address"]["city"] == "BANGALORE"
    assert (
        client.get(
            "/orders/admin/collections", params={"date": "2026-12-09"}, headers=admin.headers
        ).json()
        == []
    )
    assigned = client.put(
        f"/orders/admin/collections/{collection['id']}",
        json={"technician_name": "Suresh", "technician_phone": "9876543211"},
        headers=admin.headers,
    )
    assert assigned.status_code == 200, assigned.text
    detail = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert detail["items"][0]["technician"] == {"name": "Suresh", "phone": "+91******3211"}
    staff_view = client.get(f"/orders/{order['id']}", headers=admin.headers).json()
    assert staff_view["items"][0]["technician"]["phone"] == "+919876543211"
    assert assigned.json()["technician_phone"] == "+919876543211"  # the admin's answer
    moved = client.put(
        f"/orders/{order['id']}/collection/{collection['id']}",
        json={"date": "2026-12-09", "start": "09:00"},
        headers=buyer.headers,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["technician_name"], moved.json()["technician_phone"]) == (
        "Suresh",
        "+91******3211",
    )
    assert_error(
        client.get(
            "/orders/admin/collections", params={"date": "2026-12-08"}, headers=buyer.headers
        ),
        403,
        "admin_required",
    )


def test_only_paid_items_of_my_order_at_one_address(client: TestClient, db: Session) -> None:
    buyer, order = paid_order(client, db, PHONE)
    intruder = login(client, "+919876590004")
    assert_error(book(client, intruder, order, TUESDAY, "09:00"), 404, "order_not_found")
    assert_error(
        book(client, buyer, order, TUESDAY, "09:00", items=[10**6]), 404, "order_item_not_found"
    )
