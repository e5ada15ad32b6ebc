"""The whole HIP journey over HTTP against the local gateway and HIU: a report uploaded, its care
context linked to the member's ABHA, a consent granted, the data requested, pushed encrypted,
decrypted and valid at the HIU; the consent revoked, and the next request gets nothing."""

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.clock import wall_utcnow
from tests.abdm.journey import (
    ABHA_ADDRESS,
    HIU_ID,
    exchange,
    grant,
    on_request,
    patient_with_report,
    request_data,
)
from tests.fakes.abdm_gateway import FakeAbdmGateway
from tests.fakes.abdm_hiu import FakeAbdmHiu
from tests.support.login import LoggedIn

pytestmark = pytest.mark.usefixtures("razorpay")


def test_report_linked_consented_pushed_decrypted_then_revoked(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    abdm_gateway: FakeAbdmGateway,
    abdm_hiu: FakeAbdmHiu,
) -> None:
    patient = patient_with_report(client, db, admin, "+919876511001")
    exchange(client, abdm_gateway)

    # Linked: one token asked for, one link call carrying it; the display names no test.
    (token_call,) = abdm_gateway.answers("/v3/token/generate-token")
    assert token_call["abhaAddress"] == ABHA_ADDRESS and token_call["yearOfBirth"] == 1990
    (link_request,) = abdm_gateway.accepted_calls("/hip/v3/link/carecontext")
    assert link_request.headers["x-link-token"] == abdm_gateway.link_token(ABHA_ADDRESS)
    (context,) = link_request.json()["patient"][0]["careContexts"]
    assert context == {
        "referenceNumber": patient.reference,
        "display": f"Nucleotide report {patient.order['order_number']}/1",
    }
    assert "genes" not in link_request.body.decode().lower()
    view = client.get(f"/member/{patient.member_id}/abha", headers=patient.buyer.headers).json()
    assert view["abha_number"] == "**-****-****-9012"
    assert [(c["item_id"], c["status"]) for c in view["care_contexts"]] == [
        (patient.item_id, "linked")
    ]

    consent_id = grant(client, abdm_gateway, patient)
    (ack,) = abdm_gateway.answers("/consent/v3/request/hip/on-notify")
    assert ack["acknowledgement"] == {"status": "OK", "consentId": consent_id}

    transaction_id = request_data(client, abdm_gateway, abdm_hiu, consent_id)
    assert on_request(abdm_gateway, transaction_id)["hiRequest"]["sessionStatus"] == "ACKNOWLEDGED"
    (push,) = abdm_hiu.pushes_for(transaction_id)
    assert push.problems == []
    assert push.care_context_references == [patient.reference]
    (bundle,) = push.documents
    report = next(
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "DiagnosticReport"
    )
    assert base64.b64decode(report["presentedForm"][0]["data"]) == patient.report
    (done,) = abdm_gateway.answers("/health-information/notify")
    status = done["notification"]["statusNotification"]
    assert status["sessionStatus"] == "TRANSFERRED"
    assert status["statusResponses"] == [
        {"careContextReference": patient.reference, "hiStatus": "DELIVERED", "description": ""}
    ]
    transfers = client.get("/abdm/admin/transfers", headers=admin.headers).json()
    assert [(t["transaction_id"], t["state"]) for t in transfers["items"]] == [
        (transaction_id, "transferred")
    ]

    # Revoked: the next request is refused with the reason, and nothing is pushed.
    abdm_gateway.consent_notify(
        consent_id,
        "REVOKED",
        [],
        ["DiagnosticReport"],
        wall_utcnow(),
        wall_utcnow(),
        wall_utcnow(),
        HIU_ID,
    )
    exchange(client, abdm_gateway)
    again = request_data(client, abdm_gateway, abdm_hiu, consent_id)
    refused = on_request(abdm_gateway, again)
    assert refused["hiRequest"]["sessionStatus"] == "ERRORED"
    assert refused["error"]["code"] == "ABDM-1062"
    assert abdm_hiu.pushes_for(again) == []
