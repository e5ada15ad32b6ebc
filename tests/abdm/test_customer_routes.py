"""The customer's ABHA routes (the member's ABHA view, linking a report now), the operators' lists
of links and transfers, and erasure of an account whose reports travel through ABDM."""

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Abdm_module.models import (
    AbdmCareContext,
    AbdmConsent,
    AbdmLinkRequest,
    AbdmLinkToken,
    AbdmMessage,
    AbdmTransfer,
)
from Audit_module.models import AuditLog
from tests.abdm.journey import (
    ABHA_ADDRESS,
    ABHA_NUMBER,
    Patient,
    exchange,
    grant,
    on_request,
    patient_with_report,
    request_data,
    set_abha,
)
from tests.fakes.abdm_gateway import FakeAbdmGateway
from tests.fakes.abdm_hiu import FakeAbdmHiu
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login, request_code
from tests.support.report import in_lab, pdf, upload

pytestmark = pytest.mark.usefixtures("razorpay")

PHONE = "+919876513001"
OTHER_PHONE = "+919876513002"
STRANGER_PHONE = "+919876513009"
MASKED_NUMBER = "**-****-****-9012"
# A second patient's own ABHA (two accounts may name the same one, but these tests keep apart).
OTHER_NUMBER = "91-2222-3333-4444"
OTHER_ADDRESS = "vikram.rao@sbx"
GENERATE_TOKEN = "/v3/token/generate-token"
BLOCKED = "ABDM-1027"
DAY_SECONDS = 24 * 3600


def link(client: TestClient, who: Any, order_id: int, item_id: int) -> Any:
    return client.post(f"/orders/{order_id}/items/{item_id}/abha-link", headers=who.headers)


