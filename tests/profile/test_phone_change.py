"""Changing the login phone through HTTP: both codes before anything changes, other sessions
out at once, the old number told; the lost-SIM path for admins; codes never in an answer."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from Notification_module.models import Channel, NotificationEvent
from tests.fakes.sms import FakeSmsGateway
from tests.support.factories.member import make_member
from tests.support.http import assert_error
from tests.support.login import ADMIN_PHONE, login, login_by_otp
from tests.support.notification import deliver, outbox, texts_to

OLD = "+919876591001"
NEW = "+919876591002"


@pytest.fixture(autouse=True)
def no_resend_cooldown(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


def start(client: TestClient, headers: dict, new_phone: str = NEW):
    return client.post("/profile/phone", json={"new_phone": new_phone}, headers=headers)


def test_both_codes_change_the_phone_sign_out_other_sessions_and_tell_the_old_number(
    client: TestClient, db: Session, sms_gateway: FakeSmsGateway
) -> None:
    here = login(client, OLD, device_id="phone-a")
    other = login(client, OLD, device_id="phone-b")
    make_member(db, here.user_id, relation="self", phone=OLD)
    started = start(client, here.headers)
    assert started.status_code == 202, started.text
    assert set(started.json()) == {"message", "expires_in"}
    old_code, new_code = sms_gateway.last_code_for(OLD), sms_gateway.last_code_for(NEW)
    assert old_code not in started.text and new_code not in started.text

    confirmed = client.post(
        "/profile/phone/confirm",
        json={"current_otp": old_code, "new_otp": new_code},
        headers=here.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"phone": "+91******1002"}
    assert client.get("/profile", headers=here.headers).json()["phone"] == NEW
    assert_error(client.get("/profile", headers=other.headers), 401, "session_revoked")
    [member] = client.get("/member", headers=here.headers).json()["items"]
    assert member["phone"].endswith("1002")
    # The old number is told, by SMS only (no inbox entry for it).
    assert [r.channel for r in outbox(db, NotificationEvent.PHONE_CHANGED)] == [Channel.SMS]
    assert deliver() == 1
    [told] = texts_to(sms_gateway, OLD)
    assert "+91******1002" in told and NEW not in told
    # Audited with masked phones only.
    db.expire_all()
    [entry] = db.scalars(select(AuditLog).where(AuditLog.action == "profile.phone_changed"))
    assert entry.changes["old"] == "+91******1001" and entry.changes["new"] == "+91******1002"
    assert OLD not in str(entry.changes) and NEW not in str(entry.changes)
    # The new phone logs in to the same account.
    assert login_by_otp(client, NEW).user_id == here.user_id


def test_a_wrong_code_changes_nothing(client: TestClient, sms_gateway: FakeSmsGateway) -> None:
    me = login(client, OLD)
    assert start(client, me.headers).status_code == 202
    new_code = sms_gateway.last_code_for(NEW)
    wrong = client.post(
        "/profile/phone/confirm",
        json={"current_otp": "000000", "new_otp": new_code},
        headers=me.headers,
    )
    assert_error(wrong, 400, "otp_invalid")
    assert client.get("/profile", headers=me.headers).json()["phone"] == OLD


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_mistyped_new_code_does_not_use_up_the_current_one(
    client: TestClient, sms_gateway: FakeSmsGateway
) -> None:
    me = login(client, OLD)
    assert start(client, me.headers).status_code == 202
    old_code, new_code = sms_gateway.last_code_for(OLD), sms_gateway.last_code_for(NEW)
    for current, new in ((old_code, wrong(new_code)), (wrong(old_code), new_code)):
        typo = client.post(
            "/profile/phone/confirm",
            json={"current_otp": current, "new_otp": new},
            headers=me.headers,
        )
        assert_error(typo, 400, "otp_invalid")
    assert client.get("/profile", headers=me.headers).json()["phone"] == OLD
    # The right pair still works after the typos (each counted against its own code only).
    confirmed = client.post(
        "/profile/phone/confirm",
        json={"current_otp": old_code, "new_otp": new_code},
        headers=me.headers,
    )
    assert confirmed.status_code == 200, confirmed.text


def test_five_wrong_new_codes_burn_the_new_code_only(
    client: TestClient, sms_gateway: FakeSmsGateway
) -> None:
    me = login(client, OLD)
    assert start(client, me.headers).status_code == 202
    old_code, new_code = sms_gateway.last_code_for(OLD), sms_gateway.last_code_for(NEW)
    body = {"current_otp": old_code, "new_otp": wrong(new_code)}
    for _ in range(4):
        typo = client.post("/profile/phone/confirm", json=body, headers=me.headers)
        assert_error(typo, 400, "otp_invalid")
    burned = client.post("/profile/phone/confirm", json=body, headers=me.headers)
    assert_error(burned, 429, "otp_attempts_exceeded")
    body["new_otp"] = new_code
    still = client.post("/profile/phone/confirm", json=body, headers=me.headers)
    assert_error(still, 429, "otp_attempts_exceeded")  # the new phone's code is burned
    assert client.get("/profile", headers=me.headers).json()["phone"] == OLD
    # The current phone's code was never counted against: a login with it still works.
    verified = client.post("/auth/verify-otp", json={"phone": OLD, "otp": old_code})
    assert verified.status_code == 200, verified.text


def test_a_phone_with_an_account_is_refused_only_after_both_codes(
    client: TestClient, sms_gateway: FakeSmsGateway
) -> None:
    login(client, NEW)
    me = login(client, OLD)
    assert start(client, me.headers).status_code == 202  # no hint that NEW has an account
    body = {
        "current_otp": sms_gateway.last_code_for(OLD),
        "new_otp": sms_gateway.last_code_for(NEW),
    }
    refused = client.post("/profile/phone/confirm", json=body, headers=me.headers)
    assert_error(refused, 409, "phone_in_use")
    assert client.get("/profile", headers=me.headers).json()["phone"] == OLD


def test_confirming_without_a_started_change_or_to_the_same_phone(client: TestClient) -> None:
    me = login(client, OLD)
    body = {"current_otp": "123456", "new_otp": "123456"}
    assert_error(
        client.post("/profile/phone/confirm", json=body, headers=me.headers),
        409,
        "phone_change_not_started",
    )
    assert_error(start(client, me.headers, OLD), 409, "same_phone")
    assert_error(client.post("/profile/phone", json={"new_phone": NEW}), 401, "not_authenticated")


def test_a_lost_sim_is_moved_by_an_admin_and_claimed_with_the_new_phones_code(
    client: TestClient, db: Session, sms_gateway: FakeSmsGateway
) -> None:
    me = login(client, OLD)
    admin = login(client, ADMIN_PHONE)
    body = {"new_phone": NEW, "reason": "SIM lost, ticket 4521"}
    assert_error(
        client.post(f"/profile/admin/users/{me.user_id}/phone", json=body, headers=me.headers),
        403,
        "admin_required",
    )
    started = client.post(
        f"/profile/admin/users/{me.user_id}/phone", json=body, headers=admin.headers
    )
    assert started.status_code == 202, started.text
    code = sms_gateway.last_code_for(NEW)
    assert code not in started.text
    assert_error(
        client.post("/profile/phone/claim", json={"new_phone": NEW, "otp": "000000"}),
        400,
        "otp_invalid",
    )
    claimed = client.post("/profile/phone/claim", json={"new_phone": NEW, "otp": code})
    assert claimed.status_code == 200, claimed.text
    # Every session of the account is out; the new phone logs in to it.
    assert_error(client.get("/profile", headers=me.headers), 401, "session_revoked")
    assert login_by_otp(client, NEW).user_id == me.user_id
    db.expire_all()
    [entry] = db.scalars(select(AuditLog).where(AuditLog.action == "profile.phone_changed"))
    assert entry.actor_user_id == admin.user_id and entry.changes["reason"] == "lost_sim"
    [started_entry] = db.scalars(
        select(AuditLog).where(AuditLog.action == "profile.phone_claim_started")
    )
    assert started_entry.changes["reason"] == "SIM lost, ticket 4521"
    assert_error(
        client.post("/profile/phone/claim", json={"new_phone": NEW, "otp": code}),
        409,
        "phone_change_not_started",
    )
