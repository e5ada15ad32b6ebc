"""Steps the ABDM tests share: a member with an ABHA and a report, the job run after each
delivery of the gateway's callbacks, and a consent granted over a linked report."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from Abdm_module.jobs import run_abdm_exchanges
from core.clock import wall_utcnow
from tests.fakes.abdm_gateway import FakeAbdmGateway
from tests.fakes.abdm_hiu import FakeAbdmHiu
from tests.support.login import LoggedIn
from tests.support.report import in_lab, pdf, upload

ABHA_NUMBER = "91-1234-5678-9012"
ABHA_ADDRESS = "asha.rao@sbx"
HIU_ID = "HIU-CLINIC-01"


@dataclass
class Patient:
    buyer: Any
    order: dict[str, Any]
    member_id: int
    item_id: int
    report: bytes

    @property
    def reference(self) -> str:
        return str(self.item_id)


def exchange(client: TestClient, gateway: FakeAbdmGateway, rounds: int = 4) -> None:
    """Run the ABDM job, deliver what the gateway sends back, and again, until both are quiet."""
    for _ in range(rounds):
        run_abdm_exchanges()
        responses = gateway.deliver(client)
        assert all(response.status_code == 202 for response in responses), [
            (response.status_code, response.text) for response in responses
        ]
        if not responses:
            return


def set_abha(
    client: TestClient,
    who: Any,
    member_id: int,
    number: str | None = ABHA_NUMBER,
    address: str | None = ABHA_ADDRESS,
) -> None:
    answer = client.put(
        f"/member/{member_id}",
        json={"abha_number": number, "abha_address": address},
        headers=who.headers,
    )
    assert answer.status_code == 200, answer.text


def patient_with_report(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    phone: str,
    *,
    abha: bool = True,
    text: str = "Genome report",
) -> Patient:
    """A paid order in the lab for a member (with an ABHA unless told not), its report uploaded."""
    lab = in_lab(client, db, admin, phone)
    item = lab.order["items"][0]
    member_id = item["member"]["id"]
    if abha:
        set_abha(client, lab.buyer, member_id)
    content = pdf(text)
    stored = upload(client, admin, lab.order["id"], item["id"], content)
    assert stored.status_code == 201, stored.text
    return Patient(lab.buyer, lab.order, member_id, item["id"], content)


def grant(
    client: TestClient,
    gateway: FakeAbdmGateway,
    patient: Patient,
    *,
    consent_id: str | None = None,
    days_back: int = 30,
    days_ahead: int = 30,
    hi_types: list[str] | None = None,
) -> str:
    consent_id = consent_id or str(uuid.uuid4())
    now = wall_utcnow()
    gateway.consent_notify(
        consent_id,
        "GRANTED",
        [{"patientReference": str(patient.member_id), "careContextReference": patient.reference}],
        hi_types or ["DiagnosticReport"],
        now - timedelta(days=days_back),
        now + timedelta(days=days_ahead),
        now + timedelta(days=60),
        HIU_ID,
        abha_address=ABHA_ADDRESS,
    )
    exchange(client, gateway)
    return consent_id


def request_data(
    client: TestClient,
    gateway: FakeAbdmGateway,
    hiu: FakeAbdmHiu,
    consent_id: str,
    *,
    key_expiry: datetime | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> str:
    """A doctor's system asks for the records of `consent_id` (its keys from `hiu`, the last
    week by default), and the job runs; the transaction id. Our on-request answer names the
    gateway's REQUEST-ID."""
    transaction_id = str(uuid.uuid4())
    now = wall_utcnow()
    keys = hiu.expect(transaction_id, expiry=key_expiry or now + timedelta(hours=1))
    request_id = gateway.health_information_request(
        consent_id,
        date_from or now - timedelta(days=7),
        date_to or now + timedelta(days=1),
        hiu.push_url,
        keys,
        transaction_id=transaction_id,
    )
    exchange(client, gateway)
    assert on_request(gateway, transaction_id)["response"]["requestId"] == request_id
    return transaction_id


def on_request(gateway: FakeAbdmGateway, transaction_id: str) -> dict[str, Any]:
    """Our one on-request answer to the transaction."""
    (answer,) = [
        body
        for body in gateway.answers("/health-information/hip/on-request")
        if body["hiRequest"]["transactionId"] == transaction_id
    ]
    return answer
