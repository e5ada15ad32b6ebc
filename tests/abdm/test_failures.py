"""What goes wrong between the lab, the gateway and a doctor's system, and what the lab does:
forged or expired callbacks, repeated callbacks, requests the consent does not cover, the gateway
down, the doctor's key expired or their system unreachable, the gateway's refusals."""

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import core.clock
from Abdm_module.jobs import run_abdm_exchanges
from Abdm_module.models import (
    AbdmCareContext,
    AbdmConsent,
    AbdmLinkToken,
    AbdmMessage,
    Direction,
    MessageState,
)
from core.clock import utcnow, wall_utcnow
from tests.abdm.journey import (
    ABHA_ADDRESS,
    Patient,
    exchange,
    grant,
    on_request,
    patient_with_report,
    request_data,
)
from tests.fakes.abdm_gateway import CONSENT_NOTIFY_CALLBACK, FakeAbdmGateway
from tests.fakes.abdm_hiu import FakeAbdmHiu
from tests.fakes.server import FakeResponse
from tests.support.login import LoggedIn
from tests.support.report import download, pdf, upload

pytestmark = pytest.mark.usefixtures("razorpay")

CALLBACK = "/abdm" + CONSENT_NOTIFY_CALLBACK


def _stored_callbacks(db: Session) -> int:
    return (
        db.scalar(select(func.count(AbdmMessage.id)).where(AbdmMessage.direction == Direction.IN))
        or 0
    )


def _notify_body() -> dict:
    return {"notification": {"status": "REVOKED", "consentId": str(uuid.uuid4())}}


def _linked(
    client: TestClient, gateway: FakeAbdmGateway, db: Session, admin: LoggedIn, phone: str
) -> Patient:
    patient = patient_with_report(client, db, admin, phone)
    exchange(client, gateway)
    return patient


def _transfer_notices(gateway: FakeAbdmGateway, transaction_id: str) -> list[dict]:
    return [
        body["notification"]
        for body in gateway.answers("/health-information/notify")
        if body["notification"]["transactionId"] == transaction_id
    ]


