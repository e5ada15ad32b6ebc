"""Member-confirmed consent through HTTP: the account holder asks, the member gets the SMS
(read off the SMS sink), opens the link and confirms with the code, declines, or withdraws
later from their own phone."""

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from Consent_module.models import ConsentGrant
from Consent_module.Request.models import ConsentRequest
from core.clock import utcnow
from core.redis import build_redis, get_redis, set_redis
from core.validation import mask_phone
from Notification_module.models import NotificationEvent
from tests.fakes.razorpay import FakeRazorpay
from tests.support.consent import ask, confirm, confirmed_by_member, consent_sms
from tests.support.factories.cart import add_to_cart
from tests.support.factories.category import make_category
from tests.support.factories.consent import grant, link_consent, make_consent_type
from tests.support.factories.member import make_member
from tests.support.factories.product import make_product
from tests.support.http import assert_error
from tests.support.login import LoggedIn, gateway, login, request_code
from tests.support.notification import outbox
from tests.support.orders import checkout, make_shop, pay, shopper

ME = "+919876540001"
OTHER = "+919876540002"
PARTNER = "+919876540003"
DEVICE = "Mozilla/5.0 (Linux; Android 14) Chrome/120"


@pytest.fixture
def me(client: TestClient, db: Session) -> LoggedIn:
    who = login(client, ME)
    response = client.put("/profile", json={"name": "Asha Rao"}, headers=who.headers)
    assert response.status_code == 200, response.text
    return who


@pytest.fixture
def consents(db: Session) -> list[str]:
    product = make_product(db, make_category(db), plan_type="couple")
    codes = []
    for code, title in (("genetic_testing", "Genetic testing"), ("partner_consent", "Partner")):
        consent_type = make_consent_type(db, code=code, title=title, body=f"I agree: {title}.")
        link_consent(db, product, consent_type)
        codes.append(code)
    return codes


@pytest.fixture
def partner(db: Session, me: LoggedIn) -> Any:
    return make_member(db, me.user_id, name="Vikram Rao", gender="male", phone=PARTNER)


