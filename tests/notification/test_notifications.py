"""The outbox through HTTP: what each step of the journey sends, once, by which channels; the
inbox API; preferences; failures and retries; nothing sent for a rolled-back change."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from core.clock import utcnow
from core.storage import forget_storage
from main import app
from Notification_module.models import Channel, DeliveryStatus, NotificationEvent, PushDevice
from Notification_module.render import TEMPLATES, render
from Notification_module.service import notify
from tests.fakes.sms import FakeSmsGateway
from tests.support.http import assert_error, free_port
from tests.support.login import LoggedIn, login, request_code
from tests.support.notification import channels, deliver, outbox, texts_to
from tests.support.report import TO_THE_LAB, in_lab, move_item, paid_order, upload

PHONE = "+919876580001"
PRODUCT_NAMES = ("My genes", "Family planning")

pytestmark = pytest.mark.usefixtures("razorpay")


def test_a_paid_order_is_told_once_in_the_inbox_and_by_sms(
    client: TestClient, db: Session, sms_gateway: FakeSmsGateway
) -> None:
    buyer, order = paid_order(client, db, PHONE)

    assert channels(db, NotificationEvent.ORDER_PAID) == [Channel.INBOX, Channel.SMS]
    assert deliver() == 1
    [text] = texts_to(sms_gateway, PHONE)
    assert order["order_number"] in text and "₹" in text
    assert not any(name in text for name in PRODUCT_NAMES)
    assert deliver() == 0  # sent once
    assert texts_to(sms_gateway, PHONE) == [text]

    inbox = client.get("/notifications", headers=buyer.headers)
    assert inbox.status_code == 200, inbox.text
    body = inbox.json()
    assert (body["total"], body["unread"]) == (1, 1)
    [entry] = body["items"]
    assert set(entry) == {
        "id",
        "event",
        "title",
        "body",
        "order_id",
        "booking_id",
        "created_at",
        "read_at",
    }
    assert (entry["event"], entry["order_id"], entry["read_at"]) == (
        "order_paid",
        order["id"],
        None,
    )
    assert entry["body"] == text


def test_the_journey_sends_each_step_once(
    client: TestClient, db: Session, admin: LoggedIn, sms_gateway: FakeSmsGateway
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    events = [row.event for row in outbox(db) if row.channel == Channel.INBOX]
    assert events == [
        NotificationEvent.ORDER_PAID,
        NotificationEvent.COLLECTION_SCHEDULED,
        NotificationEvent.SAMPLE_COLLECTED,
        NotificationEvent.REPORT_READY,
    ]
    assert deliver() == 4
    texts = texts_to(sms_gateway, PHONE)
    assert len(texts) == 4
    assert texts[-1] == (
        f"Your report for order {lab.order['order_number']} is ready; open the Nucleotide app "
        f"to view it: https://app.nucleotide.example/orders/{lab.order['id']}"
    )
    for text in texts:
        assert not any(name in text for name in PRODUCT_NAMES), text
    # A new version of the report is no news.
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    assert len(outbox(db, NotificationEvent.REPORT_READY)) == 2


def test_marking_read(client: TestClient, db: Session) -> None:
    buyer, _ = paid_order(client, db, PHONE)
    [entry] = client.get("/notifications", headers=buyer.headers).json()["items"]
    read = client.post(f"/notifications/{entry['id']}/read", headers=buyer.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.get("/notifications", headers=buyer.headers).json()["unread"] == 0
    notify(db, buyer.me.user_id, NotificationEvent.SAMPLE_COLLECTED, sample_context())
    notify(db, buyer.me.user_id, NotificationEvent.SAMPLE_COLLECTED, sample_context())
    db.flush()
    marked = client.post("/notifications/read-all", headers=buyer.headers)
    assert marked.json() == {"marked_read": 2}
    assert client.get("/notifications", headers=buyer.headers).json()["unread"] == 0
    intruder = login(client, "+919876580002")
    assert_error(
        client.post(f"/notifications/{entry['id']}/read", headers=intruder.headers),
        404,
        "notification_not_found",
    )
    assert client.get("/notifications", headers=intruder.headers).json()["total"] == 0


def sample_context() -> dict:
    return {
        "order_id": 1,
        "order_number": "NUC-TEST-0001",
        "amount": "₹1,000.00",
        "date": "08 Dec 2026",
        "window": "07:00-09:00",
        "when": "Tue 08 Dec 2026, 10:30 AM IST",
        "lead": "tomorrow",
        "requester": "Asha",
        "code": "123456",
        "hours": "48",
        "new_phone": "+91******3210",
        "link": "https://app.nucleotide.example/orders/1",
        "reference": "ENQ-2026-000123",
        "name": "Asha Rao",
        "phone": "+919876543210",
        "email": "asha@example.com",
        "organization": "Acme Labs",
        "number_of_tests": 40,
        "message": "Testing for our staff.",
        "days": 7,
        "minutes": 10,
        "unsubscribe_link": "https://api.nucleotide.example/newsletter/unsubscribe?token=x",
    }


@pytest.mark.parametrize("event", list(NotificationEvent))
def test_every_event_renders_for_every_channel(event: NotificationEvent) -> None:
    rendered = render(event, sample_context())
    assert rendered.title and rendered.body and "{{" not in rendered.body
    assert len(rendered.title) <= 200
    assert rendered.html.startswith("<!doctype html>") and rendered.title in rendered.html
    assert (TEMPLATES / f"{event.value}.txt").is_file()


def test_email_html_is_autoescaped() -> None:
    rendered = render(
        NotificationEvent.ORDER_PAID, {**sample_context(), "order_number": "<b>x</b>"}
    )
    assert "<b>x</b>" in rendered.body  # the text part is plain text
    assert "&lt;b&gt;x&lt;/b&gt;" in rendered.html and "<b>x</b>" not in rendered.html


def test_a_rolled_back_change_sends_nothing(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
    sms_gateway: FakeSmsGateway,
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    deliver()
    before = len(texts_to(sms_gateway, PHONE))
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    monkeypatch.setattr(settings, "PRIVATE_STORAGE_ROOT", str(blocker / "private"))
    forget_storage()
    # The upload moves the item to report_ready (and queues report_ready) before the storage
    # refuses: the whole transaction rolls back, the message with it.
    assert_error(
        upload(client, admin, lab.order["id"], lab.item_ids[0]), 503, "storage_unavailable"
    )
    forget_storage()
    assert outbox(db, NotificationEvent.REPORT_READY) == []
    assert deliver() == 0
    assert len(texts_to(sms_gateway, PHONE)) == before


def test_preferences_turn_channels_off_but_essential_news_still_arrives(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    headers = lab.buyer.headers
    assert client.get("/notifications/preferences", headers=headers).json() == {
        "sms": True,
        "email": True,
        "push": True,
    }
    off = {"sms": False, "email": False, "push": False}
    put = client.put("/notifications/preferences", headers=headers, json=off)
    assert put.status_code == 200 and put.json() == off
    assert client.get("/notifications/preferences", headers=headers).json() == off
    db.expire_all()
    [changed] = db.scalars(
        select(AuditLog).where(AuditLog.action == "notification.preferences_changed")
    )
    assert changed.changes == {
        "sms": {"old": True, "new": False},
        "email": {"old": True, "new": False},
        "push": {"old": True, "new": False},
    }

    notify(db, lab.buyer.me.user_id, NotificationEvent.SAMPLE_COLLECTED, sample_context())
    db.flush()
    assert channels(db, NotificationEvent.SAMPLE_COLLECTED)[-1:] == [Channel.INBOX]
    assert upload(client, admin, lab.order["id"], lab.item_ids[0]).status_code == 201
    # Essential: the inbox and at least one channel, whatever the preferences.
    assert channels(db, NotificationEvent.REPORT_READY) == [Channel.INBOX, Channel.SMS]
    assert_error(
        client.put("/notifications/preferences", headers=headers, json={"sms": False}),
        422,
        "validation_error",
    )


def test_an_sms_outage_is_retried_then_failed_and_the_request_is_unaffected(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    sms_gateway: FakeSmsGateway,
) -> None:
    buyer, order = paid_order(client, db, PHONE)  # the codes still need the real gateway
    monkeypatch.setattr(settings, "SMS_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/sms")
    monkeypatch.setattr(settings, "SMS_TIMEOUT_SECONDS", 0.5)
    # The provider being down is no concern of the request whose change causes a message.
    moved = move_item(client, admin, order["id"], order["items"][0]["id"], TO_THE_LAB[0])
    assert moved.status_code == 200, moved.text
    [sms] = [row for row in outbox(db, NotificationEvent.ORDER_PAID) if row.channel == Channel.SMS]
    for attempt in range(1, settings.NOTIFY_MAX_ATTEMPTS + 1):
        assert deliver() == 0
        db.refresh(sms)
        assert sms.attempts == attempt
        if attempt < settings.NOTIFY_MAX_ATTEMPTS:
            assert sms.status == DeliveryStatus.PENDING
            assert sms.next_attempt_at > utcnow() + timedelta(seconds=29 * 2 ** (attempt - 1))
            sms.next_attempt_at = utcnow()  # the backoff has passed
            db.flush()
    assert (sms.status, sms.last_error) == (DeliveryStatus.FAILED, "sms_provider_unavailable")

    failed = client.get("/notifications/admin?status=failed", headers=admin.headers)
    assert failed.status_code == 200, failed.text
    assert [(r["id"], r["channel"], r["attempts"]) for r in failed.json()["items"]] == [
        (sms.id, "sms", settings.NOTIFY_MAX_ATTEMPTS)
    ]
    assert "body" not in failed.json()["items"][0]
    monkeypatch.setattr(settings, "SMS_WEBHOOK_URL", sms_gateway.webhook_url)
    retried = client.post(f"/notifications/admin/{sms.id}/retry", headers=admin.headers)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert deliver() == 1  # the retried one (the scheduling SMS is still backing off)
    assert len(texts_to(sms_gateway, PHONE)) == 1
    assert_error(
        client.post(f"/notifications/admin/{sms.id}/retry", headers=admin.headers),
        409,
        "notification_not_failed",
    )
    assert buyer.me.user_id == order["user_id"]


def test_users_cannot_see_the_outbox(client: TestClient, db: Session) -> None:
    buyer, _ = paid_order(client, db, PHONE)
    assert_error(client.get("/notifications/admin", headers=buyer.headers), 403, "admin_required")


def test_item_steps_moved_one_by_one_tell_each_move(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    buyer, order = paid_order(client, db, PHONE, members=2)
    for item in order["items"]:
        assert move_item(client, admin, order["id"], item["id"], TO_THE_LAB[0]).status_code == 200
    assert len(outbox(db, NotificationEvent.COLLECTION_SCHEDULED)) == 4  # 2 x (inbox + sms)
    assert buyer.me.user_id == order["user_id"]


def test_email_and_push_reach_the_real_servers_and_a_dead_token_is_removed(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    smtp_settings,
    smtp_server,
    fcm_settings,
    fcm_server,
) -> None:
    buyer, order = paid_order(client, db, PHONE)
    headers = buyer.headers
    assert (
        client.put("/profile", headers=headers, json={"email": "asha@example.com"}).status_code
        == 200
    )
    live, dead = "live-token-" + "a" * 20, "dead-token-" + "b" * 20
    for token in (live, dead):
        added = client.post(
            "/notifications/devices", headers=headers, json={"token": token, "platform": "android"}
        )
        assert added.status_code == 201, added.text
        assert set(added.json()) == {"token", "platform", "created_at"}
    fcm_server.unregistered_tokens.add(dead)
    deliver()  # the order_paid SMS, before the devices existed

    scheduled = move_item(client, admin, order["id"], order["items"][0]["id"], TO_THE_LAB[0])
    assert scheduled.status_code == 200, scheduled.text
    assert sorted(channels(db, NotificationEvent.COLLECTION_SCHEDULED)) == sorted(
        [Channel.INBOX, Channel.SMS, Channel.EMAIL, Channel.PUSH, Channel.PUSH]
    )
    assert deliver() == 3  # sms, email, the live token

    [mail] = smtp_server.messages_to("asha@example.com")
    assert order["order_number"] in mail["Subject"]
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert f"/orders/{order['id']}" in html
    [push] = fcm_server.messages_to(live)
    assert push["notification"]["title"] == mail["Subject"]
    assert push["data"]["order_id"] == str(order["id"])
    # FCM said the other token is dead: the device is gone, the message failed for good.
    failed = [r for r in outbox(db, NotificationEvent.COLLECTION_SCHEDULED) if r.recipient == dead]
    assert [(r.status, r.last_error) for r in failed] == [(DeliveryStatus.FAILED, "unregistered")]
    assert_error(
        client.delete(f"/notifications/devices/{dead}", headers=headers),
        404,
        "push_device_not_found",
    )
    for text in (mail.get_body(preferencelist=("plain",)).get_content(), html):
        assert not any(name in text for name in PRODUCT_NAMES)


def test_logout_removes_the_sessions_push_token(client: TestClient, db: Session) -> None:
    buyer, _ = paid_order(client, db, PHONE)
    token = "phone-token-" + "c" * 20
    added = client.post(
        "/notifications/devices", headers=buyer.headers, json={"token": token, "platform": "ios"}
    )
    assert added.status_code == 201
    assert client.post("/auth/logout", headers=buyer.headers).status_code in (200, 204)

    db.expire_all()
    assert db.scalars(select(PushDevice)).all() == []


def test_a_device_is_removed_by_its_owner_only(client: TestClient, db: Session) -> None:
    buyer, _ = paid_order(client, db, PHONE)
    token = "phone-token-" + "d" * 20
    client.post(
        "/notifications/devices", headers=buyer.headers, json={"token": token, "platform": "web"}
    )
    intruder = login(client, "+919876580003")
    assert_error(
        client.delete(f"/notifications/devices/{token}", headers=intruder.headers),
        404,
        "push_device_not_found",
    )
    assert (
        client.delete(f"/notifications/devices/{token}", headers=buyer.headers).status_code == 204
    )
    assert_error(
        client.post(
            "/notifications/devices",
            headers=buyer.headers,
            json={"token": token, "platform": "fax"},
        ),
        422,
        "validation_error",
    )


def sent_count(monitor: TestClient, channel: str, outcome: str) -> float:
    for line in monitor.get("/metrics").text.splitlines():
        if line.startswith(f'notifications_total{{channel="{channel}",outcome="{outcome}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_sent_and_failed_per_channel(
    client: TestClient,
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monitor = TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 41000))
    sent_before = sent_count(monitor, "sms", "sent")
    failed_before = sent_count(monitor, "sms", "failed")
    paid_order(client, db, PHONE)
    assert deliver() == 1
    assert sent_count(monitor, "sms", "sent") == sent_before + 1
    monkeypatch.setattr(settings, "NOTIFY_MAX_ATTEMPTS", 1)
    monkeypatch.setattr(settings, "SMS_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/sms")
    monkeypatch.setattr(settings, "SMS_TIMEOUT_SECONDS", 0.5)
    user_id = outbox(db)[0].user_id
    notify(db, user_id, NotificationEvent.SAMPLE_COLLECTED, sample_context())
    db.flush()
    assert deliver() == 0
    assert sent_count(monitor, "sms", "failed") == failed_before + 1


def test_the_inbox_is_exported_and_erased_with_the_account(
    client: TestClient, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    me = login(client, PHONE)
    notify(db, me.user_id, NotificationEvent.SAMPLE_COLLECTED, sample_context())
    db.flush()
    exported = client.get("/profile/export", headers=me.headers).json()
    assert [n["event"] for n in exported["notifications"]] == ["sample_collected"]
    assert exported["notification_preferences"]["sms"] is True
    code = request_code(client, PHONE)
    erased = client.request("DELETE", "/profile", headers=me.headers, json={"otp": code})
    assert erased.status_code == 200, erased.text
    assert erased.json()["notifications_deleted"] == 2  # the inbox entry and the queued SMS
    assert outbox(db) == []