@pytest.mark.parametrize("how", ["forged", "expired", "other_audience", "missing"])
def test_a_callback_without_the_gateways_valid_token_is_401_and_nothing_is_kept(
    client: TestClient, db: Session, abdm_gateway: FakeAbdmGateway, how: str
) -> None:
    headers = {
        "forged": abdm_gateway.signed_headers(forged=True),
        "expired": abdm_gateway.signed_headers(expired=True),
        "other_audience": abdm_gateway.signed_headers(audience="someone-else"),
        "missing": {k: v for k, v in abdm_gateway.signed_headers().items() if k != "Authorization"},
    }[how]
    answer = client.post(CALLBACK, json=_notify_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_gateway_token"
    assert _stored_callbacks(db) == 0


def test_a_callback_whose_keys_cannot_be_fetched_is_401_and_nothing_is_kept(
    client: TestClient, db: Session, abdm_gateway: FakeAbdmGateway
) -> None:
    """The gateway's keys unreachable (the gateway down): the token cannot be checked, so the
    callback is refused and the gateway sends it again later."""
    headers = abdm_gateway.signed_headers()
    abdm_gateway.down = True
    answer = client.post(CALLBACK, json=_notify_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_gateway_token"
    assert _stored_callbacks(db) == 0
    abdm_gateway.down = False
    assert client.post(CALLBACK, json=_notify_body(), headers=headers).status_code == 202
    assert _stored_callbacks(db) == 1


def test_callbacks_are_refused_while_abdm_is_off(
    client: TestClient,
    db: Session,
    abdm_gateway: FakeAbdmGateway,
    settings: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "ABDM_ENABLED", False)
    answer = client.post(CALLBACK, json=_notify_body(), headers=abdm_gateway.signed_headers())
    assert answer.status_code == 404 and answer.json()["code"] == "abdm_disabled"
    assert _stored_callbacks(db) == 0


def test_a_callback_delivered_twice_is_processed_once(
    client: TestClient, db: Session, abdm_gateway: FakeAbdmGateway
) -> None:
    body = _notify_body()
    headers = abdm_gateway.signed_headers()
    first = client.post(CALLBACK, json=body, headers=headers)
    again = client.post(CALLBACK, json=body, headers={**headers})
    assert (first.status_code, again.status_code) == (202, 202)
    assert _stored_callbacks(db) == 1
    run_abdm_exchanges()
    assert len(abdm_gateway.answers("/consent/v3/request/hip/on-notify")) == 1


def test_a_request_outside_the_consents_dates_pushes_nothing_and_says_why(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
) -> None:
    patient = _linked(client, abdm_gateway, db, admin, "+919876512001")
    consent_id = grant(client, abdm_gateway, patient, days_back=5, days_ahead=5)
    now = wall_utcnow()
    transaction_id = request_data(
        client, abdm_gateway, abdm_hiu, consent_id, date_from=now - timedelta(days=30)
    )
    answer = on_request(abdm_gateway, transaction_id)
    assert answer["hiRequest"]["sessionStatus"] == "ERRORED"
    assert answer["error"]["code"] == "ABDM-1063"
    assert abdm_hiu.pushes_for(transaction_id) == []
    assert _transfer_notices(abdm_gateway, transaction_id) == []


def test_a_request_for_another_kind_of_record_or_an_unknown_consent_is_refused(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
) -> None:
    patient = _linked(client, abdm_gateway, db, admin, "+919876512002")
    prescriptions = grant(client, abdm_gateway, patient, hi_types=["Prescription"])
    unknown = request_data(client, abdm_gateway, abdm_hiu, str(uuid.uuid4()))
    wrong_type = request_data(client, abdm_gateway, abdm_hiu, prescriptions)
    assert on_request(abdm_gateway, unknown)["error"]["code"] == "ABDM-1112"
    assert on_request(abdm_gateway, wrong_type)["error"]["code"] == "ABDM-1006"
    assert abdm_hiu.pushes == []


def test_an_expired_hiu_key_is_refused_before_anything_is_sent(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
) -> None:
    patient = _linked(client, abdm_gateway, db, admin, "+919876512003")
    consent_id = grant(client, abdm_gateway, patient)
    transaction_id = request_data(
        client, abdm_gateway, abdm_hiu, consent_id, key_expiry=wall_utcnow() - timedelta(minutes=1)
    )
    answer = on_request(abdm_gateway, transaction_id)
    assert answer["hiRequest"]["sessionStatus"] == "ERRORED"
    assert answer["error"]["message"] == "Key material expired"
    assert abdm_hiu.pushes_for(transaction_id) == []


def test_a_key_that_expires_while_the_hiu_is_unreachable_ends_the_transfer_as_failed(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patient = _linked(client, abdm_gateway, db, admin, "+919876512004")
    consent_id = grant(client, abdm_gateway, patient)
    abdm_hiu.fail_next.append(FakeResponse(503, {"error": "maintenance"}))
    transaction_id = request_data(
        client, abdm_gateway, abdm_hiu, consent_id, key_expiry=wall_utcnow() + timedelta(minutes=2)
    )
    assert on_request(abdm_gateway, transaction_id)["hiRequest"]["sessionStatus"] == "ACKNOWLEDGED"
    assert _transfer_notices(abdm_gateway, transaction_id) == []  # to be tried again

    monkeypatch.setattr(core.clock, "frozen", utcnow() + timedelta(minutes=5))
    exchange(client, abdm_gateway)
    (notice,) = _transfer_notices(abdm_gateway, transaction_id)
    assert notice["statusNotification"]["sessionStatus"] == "FAILED"
    assert [s["hiStatus"] for s in notice["statusNotification"]["statusResponses"]] == ["ERRORED"]
    assert abdm_hiu.pushes_for(transaction_id) == []
    transfers = client.get("/abdm/admin/transfers?state=failed", headers=admin.headers).json()
    assert [t["transaction_id"] for t in transfers["items"]] == [transaction_id]


def test_an_hiu_down_for_twenty_minutes_gets_a_failed_notice_then_nothing_more(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patient = _linked(client, abdm_gateway, db, admin, "+919876512005")
    consent_id = grant(client, abdm_gateway, patient)
    abdm_hiu.fail_next.extend(FakeResponse(503, {}) for _ in range(20))
    transaction_id = request_data(
        client, abdm_gateway, abdm_hiu, consent_id, key_expiry=wall_utcnow() + timedelta(days=1)
    )
    start = utcnow()
    for minutes in (1, 3, 7, 15, 25):
        monkeypatch.setattr(core.clock, "frozen", start + timedelta(minutes=minutes))
        exchange(client, abdm_gateway)
    (notice,) = _transfer_notices(abdm_gateway, transaction_id)
    assert notice["statusNotification"]["sessionStatus"] == "FAILED"
    pushes = [r for r in abdm_hiu.requests if r.path.endswith("/data/push")]
    assert 2 <= len(pushes) <= 6  # retried with backoff, not on every run
    assert abdm_hiu.pushes_for(transaction_id) == []


def test_the_gateway_down_delays_the_link_with_backoff_and_the_report_is_unaffected(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    abdm_gateway.down = True
    patient = patient_with_report(client, db, admin, "+919876512006")
    exchange(client, abdm_gateway)
    assert download(client, patient.buyer, patient.order["id"], patient.item_id).content == (
        patient.report
    )
    (waiting,) = db.scalars(select(AbdmMessage).where(AbdmMessage.direction == Direction.OUT)).all()
    assert (waiting.state, waiting.attempts, waiting.error_code) == (
        MessageState.PENDING,
        1,
        "gateway_unavailable",
    )
    assert waiting.next_attempt_at > utcnow() + timedelta(seconds=20)
    exchange(client, abdm_gateway)  # not due yet: not tried again
    db.refresh(waiting)
    assert waiting.attempts == 1

    abdm_gateway.down = False
    monkeypatch.setattr(core.clock, "frozen", utcnow() + timedelta(minutes=2))
    exchange(client, abdm_gateway)
    (context,) = db.scalars(select(AbdmCareContext)).all()
    db.refresh(context)
    assert context.status == "linked"


def test_a_gateway_block_stops_the_retries_and_shows_on_the_admin_view(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    abdm_gateway.refuse_next(
        "/v3/token/generate-token", "ABDM-1027", "Too many requests: blocked for 24 hours", 429
    )
    patient = patient_with_report(client, db, admin, "+919876512007")
    exchange(client, abdm_gateway)
    links = client.get("/abdm/admin/links?state=failed", headers=admin.headers).json()
    assert [(link["item_id"], link["error_code"]) for link in links["items"]] == [
        (patient.item_id, "ABDM-1027")
    ]
    again = client.post(
        f"/orders/{patient.order['id']}/items/{patient.item_id}/abha-link",
        headers=patient.buyer.headers,
    )
    assert again.status_code == 429 and again.json()["code"] == "abdm_blocked"
    assert int(again.headers["Retry-After"]) > 23 * 3600
    exchange(client, abdm_gateway)
    assert len(abdm_gateway.calls("/v3/token/generate-token")) == 1


def test_already_linked_counts_as_linked(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    abdm_gateway.refuse_next("/hip/v3/link/carecontext", "ABDM-1056", "Care context already linked")
    patient = patient_with_report(client, db, admin, "+919876512008")
    exchange(client, abdm_gateway)
    view = client.get(f"/member/{patient.member_id}/abha", headers=patient.buyer.headers).json()
    assert [c["status"] for c in view["care_contexts"]] == ["linked"]


def test_the_link_token_is_reused_for_the_members_next_report(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = _linked(client, abdm_gateway, db, admin, "+919876512009")
    second = upload(client, admin, patient.order["id"], patient.item_id, pdf("Second version"))
    assert second.status_code == 201
    exchange(client, abdm_gateway)
    # The care context is linked already: the patient's app is told of the new version; no new
    # token is asked for and nothing is linked twice.
    assert len(abdm_gateway.calls("/v3/token/generate-token")) == 1
    assert len(abdm_gateway.accepted_calls("/hip/v3/link/carecontext")) == 1
    (news,) = abdm_gateway.answers("/hip/v3/link/context/notify")
    assert news["notification"]["careContext"]["careContextReference"] == patient.reference
    assert news["notification"]["patient"]["id"] == ABHA_ADDRESS


def test_the_record_of_exchanges_keeps_no_token_code_or_health_content(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
) -> None:
    patient = _linked(client, abdm_gateway, db, admin, "+919876512010")
    consent_id = grant(client, abdm_gateway, patient)
    request_data(client, abdm_gateway, abdm_hiu, consent_id)
    messages = db.scalars(select(AbdmMessage)).all()
    assert messages and all(m.state == MessageState.DONE for m in messages)
    assert all(m.payload is None for m in messages)
    token = abdm_gateway.link_token(ABHA_ADDRESS)
    assert token is not None
    for message in messages:
        assert token not in repr(vars(message))


def test_a_report_for_a_member_without_abha_gets_the_gateways_sms_link_once(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = patient_with_report(client, db, admin, "+919876512011", abha=False)
    exchange(client, abdm_gateway)
    again = upload(client, admin, patient.order["id"], patient.item_id, pdf("Second version"))
    assert again.status_code == 201
    exchange(client, abdm_gateway)
    (sms,) = abdm_gateway.answers("/links/sms/notify2")
    assert sms["notification"] == {
        "phoneNo": "9876512011",
        "hip": {"name": "Nucleotide Genomics Lab", "id": abdm_gateway.hip_id},
    }
    assert abdm_gateway.calls("/v3/token/generate-token") == []


def test_the_link_token_is_kept_until_its_own_expiry_and_a_revoked_consent_keeps_only_its_state(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = _linked(client, abdm_gateway, db, admin, "+919876512012")
    (token,) = db.scalars(select(AbdmLinkToken)).all()
    assert token.expires_at is not None
    left = token.expires_at - utcnow()
    assert timedelta(days=179) < left < timedelta(days=180)

    consent_id = grant(client, abdm_gateway, patient)
    abdm_gateway.consent_notify(
        consent_id,
        "EXPIRED",
        [],
        ["DiagnosticReport"],
        wall_utcnow(),
        wall_utcnow(),
        wall_utcnow(),
        "HIU-CLINIC-01",
    )
    exchange(client, abdm_gateway)
    (consent,) = db.scalars(select(AbdmConsent)).all()
    db.refresh(consent)
    assert (consent.status, consent.care_contexts, consent.hi_types, consent.date_to) == (
        "EXPIRED",
        [],
        [],
        None,
    )