@pytest.fixture
def no_cooldown(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


@pytest.fixture
def every_log() -> Iterator[list[logging.LogRecord]]:
    """Every record any of our loggers (and the libraries') writes, at every level."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("nucleotide")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield records
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def grants_of(db: Session, member_id: int) -> list[ConsentGrant]:
    db.expire_all()
    return list(db.scalars(select(ConsentGrant).where(ConsentGrant.member_id == member_id)))


def request_row(db: Session, request_id: int) -> ConsentRequest:
    db.expire_all()
    row = db.get(ConsentRequest, request_id)
    assert row is not None
    return row


def started(client: TestClient, me: LoggedIn, member_id: int, codes: list[str]) -> dict:
    response = ask(client, me.headers, member_id, codes)
    assert response.status_code == 201, response.text
    return response.json()


# --- the couple test, end to end ----------------------------------------------------------


def test_a_couple_test_is_bought_only_once_the_partner_confirms_from_their_sms(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, ME, shop.couple, members=2, consent=False)
    own, spouse = buyer.members
    given = client.post(
        "/consent",
        json={"member_id": own.id, "code": shop.consent.code, "version": 1},
        headers=buyer.headers,
    )
    assert given.status_code == 201, given.text
    # The account holder cannot give the partner's consent ...
    refused = client.post(
        "/consent",
        json={"member_id": spouse.id, "code": shop.consent.code, "version": 1},
        headers=buyer.headers,
    )
    assert_error(refused, 409, "member_confirmation_required")
    # ... and checkout says whose confirmation is missing.
    body = assert_error(checkout(client, buyer), 409, "consent_required")
    assert body["details"] == [
        {
            "member_id": spouse.id,
            "product_id": shop.couple.id,
            "code": shop.consent.code,
            "reason": "member_confirmation_required",
        }
    ]
    # Without a phone of their own the partner can't be asked.
    assert_error(
        ask(client, buyer.headers, spouse.id, [shop.consent.code]), 422, "member_phone_required"
    )
    client.put(f"/member/{spouse.id}", json={"phone": PARTNER}, headers=buyer.headers)

    asked = started(client, buyer.me, spouse.id, [shop.consent.code])
    assert asked["status"] == "pending"
    assert_error(checkout(client, buyer), 409, "consent_required")
    sms = consent_sms(PARTNER)
    assert "asked for your consent" in sms.text
    confirmed = confirm(client, sms.token, sms.code, **{"User-Agent": DEVICE})
    assert confirmed.status_code == 200, confirmed.text

    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    assert pay(client, buyer, placed.json()).status_code == 200
    [theirs] = grants_of(db, spouse.id)
    assert theirs.consent_request_id == asked["id"]
    assert theirs.confirmed_by_phone == "+91******0003"
    assert theirs.user_agent == DEVICE
    assert theirs.ip_address


def test_the_member_sees_who_asks_and_the_exact_texts_and_confirms_them(
    client: TestClient, db: Session, me: LoggedIn, partner: Any, consents: list[str]
) -> None:
    asked = started(client, me, partner.id, consents)
    assert asked == {
        "id": asked["id"],
        "member_id": partner.id,
        "codes": consents,
        "status": "pending",
        "expires_at": asked["expires_at"],
        "sent_to": "+91******0003",
        "sent_count": 1,
        "created_at": asked["created_at"],
        "decided_at": None,
    }
    expires_at = datetime.fromisoformat(asked["expires_at"])
    created_at = datetime.fromisoformat(asked["created_at"])
    assert expires_at - created_at == pytest.approx(timedelta(hours=48), abs=timedelta(seconds=5))
    sms = consent_sms(PARTNER)
    assert sms.text.startswith(f"A family member ({mask_phone(ME)}) asked for your consent")
    assert "Asha" not in sms.text  # the requester's own words never reach a third party
    assert sms.text.count(sms.code) == 1

    view = client.get(f"/consent/requests/by-token/{sms.token}")
    assert view.status_code == 200, view.text
    assert view.json() == {
        "requester_name": "Asha Rao",
        "member_name": "Vikram Rao",
        "consents": [
            {
                "code": "genetic_testing",
                "title": "Genetic testing",
                "body": "I agree: Genetic testing.",
                "version": 1,
            },
            {
                "code": "partner_consent",
                "title": "Partner",
                "body": "I agree: Partner.",
                "version": 1,
            },
        ],
        "expires_at": asked["expires_at"],
        "status": "pending",
    }
    confirmed = confirm(client, sms.token, sms.code, **{"User-Agent": DEVICE})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert [c["code"] for c in confirmed.json()["consents"]] == consents

    mine = client.get(f"/consent?member_id={partner.id}", headers=me.headers).json()["items"]
    assert sorted(g["code"] for g in mine) == consents
    for shown in mine:
        assert shown["status"] == "active"
        assert shown["consent_request_id"] == asked["id"]
        assert shown["confirmed_by_phone"] == "+91******0003"
        assert shown["user_agent"] == DEVICE
    listed = client.get(f"/consent/requests?member_id={partner.id}", headers=me.headers).json()
    assert [(r["id"], r["status"]) for r in listed["items"]] == [(asked["id"], "confirmed")]
    assert listed["items"][0]["decided_at"] is not None
    # A link answered is not answered again; the page still says what happened.
    assert_error(confirm(client, sms.token, sms.code), 409, "consent_request_closed")
    assert client.get(f"/consent/requests/by-token/{sms.token}").json()["status"] == "confirmed"
    actions = [
        a
        for (a,) in db.execute(
            select(AuditLog.action).where(
                AuditLog.entity_type.in_(["consent_request", "consent_grant"])
            )
        )
    ]
    assert actions.count("consent.granted") == 2
    assert {"consent_request.created", "consent_request.confirmed"} <= set(actions)


def test_no_text_the_requester_typed_reaches_the_members_phone(
    client: TestClient, db: Session, me: LoggedIn, consents: list[str]
) -> None:
    """An account cannot send a branded SMS with its own words to any phone: the SMS names the
    requester by their masked phone, never by the name (or the member's name) they typed."""
    lure = "URGENT KYC blocked - call 1800-123-456 or visit http://evil.example/kyc now. Ignore:"
    renamed = client.put("/profile", json={"name": lure}, headers=me.headers)
    assert renamed.status_code == 200, renamed.text
    member = client.post(
        "/member",
        json={
            "name": "Call 1800-999-000 http://evil.example",
            "relation": "spouse",
            "gender": "male",
            "date_of_birth": "1990-01-01",
            "phone": PARTNER,
        },
        headers=me.headers,
    )
    assert member.status_code == 201, member.text
    started(client, me, member.json()["id"], consents)
    sms = consent_sms(PARTNER)
    for typed in ("URGENT", "KYC", "1800", "evil.example", "Call"):
        assert typed not in sms.text
    assert sms.text.startswith(f"A family member ({mask_phone(ME)}) asked for your consent")


def test_the_requester_never_sees_the_code_or_the_token_nor_do_logs_or_audit(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    no_cooldown: None,
    every_log: list[logging.LogRecord],
) -> None:
    answers = [ask(client, me.headers, partner.id, consents)]
    first = consent_sms(PARTNER)
    request_id = answers[0].json()["id"]
    answers.append(client.post(f"/consent/requests/{request_id}/resend", headers=me.headers))
    second = consent_sms(PARTNER)
    assert second.token != first.token
    # The first link stopped working with the resend.
    assert_error(
        client.get(f"/consent/requests/by-token/{first.token}"), 404, "consent_request_not_found"
    )
    view = client.get(f"/consent/requests/by-token/{second.token}")
    confirmed = confirm(client, second.token, second.code)
    assert view.status_code == confirmed.status_code == 200
    for path in (
        "/consent/requests",
        f"/consent/requests?member_id={partner.id}",
        "/consent",
        "/notifications",
        "/profile/export",
    ):
        answers.append(client.get(path, headers=me.headers))
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]

    secrets = [first.token, first.code, second.token, second.code]
    for answer in [*answers, view, confirmed]:
        for secret in secrets:
            assert secret not in answer.text, answer.request.url
    # (The test client's own httpx lines are the caller's side, not the service's logs.)
    logged = "\n".join(
        record.getMessage()
        for record in every_log
        if not (record.name == "httpx" and "http://testserver/" in record.getMessage())
    )
    assert "by-token" in logged  # the access log has the requests, by their template
    audited = json.dumps([row.changes for row in db.scalars(select(AuditLog))], default=str)
    for secret in secrets:
        assert secret not in logged
        assert secret not in audited
    # Once sent, the outbox keeps only the title of a consent request.
    for row in outbox(db, NotificationEvent.CONSENT_REQUEST):
        assert row.status == "sent"
        assert row.body == "Please confirm your consent"
        assert row.payload.get("link") is None


# --- the code and the link ------------------------------------------------------------------


def test_five_wrong_codes_burn_the_request_until_it_is_sent_again(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    no_cooldown: None,
) -> None:
    asked = started(client, me, partner.id, consents)
    sms = consent_sms(PARTNER)
    wrong = "000000" if sms.code != "000000" else "111111"
    for _ in range(4):
        assert_error(confirm(client, sms.token, wrong), 400, "otp_invalid")
    assert_error(confirm(client, sms.token, wrong), 429, "otp_attempts_exceeded")
    # Burned: even the right code is refused now, and the account holder sees it.
    assert_error(confirm(client, sms.token, sms.code), 429, "otp_attempts_exceeded")
    assert request_row(db, asked["id"]).status == "burned"
    listed = client.get("/consent/requests", headers=me.headers).json()["items"]
    assert listed[0]["status"] == "burned"
    assert grants_of(db, partner.id) == []
    failures = db.scalar(
        select(func.count()).where(AuditLog.action == "consent_request.code_failed")
    )
    assert failures == 5

    resent = client.post(f"/consent/requests/{asked['id']}/resend", headers=me.headers)
    assert resent.status_code == 200, resent.text
    assert (resent.json()["status"], resent.json()["sent_count"]) == ("pending", 2)
    again = consent_sms(PARTNER)
    assert confirm(client, again.token, again.code).status_code == 200
    assert len(grants_of(db, partner.id)) == 2


def test_an_expired_request_is_gone_for_the_member_and_shown_expired(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    no_cooldown: None,
) -> None:
    asked = started(client, me, partner.id, consents)
    sms = consent_sms(PARTNER)
    db.execute(
        update(ConsentRequest)
        .where(ConsentRequest.id == asked["id"])
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.flush()
    for answer in (
        client.get(f"/consent/requests/by-token/{sms.token}"),
        confirm(client, sms.token, sms.code),
        client.post(f"/consent/requests/by-token/{sms.token}/decline"),
    ):
        assert_error(answer, 410, "consent_request_expired")
    assert grants_of(db, partner.id) == []
    assert (
        client.get("/consent/requests", headers=me.headers).json()["items"][0]["status"]
        == "expired"
    )
    # Sending it again starts a new 48 hours.
    resent = client.post(f"/consent/requests/{asked['id']}/resend", headers=me.headers)
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "pending"
    fresh = consent_sms(PARTNER)
    assert confirm(client, fresh.token, fresh.code).status_code == 200


def test_the_member_can_decline(
    client: TestClient, db: Session, me: LoggedIn, partner: Any, consents: list[str]
) -> None:
    asked = started(client, me, partner.id, consents)
    sms = consent_sms(PARTNER)
    declined = client.post(f"/consent/requests/by-token/{sms.token}/decline")
    assert declined.status_code == 200, declined.text
    assert declined.json() == {"status": "declined"}
    assert_error(confirm(client, sms.token, sms.code), 409, "consent_request_closed")
    assert_error(
        client.post(f"/consent/requests/by-token/{sms.token}/decline"),
        409,
        "consent_request_closed",
    )
    assert grants_of(db, partner.id) == []
    assert request_row(db, asked["id"]).status == "declined"
    # A declined request is not sent again; a new one can be made.
    assert_error(
        client.post(f"/consent/requests/{asked['id']}/resend", headers=me.headers),
        409,
        "consent_request_closed",
    )


def test_an_unknown_link_is_404_and_a_malformed_one_422(client: TestClient) -> None:
    assert_error(
        client.get("/consent/requests/by-token/" + "A" * 43), 404, "consent_request_not_found"
    )
    assert_error(confirm(client, "B" * 43, "123456"), 404, "consent_request_not_found")
    assert client.get("/consent/requests/by-token/short").status_code == 422
    assert confirm(client, "C" * 43, "12345").status_code == 422


def test_a_new_request_replaces_the_pending_one(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    no_cooldown: None,
) -> None:
    first = started(client, me, partner.id, consents[:1])
    old = consent_sms(PARTNER)
    second = started(client, me, partner.id, consents)
    new = consent_sms(PARTNER)
    assert_error(confirm(client, old.token, old.code), 409, "consent_request_closed")
    assert request_row(db, first["id"]).status == "superseded"
    assert confirm(client, new.token, new.code).status_code == 200
    assert request_row(db, second["id"]).status == "confirmed"


def test_a_text_published_after_the_request_needs_a_new_request(
    client: TestClient, db: Session, me: LoggedIn, partner: Any, consents: list[str]
) -> None:
    admin = login(client, "+919000000001")
    started(client, me, partner.id, consents)
    sms = consent_sms(PARTNER)
    published = client.post(
        "/consent/types/genetic_testing/versions",
        json={"body": "Version two."},
        headers=admin.headers,
    )
    assert published.status_code == 201, published.text
    body = assert_error(confirm(client, sms.token, sms.code), 409, "consent_version_outdated")
    assert body["details"] == [{"code": "genetic_testing", "current_version": 2}]
    assert grants_of(db, partner.id) == []
    # The code was not used up by the refusal: nothing else changed, a new request is needed.
    assert (
        client.get(f"/consent/requests/by-token/{sms.token}").json()["consents"][0]["version"] == 1
    )


# --- who can ask, and for whom --------------------------------------------------------------


def test_minors_are_consented_by_the_guardian_and_adults_by_themselves(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    consents: list[str],
) -> None:
    today = datetime.now(ZoneInfo("Asia/Kolkata")).date()
    eighteen_tomorrow = today.replace(year=today.year - 18) + timedelta(days=1)
    eighteen_today = today.replace(year=today.year - 18)
    minor = make_member(
        db, me.user_id, relation="child", date_of_birth=eighteen_tomorrow, phone=OTHER
    )
    adult = make_member(db, me.user_id, relation="child", date_of_birth=eighteen_today)
    own = make_member(db, me.user_id, relation="self", date_of_birth=date(1990, 1, 1), phone=ME)

    def give(member_id: int) -> Any:
        return client.post(
            "/consent",
            json={"member_id": member_id, "code": consents[0], "version": 1},
            headers=me.headers,
        )

    assert give(minor.id).status_code == 201
    assert give(own.id).status_code == 201
    assert_error(give(adult.id), 409, "member_confirmation_required")
    assert_error(ask(client, me.headers, minor.id, consents), 409, "member_confirmation_not_needed")
    assert_error(ask(client, me.headers, own.id, consents), 409, "member_confirmation_not_needed")
    assert_error(ask(client, me.headers, adult.id, consents), 422, "member_phone_required")


def test_the_member_phone_must_be_their_own_and_the_codes_real(
    client: TestClient, db: Session, me: LoggedIn, consents: list[str]
) -> None:
    shares_my_phone = make_member(db, me.user_id, phone=ME)
    assert_error(
        ask(client, me.headers, shares_my_phone.id, consents), 422, "member_phone_required"
    )
    member = make_member(db, me.user_id, phone=PARTNER)
    assert_error(
        ask(client, me.headers, member.id, ["no_such_consent"]), 404, "consent_type_not_found"
    )
    assert ask(client, me.headers, member.id, []).status_code == 422
    abroad = make_member(db, me.user_id, phone="+12025550123")
    assert_error(ask(client, me.headers, abroad.id, consents), 422, "phone_region_not_allowed")
    assert db.scalar(select(func.count()).select_from(ConsentRequest)) == 0
    assert gateway().messages_to(PARTNER) == []


def test_other_users_members_and_requests_are_404(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    no_cooldown: None,
) -> None:
    other = login(client, OTHER)
    asked = started(client, me, partner.id, consents)
    assert_error(ask(client, other.headers, partner.id, consents), 404, "member_not_found")
    assert_error(
        client.post(f"/consent/requests/{asked['id']}/resend", headers=other.headers),
        404,
        "consent_request_not_found",
    )
    assert client.get("/consent/requests", headers=other.headers).json()["items"] == []
    assert (
        client.post(
            "/consent/requests", json={"member_id": partner.id, "codes": consents}
        ).status_code
        == 401
    )


def test_resends_keep_the_cooldown_and_the_hourly_cap_of_the_members_phone(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 60)
    asked = started(client, me, partner.id, consents)
    resend = f"/consent/requests/{asked['id']}/resend"
    refused = client.post(resend, headers=me.headers)
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) > 0
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_HOUR", 2)
    assert client.post(resend, headers=me.headers).status_code == 200
    assert_error(client.post(resend, headers=me.headers), 429, "rate_limited")
    # The phone's cap is one for every code it gets: a login code is refused too.
    assert_error(client.post("/auth/send-otp", json={"phone": PARTNER}), 429, "rate_limited")
    consent_sms(PARTNER)
    assert len([t for t in gateway().messages_to(PARTNER) if "?token=" in t]) == 2


def test_every_code_to_one_phone_counts_against_its_one_cap_whoever_asks(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    no_cooldown: None,
) -> None:
    """Two accounts and the phone's own logins: 3 code SMS an hour to that phone, not 3 each."""
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_HOUR", 3)
    for _ in range(2):
        request_code(client, PARTNER)  # someone asks for login codes for the partner's phone
    asked = started(client, me, partner.id, consents)  # the third code to that phone
    other = login(client, "+919876540099")
    stranger = make_member(db, other.user_id, name="Someone", gender="male", phone=PARTNER)
    refused = [
        client.post(f"/consent/requests/{asked['id']}/resend", headers=me.headers),
        ask(client, other.headers, stranger.id, consents),
        client.post("/auth/send-otp", json={"phone": PARTNER}),
        client.post("/consent/withdraw-by-phone/code", json={"phone": PARTNER}),
        client.post("/profile/phone", json={"new_phone": PARTNER}, headers=other.headers),
    ]
    for response in refused:
        assert_error(response, 429, "rate_limited")
    consent_sms(PARTNER)  # the outbox delivered
    assert len(gateway().messages_to(PARTNER)) == 3
    # Other phones are not held back by it.
    assert client.post("/auth/send-otp", json={"phone": "+919876540098"}).status_code == 200


# --- withdrawal by the member ----------------------------------------------------------------


def test_the_member_withdraws_what_they_confirmed_with_a_code_to_their_phone(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    no_cooldown: None,
) -> None:
    confirmed_by_member(client, me.headers, partner.id, PARTNER, consents)
    sent = client.post("/consent/withdraw-by-phone/code", json={"phone": PARTNER})
    assert sent.status_code == 202, sent.text
    code = gateway().last_code_for(PARTNER)
    wrong = "000000" if code != "000000" else "111111"
    assert_error(
        client.post("/consent/withdraw-by-phone", json={"phone": PARTNER, "otp": wrong}),
        400,
        "otp_invalid",
    )
    withdrawn = client.post(
        "/consent/withdraw-by-phone", json={"phone": PARTNER, "otp": code, "codes": [consents[0]]}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    [one] = withdrawn.json()["withdrawn"]
    assert one["code"] == consents[0] and one["withdrawn_at"] is not None

    mine = client.get(f"/consent?member_id={partner.id}", headers=me.headers).json()["items"]
    assert {g["code"]: g["status"] for g in mine} == {
        consents[0]: "withdrawn",
        consents[1]: "active",
    }
    by_member = db.scalars(select(AuditLog).where(AuditLog.action == "consent.withdrawn")).all()
    assert [(e.actor_user_id, e.changes["by"]) for e in by_member] == [(None, "member")]

    client.post("/consent/withdraw-by-phone/code", json={"phone": PARTNER})
    rest = client.post(
        "/consent/withdraw-by-phone",
        json={"phone": PARTNER, "otp": gateway().last_code_for(PARTNER)},
    )
    assert [g["code"] for g in rest.json()["withdrawn"]] == [consents[1]]
    # Another phone's code withdraws nothing of theirs.
    client.post("/consent/withdraw-by-phone/code", json={"phone": OTHER})
    none = client.post(
        "/consent/withdraw-by-phone", json={"phone": OTHER, "otp": gateway().last_code_for(OTHER)}
    )
    assert none.json() == {"withdrawn": []}


def test_grants_given_before_members_confirmed_their_own_stay_valid_for_placed_orders(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, ME, shop.couple, members=2)
    placed = checkout(client, buyer)
    assert placed.status_code == 201, placed.text
    assert pay(client, buyer, placed.json()).status_code == 200
    spouse = buyer.members[1]
    # As the migration leaves a grant the account holder gave for an adult partner:
    db.execute(
        update(ConsentGrant)
        .where(ConsentGrant.member_id == spouse.id)
        .values(consent_request_id=None, confirmed_by_phone=None)
    )
    db.flush()
    admin = login(client, "+919000000001")
    order = placed.json()["order"]
    for item in order["items"]:
        moved = client.put(
            f"/orders/{order['id']}/items/{item['id']}/status",
            json={"status": "sample_collection_scheduled"},
            headers=admin.headers,
        )
        assert moved.status_code == 200, moved.text
    # A new checkout needs the partner's own confirmation.
    grant(db, buyer.me.user_id, spouse, shop.consent, by_account_holder=True)
    add_to_cart(
        client, buyer.headers, shop.couple.id, [(m.id, buyer.address.id) for m in buyer.members]
    )
    body = assert_error(checkout(client, buyer), 409, "consent_required")
    assert [d.get("reason") for d in body["details"]] == ["member_confirmation_required"]


def test_a_link_stops_working_when_the_member_phone_changes_or_the_member_goes(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    no_cooldown: None,
) -> None:
    started(client, me, partner.id, consents)
    sms = consent_sms(PARTNER)
    changed = client.put(f"/member/{partner.id}", json={"phone": OTHER}, headers=me.headers)
    assert changed.status_code == 200, changed.text
    # The code went to the old number: it can't confirm for the new one.
    assert_error(confirm(client, sms.token, sms.code), 409, "consent_request_closed")
    asked = started(client, me, partner.id, consents)
    again = consent_sms(OTHER)
    assert asked["sent_to"] == "+91******0002"
    assert client.delete(f"/member/{partner.id}", headers=me.headers).status_code == 204
    assert_error(confirm(client, again.token, again.code), 404, "consent_request_not_found")
    assert grants_of(db, partner.id) == []


def test_with_redis_down_nothing_is_asked_or_confirmed(
    client: TestClient,
    db: Session,
    me: LoggedIn,
    partner: Any,
    consents: list[str],
    no_cooldown: None,
) -> None:
    """The codes and send limits live in Redis: without it, 503 and nothing half-written."""
    started(client, me, partner.id, consents)
    sms = consent_sms(PARTNER)
    alive = get_redis()
    set_redis(build_redis("redis://127.0.0.1:1/0"))
    try:
        asked = ask(client, me.headers, partner.id, consents)
        confirmed = confirm(client, sms.token, sms.code)
    finally:
        set_redis(alive)
    assert_error(asked, 503, "service_unavailable")
    assert_error(confirmed, 503, "service_unavailable")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ConsentRequest)) == 1
    assert grants_of(db, partner.id) == []
    assert len(outbox(db, NotificationEvent.CONSENT_REQUEST)) == 1
    # Back up, the link and code still work.
    assert confirm(client, sms.token, sms.code).status_code == 200
