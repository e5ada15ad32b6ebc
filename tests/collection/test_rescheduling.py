"""Moving a home collection through HTTP: at most COLLECTION_MAX_RESCHEDULES moves per visit,
never once a sample is collected, and a burst of moves tells the customer once."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Collection_module.models import SlotCount
from config import Settings
from Notification_module.models import Channel, DeliveryStatus, NotificationEvent
from tests.fakes.sms import FakeSmsGateway
from tests.support.collection import TUESDAY, book, fix_clock, move
from tests.support.http import assert_error
from tests.support.login import LoggedIn
from tests.support.notification import deliver, outbox, texts_to
from tests.support.report import move_item, paid_order

PHONE = "+919876591001"
WEDNESDAY, THURSDAY, FRIDAY, SATURDAY = (date(2026, 12, d) for d in (9, 10, 11, 12))

pytestmark = pytest.mark.usefixtures("razorpay")


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    fix_clock(monkeypatch)


def places(db: Session) -> dict[tuple[str, str], int]:
    """Visits booked per (day, window start)."""
    db.expire_all()
    return {(c.day.isoformat(), c.start): c.booked for c in db.scalars(select(SlotCount))}


def run_sheet(client: TestClient, admin: LoggedIn, day: date) -> list[tuple[int, str]]:
    sheet = client.get(
        "/orders/admin/collections", params={"date": day.isoformat()}, headers=admin.headers
    )
    assert sheet.status_code == 200, sheet.text
    return [(entry["id"], entry["start"]) for entry in sheet.json()]


def collection_texts(gateway: FakeSmsGateway, phone: str) -> list[str]:
    return [text for text in texts_to(gateway, phone) if "collection for order" in text]


def test_three_moves_then_409_reschedule_limit_reached_with_nothing_changed(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    buyer, order = paid_order(client, db, PHONE)
    visit = book(client, buyer, order, TUESDAY, "09:00").json()
    for day, start in ((WEDNESDAY, "16:00"), (THURSDAY, "09:00"), (FRIDAY, "11:00")):
        moved = move(client, buyer, order, visit["id"], day, start)
        assert moved.status_code == 200, moved.text
        assert (moved.json()["date"], moved.json()["start"]) == (day.isoformat(), start)
    before = places(db)
    assert before == {
        ("2026-12-08", "09:00"): 0,
        ("2026-12-09", "16:00"): 0,
        ("2026-12-10", "09:00"): 0,
        ("2026-12-11", "11:00"): 1,
    }

    fourth = move(client, buyer, order, visit["id"], SATURDAY, "07:00")
    assert_error(fourth, 409, "reschedule_limit_reached")
    # Once the moves are spent the visit stays put, even "moved" to where it already is.
    again = move(client, buyer, order, visit["id"], FRIDAY, "11:00")
    assert_error(again, 409, "reschedule_limit_reached")

    assert places(db) == before
    assert run_sheet(client, admin, FRIDAY) == [(visit["id"], "11:00")]
    assert run_sheet(client, admin, SATURDAY) == []
    detail = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert [item["scheduled_date"] for item in detail["items"]] == ["2026-12-11"]


def test_the_limit_is_the_setting(
    client: TestClient, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "COLLECTION_MAX_RESCHEDULES", 1)
    buyer, order = paid_order(client, db, PHONE)
    visit = book(client, buyer, order, TUESDAY, "09:00").json()
    # Asking for the window it is in is no move and spends nothing.
    assert move(client, buyer, order, visit["id"], TUESDAY, "09:00").status_code == 200
    assert move(client, buyer, order, visit["id"], WEDNESDAY, "16:00").status_code == 200
    assert_error(
        move(client, buyer, order, visit["id"], THURSDAY, "09:00"), 409, "reschedule_limit_reached"
    )


def test_seventy_alternating_moves_make_three_and_the_phone_gets_one_sms_for_the_last(
    client: TestClient, db: Session, sms_gateway: FakeSmsGateway
) -> None:
    phone = "+919876591002"  # the SMS sink is shared by the session's tests
    buyer, order = paid_order(client, db, phone)
    assert deliver() == 1  # the order_paid SMS
    visit = book(client, buyer, order, TUESDAY, "09:00").json()
    windows = [(WEDNESDAY, "16:00"), (THURSDAY, "09:00")]

    answers = [move(client, buyer, order, visit["id"], *windows[n % 2]) for n in range(70)]

    assert [answer.status_code for answer in answers[:3]] == [200, 200, 200]
    assert {(a.status_code, a.json()["code"]) for a in answers[3:]} == {
        (409, "reschedule_limit_reached")
    }
    # Tuesday, then Wednesday, Thursday, Wednesday: one place taken, on Wednesday.
    assert places(db) == {
        ("2026-12-08", "09:00"): 0,
        ("2026-12-09", "16:00"): 1,
        ("2026-12-10", "09:00"): 0,
    }
    final = "09 Dec 2026, 16:00-18:00"
    [waiting] = [
        row
        for row in outbox(db, NotificationEvent.COLLECTION_SCHEDULED)
        if row.channel == Channel.SMS
    ]
    assert waiting.status == DeliveryStatus.PENDING and final in waiting.body
    assert deliver() == 1
    [text] = collection_texts(sms_gateway, phone)
    assert final in text
    inbox = client.get("/notifications", headers=buyer.headers).json()["items"]
    [entry] = [entry for entry in inbox if entry["event"] == "collection_scheduled"]
    assert final in entry["body"]


def test_a_visit_whose_sample_was_collected_cannot_move(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    buyer, order = paid_order(client, db, PHONE, members=2)
    visit = book(client, buyer, order, TUESDAY, "09:00").json()
    collected = order["items"][0]["id"]
    marked = move_item(client, admin, order["id"], collected, "sample_collected")
    assert marked.status_code == 200, marked.text
    before = places(db)
    told = len(outbox(db, NotificationEvent.COLLECTION_SCHEDULED))

    refused = move(client, buyer, order, visit["id"], WEDNESDAY, "16:00")

    assert_error(refused, 409, "collection_not_movable")
    assert places(db) == before == {("2026-12-08", "09:00"): 1}
    assert run_sheet(client, admin, TUESDAY) == [(visit["id"], "09:00")]
    assert run_sheet(client, admin, WEDNESDAY) == []
    detail = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert {(i["id"], i["status"], i["scheduled_date"]) for i in detail["items"]} == {
        (collected, "sample_collected", "2026-12-08"),
        (order["items"][1]["id"], "sample_collection_scheduled", "2026-12-08"),
    }
    assert len(outbox(db, NotificationEvent.COLLECTION_SCHEDULED)) == told
    assert [r.channel for r in outbox(db, NotificationEvent.COLLECTION_SCHEDULED)].count(
        Channel.INBOX
    ) == 1
