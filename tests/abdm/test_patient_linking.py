"""Linking started by the patient from their health app, over the gateway's callbacks: discovery
(by ABHA first, then mobile + name + gender + year of birth), init (our own code by SMS to the
member's phone, counted in that phone's code cap) and confirm (the code checked like every code:
five wrong ones burn it; a link reference is used once)."""

import json
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Abdm_module.models import AbdmCareContext, AbdmLinkRequest, AbdmMessage
from Audit_module.models import AuditLog
from config import Settings
from Notification_module.models import NotificationEvent
from tests.abdm.journey import (
    ABHA_ADDRESS,
    ABHA_NUMBER,
    Patient,
    exchange,
    patient_with_report,
    set_abha,
)
from tests.fakes.abdm_gateway import FakeAbdmGateway
from tests.fakes.sms import FakeSmsGateway
from tests.support.http import assert_error
from tests.support.login import LoggedIn, request_code
from tests.support.notification import deliver, outbox
from tests.support.report import in_lab, pdf, upload

pytestmark = pytest.mark.usefixtures("razorpay")

PHONE = "+919876512001"
MASKED_PHONE = "+91******2001"
OTHER_PHONE = "+919876512002"
SPOUSE_PHONE = "+919876512003"
# The test the order is for ("My genes", tests/support/orders.py) and the report's text: neither
# may reach the patient's app or the SMS.
TEST_NAME = "genes"
REPORT_TEXT = "Genome report"
# The shopper's members (tests/support/orders.py, tests/support/factories/member.py).
SELF_NAME, SPOUSE_NAME, GENDER, YEAR_OF_BIRTH = "Member 0", "Member 1", "F", 1990
CODE_TEXT = re.compile(r"\b(\d{6})\b")
LINK_CODE_SMS = "link your lab reports to your ABHA"


# --- the patient's app, through the gateway -------------------------------------------------


def _answer_to(gateway: FakeAbdmGateway, path_suffix: str, request_id: str) -> dict[str, Any]:
    """Our answer to the callback sent under `request_id` (its `response.requestId`)."""
    (found,) = [
        body
        for body in gateway.answers(path_suffix)
        if body.get("response", {}).get("requestId") == request_id
    ]
    return found


