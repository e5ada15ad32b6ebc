"""Simultaneous confirmations of one consent request, with real threads and commits on MariaDB:
the consents are granted once."""

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from Consent_module.models import ConsentGrant
from Consent_module.Request.models import ConsentRequest
from tests.consent.factories import make_consent_type
from tests.consent.support import ask, confirm, consent_sms
from tests.helpers import all_at_once, login
from tests.members.factories import make_member
from tests.orders.support import new_client

pytestmark = pytest.mark.concurrency

PARTNER = "+919876571002"


def test_racing_confirmations_grant_once(committing: Engine) -> None:
    client = new_client()
    me = login(client, "+919876571001")
    with Session(committing) as session:
        codes = [make_consent_type(session).code, make_consent_type(session).code]
        member_id = make_member(session, me.user_id, phone=PARTNER).id
        session.commit()
    asked = ask(client, me.headers, member_id, codes)
    assert asked.status_code == 201, asked.text
    sms = consent_sms(PARTNER)

    answers = all_at_once([lambda: confirm(new_client(), sms.token, sms.code) for _ in range(6)])

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 5, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"consent_request_closed"}
    with Session(committing) as session:
        granted = session.scalar(select(func.count()).where(ConsentGrant.member_id == member_id))
        assert granted == len(codes)
        request = session.get(ConsentRequest, asked.json()["id"])
        assert request is not None and request.status == "confirmed"
