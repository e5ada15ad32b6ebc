"""Coalesced messages (`notify(..., coalesce_key=...)`), through a home collection moved over
HTTP: a message that has gone stays as it went, the rows still waiting take the newest text, the
inbox keeps one entry for the visit."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from Notification_module.models import Channel, DeliveryStatus, NotificationEvent
from tests.fakes.sms import FakeSmsGateway
from tests.support.collection import TUESDAY, book, fix_clock, move
from tests.support.notification import deliver, outbox, texts_to
from tests.support.report import paid_order

WEDNESDAY, THURSDAY = date(2026, 12, 9), date(2026, 12, 10)

pytestmark = pytest.mark.usefixtures("razorpay")


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    fix_clock(monkeypatch)


def collection_sms(db: Session) -> list[tuple[DeliveryStatus, str]]:
    rows = outbox(db, NotificationEvent.COLLECTION_SCHEDULED)
    return [(row.status, row.body) for row in rows if row.channel == Channel.SMS]


def collection_texts(gateway: FakeSmsGateway, phone: str) -> list[str]:
    return [text for text in texts_to(gateway, phone) if "collection for order" in text]


def test_a_sent_message_stays_and_a_burst_after_it_is_one_more_the_inbox_one_entry(
    client: TestClient, db: Session, sms_gateway: FakeSmsGateway
) -> None:
    phone = "+919876592001"
    buyer, order = paid_order(client, db, phone)
    visit = book(client, buyer, order, TUESDAY, "09:00").json()
    assert deliver() == 2  # order_paid and the booking
    [entry] = [
        e
        for e in client.get("/notifications", headers=buyer.headers).json()["items"]
        if e["event"] == "collection_scheduled"
    ]
    read = client.post(f"/notifications/{entry['id']}/read", headers=buyer.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None

    for day, start in ((WEDNESDAY, "16:00"), (THURSDAY, "09:00")):
        assert move(client, buyer, order, visit["id"], day, start).status_code == 200

    statuses = [status for status, _ in collection_sms(db)]
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.PENDING]
    assert deliver() == 1
    texts = collection_texts(sms_gateway, phone)
    assert len(texts) == 2
    assert "08 Dec 2026, 09:00-11:00" in texts[0] and "10 Dec 2026, 09:00-11:00" in texts[1]
    inbox = client.get("/notifications", headers=buyer.headers).json()
    newest = inbox["items"][0]
    assert [e["id"] for e in inbox["items"] if e["event"] == "collection_scheduled"] == [
        entry["id"]
    ]
    assert newest["id"] == entry["id"] and newest["read_at"] is None
    assert "10 Dec 2026, 09:00-11:00" in newest["body"]
    assert inbox["unread"] == 2  # order_paid, and the visit's news again


def test_a_channel_turned_off_drops_the_waiting_sms_of_the_earlier_window(
    client: TestClient, db: Session, sms_gateway: FakeSmsGateway
) -> None:
    phone = "+919876592002"
    buyer, order = paid_order(client, db, phone)
    assert deliver() == 1  # order_paid
    visit = book(client, buyer, order, TUESDAY, "09:00").json()
    assert [status for status, _ in collection_sms(db)] == [DeliveryStatus.PENDING]
    off = client.put(
        "/notifications/preferences",
        json={"sms": False, "email": True, "push": True},
        headers=buyer.headers,
    )
    assert off.status_code == 200, off.text

    assert move(client, buyer, order, visit["id"], WEDNESDAY, "16:00").status_code == 200

    assert collection_sms(db) == []
    assert deliver() == 0
    assert collection_texts(sms_gateway, phone) == []
    [entry] = [
        e
        for e in client.get("/notifications", headers=buyer.headers).json()["items"]
        if e["event"] == "collection_scheduled"
    ]
    assert "09 Dec 2026, 16:00-18:00" in entry["body"]