def discover(
    client: TestClient, gateway: FakeAbdmGateway, patient: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The app searches the lab for the patient: the transaction id and our on-discover."""
    transaction_id = str(uuid.uuid4())
    request_id = gateway.discover(patient, transaction_id=transaction_id)
    exchange(client, gateway)
    answer = _answer_to(gateway, "/on-discover", request_id)
    assert answer["transactionId"] == transaction_id
    return transaction_id, answer


def init(
    client: TestClient,
    gateway: FakeAbdmGateway,
    transaction_id: str,
    member_id: int,
    item_ids: list[int],
) -> dict[str, Any]:
    """The patient picks care contexts to link: our on-init."""
    request_id = gateway.link_init(
        ABHA_ADDRESS,
        [
            {
                "referenceNumber": str(member_id),
                "careContexts": [{"referenceNumber": str(item_id)} for item_id in item_ids],
                "hiType": "DiagnosticReport",
                "count": len(item_ids),
            }
        ],
        transaction_id=transaction_id,
    )
    exchange(client, gateway)
    answer = _answer_to(gateway, "/on-init", request_id)
    assert answer["transactionId"] == transaction_id
    return answer


def confirm(
    client: TestClient, gateway: FakeAbdmGateway, link_reference: str, code: str
) -> dict[str, Any]:
    """The patient types the code we sent: our on-confirm."""
    request_id = gateway.link_confirm(link_reference, code)
    exchange(client, gateway)
    return _answer_to(gateway, "/on-confirm", request_id)


def by_abha_address(address: str = ABHA_ADDRESS, **changes: Any) -> dict[str, Any]:
    return {
        "id": address,
        "name": SELF_NAME,
        "gender": GENDER,
        "yearOfBirth": YEAR_OF_BIRTH,
        "verifiedIdentifiers": [{"type": "ABHA_ADDRESS", "value": address}],
        "unverifiedIdentifiers": [],
        **changes,
    }


def by_mobile(mobile: str, **changes: Any) -> dict[str, Any]:
    """A patient whose ABHA the lab does not know: their app's address is new here."""
    return {
        "id": "new.to.this.lab@sbx",
        "name": SELF_NAME,
        "gender": GENDER,
        "yearOfBirth": YEAR_OF_BIRTH,
        "verifiedIdentifiers": [{"type": "MOBILE", "value": mobile}],
        "unverifiedIdentifiers": [],
        **changes,
    }


# --- the lab's side ---------------------------------------------------------------------------


def reported(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    phone: str = PHONE,
    *,
    number: str | None = ABHA_NUMBER,
    address: str | None = ABHA_ADDRESS,
) -> Patient:
    """A member with a report, their ABHA (if any) added after it: the lab started no link."""
    patient = patient_with_report(client, db, admin, phone, abha=False, text=REPORT_TEXT)
    if number or address:
        set_abha(client, patient.buyer, patient.member_id, number, address)
    return patient


def care_context(patient: Patient) -> dict[str, str]:
    return {
        "referenceNumber": patient.reference,
        "display": f"Nucleotide report {patient.order['order_number']}/1",
    }


def link_codes_sent(sms: FakeSmsGateway, phone: str) -> list[str]:
    """The link code SMS that reached `phone` (the outbox sent first)."""
    deliver()
    return [text for text in sms.messages_to(phone) if LINK_CODE_SMS in text]


def code_in(text: str) -> str:
    found = CODE_TEXT.search(text)
    assert found, text
    return found.group(1)


def link_requests(db: Session) -> list[AbdmLinkRequest]:
    db.expire_all()
    return list(db.scalars(select(AbdmLinkRequest)))


def kept_exchanges(db: Session) -> str:
    """What the lab keeps of its exchanges with the gateway, once they are done."""
    db.expire_all()
    messages = list(db.scalars(select(AbdmMessage)))
    assert messages and all(m.state != "pending" for m in messages)
    return json.dumps([m.payload for m in messages])


def abha_view(client: TestClient, patient: Patient) -> list[tuple[int, str]]:
    answer = client.get(f"/member/{patient.member_id}/abha", headers=patient.buyer.headers)
    assert answer.status_code == 200, answer.text
    return [(c["item_id"], c["status"]) for c in answer.json()["care_contexts"]]


def code_sent(
    client: TestClient,
    gateway: FakeAbdmGateway,
    sms: FakeSmsGateway,
    patient: Patient,
    phone: str = PHONE,
) -> tuple[str, str]:
    """Discovered and init done: the link reference and the code the member's phone got."""
    transaction_id, _ = discover(client, gateway, by_abha_address())
    answer = init(client, gateway, transaction_id, patient.member_id, [patient.item_id])
    (text,) = link_codes_sent(sms, phone)
    return answer["link"]["referenceNumber"], code_in(text)


# --- discovery --------------------------------------------------------------------------------


def test_discovery_by_abha_address_lists_the_members_reported_care_contexts(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = reported(client, db, admin)

    transaction_id, answer = discover(client, abdm_gateway, by_abha_address())

    assert "error" not in answer
    (entry,) = answer["patient"]
    assert entry["referenceNumber"] == str(patient.member_id)
    assert entry["careContexts"] == [care_context(patient)]
    assert (entry["hiType"], entry["count"]) == ("DiagnosticReport", 1)
    (matched_by,) = answer["matchedBy"]
    assert matched_by.startswith("ABHA_")
    shown = json.dumps(answer).lower()
    assert TEST_NAME not in shown and REPORT_TEXT.lower() not in shown
    # The transaction is remembered for the init that follows.
    (request,) = link_requests(db)
    assert (request.transaction_id, request.member_id) == (transaction_id, patient.member_id)
    # Nothing is linked by discovering.
    assert abha_view(client, patient) == []


def test_discovery_by_abha_number_among_the_verified_identifiers(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = reported(client, db, admin, address=None)
    digits = ABHA_NUMBER.replace("-", "")

    _, answer = discover(
        client,
        abdm_gateway,
        by_abha_address(
            "another.handle@sbx",
            verifiedIdentifiers=[{"type": "ABHA_NUMBER", "value": digits}],
        ),
    )

    assert "error" not in answer
    (entry,) = answer["patient"]
    assert entry["careContexts"] == [care_context(patient)]
    assert answer["matchedBy"] == ["ABHA_NUMBER"]


def test_discovery_by_the_account_phone_and_demographics_for_a_member_without_abha(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    # The member is the account holder (relation self, no phone of their own).
    patient = reported(client, db, admin, number=None, address=None)

    transaction_id, answer = discover(client, abdm_gateway, by_mobile(PHONE.removeprefix("+91")))

    assert "error" not in answer
    (entry,) = answer["patient"]
    assert entry["referenceNumber"] == str(patient.member_id)
    assert entry["careContexts"] == [care_context(patient)]
    assert answer["matchedBy"] == ["MOBILE"]
    (request,) = link_requests(db)
    assert (request.transaction_id, request.member_id) == (transaction_id, patient.member_id)


def test_discovery_by_the_members_own_phone_and_demographics(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    lab = in_lab(client, db, admin, PHONE, members=2)
    spouse_item = lab.order["items"][1]
    spouse_id = spouse_item["member"]["id"]
    given = client.put(
        f"/member/{spouse_id}", json={"phone": SPOUSE_PHONE}, headers=lab.buyer.headers
    )
    assert given.status_code == 200, given.text
    stored = upload(client, admin, lab.order["id"], spouse_item["id"], pdf(REPORT_TEXT))
    assert stored.status_code == 201, stored.text

    _, answer = discover(client, abdm_gateway, by_mobile(SPOUSE_PHONE, name=SPOUSE_NAME))

    (entry,) = answer["patient"]
    assert entry["referenceNumber"] == str(spouse_id)
    assert [c["referenceNumber"] for c in entry["careContexts"]] == [str(spouse_item["id"])]
    assert answer["matchedBy"] == ["MOBILE"]
    # The account's phone is not the spouse's: no match by it.
    _, other = discover(client, abdm_gateway, by_mobile(PHONE, name=SPOUSE_NAME))
    assert other["error"]["code"] == "ABDM-1010"
    assert len(link_requests(db)) == 1


@pytest.mark.parametrize(
    "near_miss",
    [{"yearOfBirth": YEAR_OF_BIRTH + 1}, {"gender": "M"}, {"name": "Member Zero"}],
    ids=["year", "gender", "name"],
)
def test_a_near_miss_on_the_demographics_is_no_match(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    near_miss: dict[str, Any],
) -> None:
    reported(client, db, admin, number=None, address=None)

    _, answer = discover(client, abdm_gateway, by_mobile(PHONE, **near_miss))

    assert answer["error"]["code"] == "ABDM-1010"
    assert "patient" not in answer
    assert link_requests(db) == []


def test_two_members_matching_the_same_mobile_and_demographics_are_no_match(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = reported(client, db, admin, number=None, address=None)
    _, first = discover(client, abdm_gateway, by_mobile(PHONE))
    assert first["matchedBy"] == ["MOBILE"]
    # A second member with the same name, gender, birth year and phone: which one is asking?
    twin = client.post(
        "/member",
        json={
            "name": SELF_NAME,
            "relation": "sibling",
            "date_of_birth": "1990-01-02",
            "gender": "female",
            "phone": PHONE,
        },
        headers=patient.buyer.headers,
    )
    assert twin.status_code == 201, twin.text

    _, answer = discover(client, abdm_gateway, by_mobile(PHONE))

    assert answer["error"]["code"] == "ABDM-1010"
    assert "patient" not in answer
    assert len(link_requests(db)) == 1  # the first discovery's only


# --- init -------------------------------------------------------------------------------------


def test_init_sends_our_own_code_to_the_members_phone(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
) -> None:
    patient = reported(client, db, admin)
    transaction_id, _ = discover(client, abdm_gateway, by_abha_address())

    answer = init(client, abdm_gateway, transaction_id, patient.member_id, [patient.item_id])

    assert "error" not in answer
    link = answer["link"]
    assert isinstance(link["referenceNumber"], str) and link["referenceNumber"]
    assert link["authenticationType"] == "DIRECT"
    assert link["meta"]["communicationMedium"] == "MOBILE"
    assert link["meta"]["communicationHint"] == MASKED_PHONE
    assert link["meta"]["communicationExpiry"]
    assert PHONE.removeprefix("+91") not in json.dumps(answer)
    (text,) = link_codes_sent(sms_gateway, PHONE)
    code = code_in(text)
    assert code not in json.dumps(abdm_gateway.answers("/on-init"))
    (request,) = link_requests(db)
    assert request.link_ref_number == link["referenceNumber"]
    assert request.order_item_ids == [patient.item_id]


def test_the_code_sms_names_no_test_and_the_outbox_forgets_the_code_once_sent(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
) -> None:
    patient = reported(client, db, admin)

    _, code = code_sent(client, abdm_gateway, sms_gateway, patient)

    (text,) = link_codes_sent(sms_gateway, PHONE)
    assert code in text
    assert TEST_NAME not in text.lower() and REPORT_TEXT.lower() not in text.lower()
    (row,) = outbox(db, NotificationEvent.ABHA_LINK_CODE)
    assert (row.status, row.recipient) == ("sent", PHONE)
    assert code not in row.body and row.body == row.title
    assert row.html is None
    assert code not in json.dumps(row.payload)
    # Only the SMS: a code for the member's phone is not in the account's inbox.
    assert [r.channel for r in outbox(db, NotificationEvent.ABHA_LINK_CODE)] == ["sms"]


def test_link_codes_count_in_the_phones_code_cap(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_HOUR", 2)
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    patient = reported(client, db, admin)
    request_code(client, PHONE)  # a login code: one of the two
    transaction_id, _ = discover(client, abdm_gateway, by_abha_address())
    first = init(client, abdm_gateway, transaction_id, patient.member_id, [patient.item_id])
    assert "link" in first
    assert len(link_codes_sent(sms_gateway, PHONE)) == 1

    refused = init(client, abdm_gateway, transaction_id, patient.member_id, [patient.item_id])

    assert refused["error"]["code"] and "link" not in refused
    assert len(link_codes_sent(sms_gateway, PHONE)) == 1
    assert len(outbox(db, NotificationEvent.ABHA_LINK_CODE)) == 1
    # And the link code counted against the login codes too.
    assert client.post("/auth/send-otp", json={"phone": PHONE}).status_code == 429
    # The first code still links.
    linked = confirm(
        client,
        abdm_gateway,
        first["link"]["referenceNumber"],
        code_in(link_codes_sent(sms_gateway, PHONE)[0]),
    )
    assert "error" not in linked
    assert abha_view(client, patient) == [(patient.item_id, "linked")]


def test_init_for_another_members_care_context_is_refused_and_sends_nothing(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
) -> None:
    patient = reported(client, db, admin)
    stranger = reported(client, db, admin, OTHER_PHONE, number=None, address=None)
    transaction_id, _ = discover(client, abdm_gateway, by_abha_address())

    answer = init(client, abdm_gateway, transaction_id, patient.member_id, [stranger.item_id])

    assert answer["error"]["code"] and "link" not in answer
    assert outbox(db, NotificationEvent.ABHA_LINK_CODE) == []
    assert link_codes_sent(sms_gateway, PHONE) == link_codes_sent(sms_gateway, OTHER_PHONE) == []
    # Mixed with the member's own: refused all the same.
    mixed = init(
        client,
        abdm_gateway,
        transaction_id,
        patient.member_id,
        [patient.item_id, stranger.item_id],
    )
    assert mixed["error"]["code"] and "link" not in mixed
    assert outbox(db, NotificationEvent.ABHA_LINK_CODE) == []


# --- confirm ----------------------------------------------------------------------------------


def test_the_right_code_links_the_chosen_care_contexts(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
) -> None:
    patient = reported(client, db, admin)
    reference, code = code_sent(client, abdm_gateway, sms_gateway, patient)

    answer = confirm(client, abdm_gateway, reference, code)

    assert "error" not in answer
    (entry,) = answer["patient"]
    assert entry["referenceNumber"] == str(patient.member_id)
    assert entry["careContexts"] == [care_context(patient)]
    view = client.get(f"/member/{patient.member_id}/abha", headers=patient.buyer.headers).json()
    (linked,) = view["care_contexts"]
    assert (linked["order_id"], linked["item_id"], linked["status"]) == (
        patient.order["id"],
        patient.item_id,
        "linked",
    )
    assert linked["linked_at"] is not None
    context = db.scalars(select(AbdmCareContext)).one()
    (entry_audit,) = db.scalars(
        select(AuditLog).where(AuditLog.action == "abdm.care_context_linked")
    ).all()
    assert (entry_audit.entity_type, entry_audit.entity_id) == (
        "abdm_care_context",
        str(context.id),
    )
    assert entry_audit.changes is not None
    assert entry_audit.changes["order_item_id"] == patient.item_id
    assert code not in json.dumps(entry_audit.changes)
    assert code not in kept_exchanges(db)
    # The patient linked it themselves: the lab asked the gateway for no link token.
    assert abdm_gateway.calls("/v3/token/generate-token") == []


def test_a_wrong_code_links_nothing_and_the_right_one_still_works(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
) -> None:
    patient = reported(client, db, admin)
    reference, code = code_sent(client, abdm_gateway, sms_gateway, patient)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    refused = confirm(client, abdm_gateway, reference, wrong)

    assert refused["error"]["code"] and "patient" not in refused
    assert abha_view(client, patient) == []
    assert db.scalars(select(AbdmCareContext)).all() == []
    assert wrong not in kept_exchanges(db) and code not in kept_exchanges(db)

    accepted = confirm(client, abdm_gateway, reference, code)

    assert "error" not in accepted
    assert abha_view(client, patient) == [(patient.item_id, "linked")]


def test_five_wrong_codes_burn_the_code(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
    settings: Settings,
) -> None:
    assert settings.OTP_MAX_VERIFY_ATTEMPTS == 5
    patient = reported(client, db, admin)
    reference, code = code_sent(client, abdm_gateway, sms_gateway, patient)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    answers = [confirm(client, abdm_gateway, reference, wrong) for _ in range(5)]
    assert all(answer["error"]["code"] for answer in answers)

    burned = confirm(client, abdm_gateway, reference, code)

    assert burned["error"]["code"] and "patient" not in burned
    assert abha_view(client, patient) == []


def test_a_link_reference_is_confirmed_once(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
) -> None:
    patient = reported(client, db, admin)
    reference, code = code_sent(client, abdm_gateway, sms_gateway, patient)
    assert "error" not in confirm(client, abdm_gateway, reference, code)

    again = confirm(client, abdm_gateway, reference, code)

    assert again["error"]["code"] and "patient" not in again
    assert abha_view(client, patient) == [(patient.item_id, "linked")]
    linked = db.scalars(select(AuditLog).where(AuditLog.action == "abdm.care_context_linked"))
    assert len(linked.all()) == 1


def test_an_unknown_link_reference_is_refused(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = reported(client, db, admin)

    answer = confirm(client, abdm_gateway, uuid.uuid4().hex, "123456")

    assert answer["error"]["code"] and "patient" not in answer
    assert abha_view(client, patient) == []


def test_a_report_the_patient_linked_is_linked_for_the_customers_link_action_too(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    sms_gateway: FakeSmsGateway,
) -> None:
    """Once the patient linked a report, the customer's link action answers it as linked."""
    patient = reported(client, db, admin)
    reference, code = code_sent(client, abdm_gateway, sms_gateway, patient)
    confirm(client, abdm_gateway, reference, code)

    again = client.post(
        f"/orders/{patient.order['id']}/items/{patient.item_id}/abha-link",
        headers=patient.buyer.headers,
    )

    assert again.status_code == 202, again.text
    assert again.json()["status"] == "linked"
    exchange(client, abdm_gateway)
    assert abdm_gateway.calls("/v3/token/generate-token") == []
    assert abha_view(client, patient) == [(patient.item_id, "linked")]


def test_a_callback_without_the_gateways_token_is_refused_and_nothing_is_kept(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    reported(client, db, admin)
    headers = abdm_gateway.signed_headers(forged=True)
    answer = client.post(
        "/abdm/api/v3/hip/patient/care-context/discover",
        json={"transactionId": str(uuid.uuid4()), "patient": by_abha_address()},
        headers=headers,
    )
    assert_error(answer, 401, "invalid_gateway_token")
    exchange(client, abdm_gateway)
    assert abdm_gateway.answers("/on-discover") == []
    assert link_requests(db) == []
