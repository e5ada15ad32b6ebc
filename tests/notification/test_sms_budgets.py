"""SMS budgets: codes have their own hourly budget that notifications cannot spend; a
notification SMS has its own budget (spent: it waits for the next hour) and a per-phone hourly
cap (reached: that SMS is skipped). The inbox always has the message."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from core.clock import utcnow
from Notification_module.models import Channel, DeliveryStatus, NotificationEvent
from tests.fakes.sms import FakeSmsGateway
from tests.support.login import ADMIN_PHONE, LoggedIn, login
from tests.support.notification import deliver, outbox, texts_to
from tests.support.report import TO_THE_LAB, move_item, paid_order

PHONE = "+919876580011"
STRANGER = "+919876580012"

pytestmark = pytest.mark.usefixtures("razorpay")


def journey(client: TestClient, db: Session, admin: LoggedIn) -> tuple[LoggedIn, dict]:
    """A couple order taken to the lab, delivering after each step (nothing coalesced):
    order_paid, then scheduled and collected for each of the two samples -> 5 notification SMS."""
    buyer, order = paid_order(client, db, PHONE, members=2)
    deliver()
    for item in order["items"]:
        for status in TO_THE_LAB:
            moved = move_item(client, admin, order["id"], item["id"], status)
            assert moved.status_code == 200, moved.text
            deliver()
    return buyer.me, order


def sms_rows(db: Session) -> list:
    return [row for row in outbox(db) if row.channel == Channel.SMS]


def test_notification_sms_cannot_spend_the_codes_budget(
    client: TestClient,
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sms_gateway: FakeSmsGateway,
) -> None:
    # One code this hour, the stranger's (the buyer and the admin log in without one): 1 in all.
    monkeypatch.setattr(settings, "SMS_MAX_PER_HOUR", 1)
    admin = login(client, ADMIN_PHONE)
    journey(client, db, admin)
    assert len(texts_to(sms_gateway, PHONE)) == 5  # every notification SMS went
    assert client.post("/auth/send-otp", json={"phone": STRANGER}).status_code == 200
    assert sms_gateway.last_code_for(STRANGER)


def test_a_phone_gets_at_most_its_hourly_cap_of_notification_sms_the_inbox_gets_all(
    client: TestClient,
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sms_gateway: FakeSmsGateway,
) -> None:
    monkeypatch.setattr(settings, "SMS_NOTIFY_MAX_PER_PHONE_PER_HOUR", 2)
    admin = login(client, ADMIN_PHONE)
    buyer, _ = journey(client, db, admin)
    assert len(texts_to(sms_gateway, PHONE)) == 2
    rows = sms_rows(db)
    assert [row.status for row in rows] == [DeliveryStatus.SENT] * 2 + [DeliveryStatus.SKIPPED] * 3
    assert {row.last_error for row in rows[2:]} == {"sms_phone_cap_reached"}
    inbox = client.get("/notifications", headers=buyer.headers).json()
    assert inbox["total"] == 5
    assert deliver() == 0  # skipped is final: nothing is retried later
    # Codes to the same phone are not held back by it.
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    assert client.post("/auth/send-otp", json={"phone": PHONE}).status_code == 200


def test_a_spent_notification_budget_makes_the_sms_wait_for_the_next_hour(
    client: TestClient,
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sms_gateway: FakeSmsGateway,
) -> None:
    monkeypatch.setattr(settings, "SMS_NOTIFY_MAX_PER_HOUR", 1)
    admin = login(client, ADMIN_PHONE)
    buyer, order = paid_order(client, db, PHONE)
    assert deliver() == 1  # order_paid: the hour's one notification SMS
    item_id = order["items"][0]["id"]
    assert move_item(client, admin, order["id"], item_id, TO_THE_LAB[0]).status_code == 200
    assert deliver() == 0
    [waiting] = [r for r in sms_rows(db) if r.event == NotificationEvent.COLLECTION_SCHEDULED]
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 0)
    assert waiting.last_error == "sms_notify_budget_exhausted"
    assert utcnow() < waiting.next_attempt_at <= utcnow() + timedelta(hours=1, seconds=2)
    assert len(texts_to(sms_gateway, PHONE)) == 1
    unread = client.get("/notifications", headers=buyer.me.headers).json()["unread"]
    assert unread == 2  # the inbox has it already
    # The codes' budget is untouched: logins still work.
    assert client.post("/auth/send-otp", json={"phone": STRANGER}).status_code == 200
