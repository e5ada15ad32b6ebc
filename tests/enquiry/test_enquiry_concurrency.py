"""Enquiry references under real concurrency (MariaDB, real commits, threads): enquiries sent at
once get consecutive references, none repeated; one that fails after taking its number gives
it back, and a honeypot takes none."""

from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
from Enquiry_module import service as enquiry_service
from Enquiry_module.models import Enquiry, EnquiryCounter
from tests.support.enquiry import enquiry_form
from tests.support.http import new_client
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency

PEOPLE = 20
BOTS = 4
FAILING = 3


def test_enquiries_sent_at_once_get_consecutive_references_without_gaps(
    committing: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ENQUIRY_MAX_PER_IP_PER_HOUR", 1000)
    real_notify = enquiry_service.notify_email

    def outbox_fails_for_some(db: Session, event: Any, address: str, *args: Any, **kw: Any) -> Any:
        if address.startswith("fails"):
            raise RuntimeError("this enquiry's transaction fails after its number was taken")
        return real_notify(db, event, address, *args, **kw)

    monkeypatch.setattr(enquiry_service, "notify_email", outbox_fails_for_some)
    forms = (
        [
            enquiry_form(phone=f"+91987656{n:04d}", email=f"lead{n}@example.com")
            for n in range(PEOPLE)
        ]
        + [
            enquiry_form(phone=f"+91987657{n:04d}", email=f"bot{n}@example.com", website="x")
            for n in range(BOTS)
        ]
        + [
            enquiry_form(phone=f"+91987658{n:04d}", email=f"fails{n}@example.com")
            for n in range(FAILING)
        ]
    )
    clients = [new_client() for _ in forms]
    answers = all_at_once(
        [
            (lambda c=c, f=f: c.post("/enquiries", json=f))
            for c, f in zip(clients, forms, strict=True)
        ]
    )

    # A transaction InnoDB picks as a deadlock victim is answered 503 try_again with nothing
    # changed, and the API's clients send it again: so does this one (what is checked below,
    # consecutive references with none repeated or lost, holds whatever the retries).
    for index, answer in enumerate(answers):
        for _ in range(2):
            if answer.status_code != 503 or answer.json().get("code") != "try_again":
                break
            answer = answers[index] = clients[index].post("/enquiries", json=forms[index])
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201] * (PEOPLE + BOTS) + [500] * FAILING, [a.text for a in answers]
    with Session(committing) as session:
        stored = list(session.scalars(select(Enquiry).order_by(Enquiry.seq)))
        counters = list(session.scalars(select(EnquiryCounter)))
    year = stored[0].year
    assert [enquiry.seq for enquiry in stored] == list(range(1, PEOPLE + 1))
    assert [enquiry.reference for enquiry in stored] == [
        f"ENQ-{year}-{n:06d}" for n in range(1, PEOPLE + 1)
    ]
    assert [(counter.year, counter.last_seq) for counter in counters] == [(year, PEOPLE)]
    # Each person was told the reference stored for their enquiry.
    told = {answer.json()["reference"] for answer in answers[:PEOPLE]}
    assert told == {enquiry.reference for enquiry in stored}
    assert {enquiry.email for enquiry in stored} == {f"lead{n}@example.com" for n in range(PEOPLE)}
