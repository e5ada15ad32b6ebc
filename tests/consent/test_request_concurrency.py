"""Simultaneous confirmations of one consent request, with real threads and commits on MariaDB:
the consents are granted once."""

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Settings
from Consent_module.models import ConsentGrant
from Consent_module.Request.models import ConsentRequest
from tests.support.consent import ask, confirm, consent_sms
from tests.support.factories.consent import make_consent_type
from tests.support.factories.member import make_member
from tests.support.http import assert_error, new_client
from tests.support.login import login
from tests.support.races import all_at_once

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


def test_a_confirmation_racing_a_new_request_neither_deadlocks_nor_half_grants(
    committing: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    client = new_client()
    me = login(client, "+919876571003")
    phone = "+919876571004"
    with Session(committing) as session:
        code = make_consent_type(session).code
        member_id = make_member(session, me.user_id, phone=phone).id
        session.commit()
    for _ in range(3):
        asked = ask(client, me.headers, member_id, [code])
        assert asked.status_code == 201, asked.text
        sms = consent_sms(phone)

        confirmed, replaced = all_at_once(
            [
                lambda s=sms: confirm(new_client(), s.token, s.code),
                lambda: ask(new_client(), me.headers, member_id, [code]),
            ]
        )

        assert replaced.status_code == 201, replaced.text
        with Session(committing) as session:
            first = session.get(ConsentRequest, asked.json()["id"])
            assert first is not None
            granted = session.scalar(
                select(func.count()).where(ConsentGrant.consent_request_id == first.id)
            )
        if confirmed.status_code == 200:  # the confirmation went first
            assert (first.status, granted) == ("confirmed", 1)
        else:  # the new request replaced it first
            assert_error(confirmed, 409, "consent_request_closed")
            assert (first.status, granted) == ("superseded", 0)