def abha(client: TestClient, patient: Patient) -> dict[str, Any]:
    answer = client.get(f"/member/{patient.member_id}/abha", headers=patient.buyer.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def statuses(client: TestClient, patient: Patient) -> list[tuple[int, str]]:
    return [(c["item_id"], c["status"]) for c in abha(client, patient)["care_contexts"]]


def without_abha_link(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    phone: str = PHONE,
    number: str | None = ABHA_NUMBER,
    address: str | None = ABHA_ADDRESS,
) -> Patient:
    """A member with a report and (when given) an ABHA added after it: nothing linked yet."""
    patient = patient_with_report(client, db, admin, phone, abha=False)
    if number or address:
        set_abha(client, patient.buyer, patient.member_id, number, address)
    return patient


def linked(client: TestClient, db: Session, admin: LoggedIn, gateway: FakeAbdmGateway) -> Patient:
    """A member with an ABHA whose report the lab linked (on upload)."""
    patient = patient_with_report(client, db, admin, PHONE)
    exchange(client, gateway)
    assert statuses(client, patient) == [(patient.item_id, "linked")]
    return patient


def token_calls(gateway: FakeAbdmGateway) -> int:
    return len(gateway.calls(GENERATE_TOKEN))


def hi_request(
    client: TestClient, gateway: FakeAbdmGateway, hiu: FakeAbdmHiu, consent_id: str
) -> tuple[str, dict[str, Any]]:
    """An HIU asks for the records of a consent: the transaction id and our on-request."""
    transaction_id = request_data(client, gateway, hiu, consent_id)
    return transaction_id, on_request(gateway, transaction_id)


# --- GET /member/{id}/abha --------------------------------------------------------------------


def test_the_abha_view_masks_the_number_and_lists_the_care_contexts(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = linked(client, db, admin, abdm_gateway)

    answer = client.get(f"/member/{patient.member_id}/abha", headers=patient.buyer.headers)

    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert (view["abha_number"], view["abha_address"]) == (MASKED_NUMBER, ABHA_ADDRESS)
    (context,) = view["care_contexts"]
    assert (context["order_id"], context["item_id"], context["status"]) == (
        patient.order["id"],
        patient.item_id,
        "linked",
    )
    assert context["linked_at"] is not None
    for hidden in (ABHA_NUMBER, ABHA_NUMBER.replace("-", "")):
        assert hidden not in answer.text


def test_the_abha_view_of_a_member_without_abha_is_empty(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = without_abha_link(client, db, admin, number=None, address=None)

    assert abha(client, patient) == {"abha_number": None, "abha_address": None, "care_contexts": []}


def test_the_abha_view_is_the_account_holders_alone(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = linked(client, db, admin, abdm_gateway)
    stranger = login(client, STRANGER_PHONE)

    theirs = client.get(f"/member/{patient.member_id}/abha", headers=stranger.headers)
    member = client.get(f"/member/{patient.member_id}", headers=stranger.headers)

    assert theirs.status_code == member.status_code == 404
    assert theirs.json()["code"] == member.json()["code"] == "member_not_found"
    assert ABHA_ADDRESS not in theirs.text
    assert_error(client.get(f"/member/{patient.member_id}/abha"), 401, "not_authenticated")
    missing = client.get("/member/999999999/abha", headers=patient.buyer.headers)
    assert_error(missing, 404, "member_not_found")


# --- POST /orders/{id}/items/{item_id}/abha-link ----------------------------------------------


def test_linking_a_report_now_is_pending_until_the_gateway_confirms(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = without_abha_link(client, db, admin)
    assert statuses(client, patient) == []

    answer = link(client, patient.buyer, patient.order["id"], patient.item_id)

    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "order_id": patient.order["id"],
        "item_id": patient.item_id,
        "status": "pending",
        "linked_at": None,
    }
    assert statuses(client, patient) == [(patient.item_id, "pending")]
    requested = db.scalars(select(AuditLog).where(AuditLog.action == "abdm.link_requested"))
    assert [entry.actor_user_id for entry in requested] == [patient.buyer.me.user_id]

    exchange(client, abdm_gateway)

    assert statuses(client, patient) == [(patient.item_id, "linked")]
    assert token_calls(abdm_gateway) == 1
    (context,) = abdm_gateway.linked_care_contexts(ABHA_ADDRESS)
    assert context["careContextReference"] == patient.reference
    # Asked again once linked: as it is, and nothing more is sent.
    again = link(client, patient.buyer, patient.order["id"], patient.item_id)
    assert again.status_code == 202, again.text
    assert again.json()["status"] == "linked" and again.json()["linked_at"] is not None
    exchange(client, abdm_gateway)
    assert token_calls(abdm_gateway) == 1
    assert len(abdm_gateway.calls("/hip/v3/link/carecontext")) == 1


@pytest.mark.parametrize("number", [None, ABHA_NUMBER], ids=["no_abha", "number_only"])
def test_linking_needs_an_abha_address(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    number: str | None,
) -> None:
    # The gateway's generate-token asks for the address: the number alone cannot link.
    patient = without_abha_link(client, db, admin, number=number, address=None)

    answer = link(client, patient.buyer, patient.order["id"], patient.item_id)

    assert_error(answer, 409, "abha_missing")
    exchange(client, abdm_gateway)
    assert token_calls(abdm_gateway) == 0
    assert statuses(client, patient) == []


def test_linking_needs_the_report(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    item = lab.order["items"][0]
    set_abha(client, lab.buyer, item["member"]["id"])

    answer = link(client, lab.buyer, lab.order["id"], item["id"])

    assert_error(answer, 409, "report_not_ready")
    exchange(client, abdm_gateway)
    assert token_calls(abdm_gateway) == 0


def test_linking_another_users_report_is_not_found(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    patient = without_abha_link(client, db, admin)
    stranger = login(client, STRANGER_PHONE)

    answer = link(client, stranger, patient.order["id"], patient.item_id)

    assert_error(answer, 404, "order_not_found")
    assert_error(link(client, stranger, 999999999, patient.item_id), 404, "order_not_found")
    exchange(client, abdm_gateway)
    assert token_calls(abdm_gateway) == 0
    assert statuses(client, patient) == []


def test_linking_when_abdm_is_not_enabled_is_not_found(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    patient = patient_with_report(client, db, admin, PHONE)

    answer = link(client, patient.buyer, patient.order["id"], patient.item_id)

    assert_error(answer, 404, "abdm_disabled")
    assert statuses(client, patient) == []


@pytest.mark.parametrize("how", ["refused", "on-generate-token"])
def test_a_gateway_block_fails_the_link_and_stops_asking_for_a_day(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    how: str,
) -> None:
    if how == "refused":  # the call itself answered 400 ABDM-1027
        abdm_gateway.refuse_next(GENERATE_TOKEN, BLOCKED, "You are blocked for 24 hours")
    else:  # accepted, and the callback brings the refusal
        abdm_gateway.link_token_limit = 0
    patient = patient_with_report(client, db, admin, PHONE)
    exchange(client, abdm_gateway)
    assert token_calls(abdm_gateway) == 1
    assert statuses(client, patient) == [(patient.item_id, "failed")]
    links = client.get("/abdm/admin/links", headers=admin.headers)
    assert links.status_code == 200, links.text
    (row,) = links.json()["items"]
    assert (row["item_id"], row["status"], row["error_code"]) == (
        patient.item_id,
        "failed",
        BLOCKED,
    )

    answer = link(client, patient.buyer, patient.order["id"], patient.item_id)

    assert_error(answer, 429, "abdm_blocked")
    retry_after = int(answer.headers["Retry-After"])
    assert DAY_SECONDS - 600 < retry_after <= DAY_SECONDS + 1
    exchange(client, abdm_gateway)
    # A new version of the report while blocked: still nothing asked.
    stored = upload(client, admin, patient.order["id"], patient.item_id, pdf("Amended"))
    assert stored.status_code == 201, stored.text
    exchange(client, abdm_gateway)
    assert token_calls(abdm_gateway) == 1
    assert statuses(client, patient) == [(patient.item_id, "failed")]
    (row,) = client.get("/abdm/admin/links", headers=admin.headers).json()["items"]
    assert (row["status"], row["error_code"]) == ("failed", BLOCKED)


# --- the operators' lists ---------------------------------------------------------------------


def test_the_admin_list_of_links_is_for_admins_paginated_and_filtered_by_status(
    client: TestClient, db: Session, admin: LoggedIn, abdm_gateway: FakeAbdmGateway
) -> None:
    first = linked(client, db, admin, abdm_gateway)
    abdm_gateway.refuse_next(GENERATE_TOKEN, BLOCKED, "You are blocked for 24 hours")
    second = without_abha_link(client, db, admin, OTHER_PHONE, OTHER_NUMBER, OTHER_ADDRESS)
    assert link(client, second.buyer, second.order["id"], second.item_id).status_code == 202
    exchange(client, abdm_gateway)

    def listed(query: str = "") -> dict[str, Any]:
        answer = client.get(f"/abdm/admin/links{query}", headers=admin.headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    every = listed()
    assert every["total"] == 2
    assert [(r["item_id"], r["status"]) for r in every["items"]] == [
        (second.item_id, "failed"),
        (first.item_id, "linked"),
    ]
    assert every["items"][1]["member_id"] == first.member_id
    assert [r["item_id"] for r in listed("?state=linked")["items"]] == [first.item_id]
    assert [r["item_id"] for r in listed("?state=failed")["items"]] == [second.item_id]
    assert listed("?state=pending")["items"] == []
    page = listed("?limit=1&offset=1")
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 1)
    assert [r["item_id"] for r in page["items"]] == [first.item_id]
    assert_error(
        client.get("/abdm/admin/links?state=unknown", headers=admin.headers),
        422,
        "validation_error",
    )
    for who in (first.buyer, second.buyer):
        assert_error(client.get("/abdm/admin/links", headers=who.headers), 403, "admin_required")
    assert_error(client.get("/abdm/admin/links"), 401, "not_authenticated")


def test_the_admin_list_of_transfers_is_for_admins_paginated_and_filtered_by_state(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
) -> None:
    patient = linked(client, db, admin, abdm_gateway)
    consent_id = grant(client, abdm_gateway, patient)
    delivered, ok = hi_request(client, abdm_gateway, abdm_hiu, consent_id)
    assert ok["hiRequest"]["sessionStatus"] == "ACKNOWLEDGED"
    refused, errored = hi_request(client, abdm_gateway, abdm_hiu, str(uuid.uuid4()))
    assert errored["hiRequest"]["sessionStatus"] == "ERRORED"

    def listed(query: str = "") -> dict[str, Any]:
        answer = client.get(f"/abdm/admin/transfers{query}", headers=admin.headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    every = listed()
    assert every["total"] == 2
    assert [(t["transaction_id"], t["state"]) for t in every["items"]] == [
        (refused, "errored"),
        (delivered, "transferred"),
    ]
    done = every["items"][1]
    assert done["consent_id"] == consent_id
    assert done["care_contexts"] == [{"reference": patient.reference, "status": "DELIVERED"}]
    assert every["items"][0]["error_code"] == "ABDM-1112"
    assert [t["transaction_id"] for t in listed("?state=transferred")["items"]] == [delivered]
    assert [t["transaction_id"] for t in listed("?state=errored")["items"]] == [refused]
    assert listed("?state=failed")["items"] == []
    page = listed("?limit=1")
    assert (page["total"], page["limit"], page["offset"]) == (2, 1, 0)
    assert [t["transaction_id"] for t in page["items"]] == [refused]
    # Operators see ids and states, never health content or keys.
    assert "presentedForm" not in json.dumps(every) and "keyValue" not in json.dumps(every)
    customer = patient.buyer
    assert_error(
        client.get("/abdm/admin/transfers", headers=customer.headers), 403, "admin_required"
    )
    assert_error(client.get("/abdm/admin/transfers"), 401, "not_authenticated")


# --- erasure ----------------------------------------------------------------------------------


def test_erasure_removes_the_members_abdm_records_and_later_requests_get_nothing(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
) -> None:
    patient = linked(client, db, admin, abdm_gateway)
    consent_id = grant(client, abdm_gateway, patient)
    # The patient's app found the lab too (a link request).
    abdm_gateway.discover(
        {
            "id": ABHA_ADDRESS,
            "name": "Member 0",
            "gender": "F",
            "yearOfBirth": 1990,
            "verifiedIdentifiers": [{"type": "ABHA_ADDRESS", "value": ABHA_ADDRESS}],
        }
    )
    exchange(client, abdm_gateway)
    member_id = patient.member_id
    held = {
        model: db.scalars(select(model).where(model.member_id == member_id)).all()
        for model in (AbdmLinkToken, AbdmCareContext, AbdmLinkRequest, AbdmConsent)
    }
    assert all(len(rows) == 1 for rows in held.values()), held
    done = client.put(
        f"/orders/{patient.order['id']}/status", json={"status": "completed"}, headers=admin.headers
    )
    assert done.status_code == 200, done.text

    erased = client.request(
        "DELETE",
        "/profile",
        headers=patient.buyer.headers,
        json={"otp": request_code(client, PHONE)},
    )

    assert erased.status_code == 200, erased.text
    assert erased.json()["health_record_links_erased"] >= 4
    db.expire_all()
    for model in (AbdmLinkToken, AbdmCareContext, AbdmLinkRequest, AbdmConsent):
        assert db.scalars(select(model).where(model.member_id == member_id)).all() == [], model
    assert db.scalars(select(AbdmConsent).where(AbdmConsent.consent_id == consent_id)).all() == []
    assert db.scalars(select(AbdmMessage).where(AbdmMessage.member_id == member_id)).all() == []
    assert client.get("/abdm/admin/links", headers=admin.headers).json()["items"] == []

    # The HIU asks again under the consent it was given: an error, and nothing is sent.
    transaction_id, answer = hi_request(client, abdm_gateway, abdm_hiu, consent_id)

    assert answer["hiRequest"]["sessionStatus"] == "ERRORED"
    assert answer["error"]["code"] == "ABDM-1112"
    assert abdm_hiu.pushes_for(transaction_id) == []
    transfer = db.scalars(
        select(AbdmTransfer).where(AbdmTransfer.transaction_id == transaction_id)
    ).one()
    assert (transfer.state, transfer.error_code) == ("errored", "ABDM-1112")
    notified = [
        body
        for body in abdm_gateway.answers("/health-information/notify")
        if body["notification"]["transactionId"] == transaction_id
    ]
    assert notified == []
    # Nor does the patient's app find the erased member any more.
    request_id = abdm_gateway.discover(
        {
            "id": ABHA_ADDRESS,
            "name": "Member 0",
            "gender": "F",
            "yearOfBirth": 1990,
            "verifiedIdentifiers": [{"type": "ABHA_ADDRESS", "value": ABHA_ADDRESS}],
        }
    )
    exchange(client, abdm_gateway)
    (found,) = [
        body
        for body in abdm_gateway.answers("/on-discover")
        if body["response"]["requestId"] == request_id
    ]
    assert found["error"]["code"] == "ABDM-1010"


def test_a_consent_granted_after_erasure_gets_an_error_answer_and_nothing(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
) -> None:
    """The gateway still knows the care context (linked before the erasure): a consent granted
    over it afterwards, and the request under that consent, find nothing of the member."""
    patient = linked(client, db, admin, abdm_gateway)
    done = client.put(
        f"/orders/{patient.order['id']}/status", json={"status": "completed"}, headers=admin.headers
    )
    assert done.status_code == 200, done.text
    erased = client.request(
        "DELETE",
        "/profile",
        headers=patient.buyer.headers,
        json={"otp": request_code(client, PHONE)},
    )
    assert erased.status_code == 200, erased.text

    consent_id = grant(client, abdm_gateway, patient)
    transaction_id, answer = hi_request(client, abdm_gateway, abdm_hiu, consent_id)

    assert abdm_hiu.pushes_for(transaction_id) == []
    assert answer["hiRequest"]["sessionStatus"] == "ERRORED", answer
    assert answer["error"]["code"]
