"""The customer's journey through HTTP (pay, schedule, collect, report, a refund, a counselling
booking), and every message it puts on the SMS sink, the SMTP server, the FCM fake and the
inbox: each expected one exactly once, none naming the test."""

from collections import Counter
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from gmeet_api.models import Counsellor
from tests.fakes.fcm import FakeFcm
from tests.fakes.google import FakeGoogle
from tests.fakes.google_setup import Clock
from tests.fakes.sms import FakeSmsGateway
from tests.support.factories.cart import add_to_cart
from tests.support.factories.gmeet import ist, make_counsellor
from tests.support.login import ADMIN_PHONE, login
from tests.support.notification import deliver, texts_to
from tests.support.orders import checkout, deliver_webhook, make_shop, pay, refund_event, shopper
from tests.support.report import TO_THE_LAB, move_item, upload

PHONE = "+919876582001"
EMAIL = "asha.rao@example.com"
TOKEN = "asha-phone-fcm-token-0123456789"
PRODUCT = "My genes"
JOURNEY = [
    "order_paid",
    "collection_scheduled",
    "sample_collected",
    "report_ready",
    "order_paid",
    "refund_processed",
    "counselling_booked",
]


@pytest.fixture
def counsellor(db: Session, google: FakeGoogle, clock: Clock) -> Counsellor:
    return make_counsellor(db, google)


def test_the_journey_puts_each_message_once_on_every_channel(
    client: TestClient,
    db: Session,
    razorpay,
    counsellor: Counsellor,
    sms_gateway: FakeSmsGateway,
    smtp_settings,
    smtp_server,
    fcm_settings,
    fcm_server: FakeFcm,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The whole journey inside one hour: more SMS than one phone gets an hour in production
    # (test_sms_budgets.py covers the cap).
    monkeypatch.setattr(settings, "SMS_NOTIFY_MAX_PER_PHONE_PER_HOUR", len(JOURNEY))
    shop = make_shop(db)
    buyer = shopper(client, db, PHONE, shop.single)
    headers = buyer.headers
    assert client.put("/profile", headers=headers, json={"email": EMAIL}).status_code == 200
    device = {"token": TOKEN, "platform": "android"}
    assert client.post("/notifications/devices", headers=headers, json=device).status_code == 201
    admin = login(client, ADMIN_PHONE)

    # Pay, then the sample's way to the report.
    placed = checkout(client, buyer).json()
    order = pay(client, buyer, placed).json()
    for status in TO_THE_LAB:
        assert (
            move_item(client, admin, order["id"], order["items"][0]["id"], status).status_code
            == 200
        )
    assert upload(client, admin, order["id"], order["items"][0]["id"]).status_code == 201
    # A second order, paid, cancelled and refunded.
    add_to_cart(client, headers, shop.single.id, [(buyer.members[0].id, buyer.address.id)])
    second = pay(client, buyer, checkout(client, buyer).json()).json()
    cancelled = client.post(f"/orders/{second['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200
    payment_id = second["payments"][0]["razorpay_payment_id"]
    refund_id = cancelled.json()["refunds"][0]["razorpay_refund_id"]
    refunded = deliver_webhook(
        client, refund_event(payment_id, second["total_paise"], refund_id=refund_id), "evt_r1"
    )
    assert refunded.json() == {"status": "processed"}
    # A counselling session.
    start = ist(2031, 6, 2, 10)
    session = {
        "counsellor_id": "A3X9K2",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=30)).isoformat(),
    }
    assert client.post("/gmeet/book", json=session, headers=headers).status_code == 201

    assert deliver() == 3 * len(JOURNEY)
    assert deliver() == 0  # nothing is sent twice

    inbox = client.get("/notifications?limit=50", headers=headers).json()
    assert [item["event"] for item in reversed(inbox["items"])] == JOURNEY
    assert inbox["unread"] == len(JOURNEY)
    sms = texts_to(sms_gateway, PHONE)
    mails = smtp_server.messages_to(EMAIL)
    pushes = fcm_server.messages_to(TOKEN)
    assert len(sms) == len(mails) == len(pushes) == len(JOURNEY)
    titles = [item["title"] for item in reversed(inbox["items"])]
    assert [mail["Subject"] for mail in mails] == titles
    assert [push["notification"]["title"] for push in pushes] == titles
    assert Counter(push["data"].get("order_id") for push in pushes) == {
        str(order["id"]): 4,
        str(second["id"]): 2,
        None: 1,
    }
    bodies = sms + [push["notification"]["body"] for push in pushes]
    bodies += [
        part.get_content() for mail in mails for part in mail.walk() if not part.is_multipart()
    ]
    for body in bodies:
        assert PRODUCT not in body and shop.couple.name not in body, body
