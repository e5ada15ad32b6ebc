"""A logged-in customer's newsletter: the sign-up links the account once it is confirmed from
the mailbox, `GET|PUT /newsletter/me`, and what an account can never learn about an address
it does not hold."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from Newsletter_module.models import NewsletterSubscription, SubscriptionStatus
from tests.fakes.smtp import FakeSmtpServer
from tests.newsletter.mailbox import (
    confirmation_emails,
    press_confirm,
    subscribe,
    the_confirmation,
    use_public_url,
)
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login

ASHA = "asha.rao@example.com"
WORK = "asha@work.example.com"
NOBODY = {
    "subscribed": False,
    "email": None,
    "confirmed_at": None,
    "unsubscribed_at": None,
    "consent_text_version": None,
}


@pytest.fixture(autouse=True)
def public_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_public_url(settings, monkeypatch)


@pytest.fixture
def asha(client: TestClient) -> LoggedIn:
    return login(client, "+919876590001")


def me(client: TestClient, user: LoggedIn) -> dict:
    response = client.get("/newsletter/me", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def put_me(client: TestClient, user: LoggedIn, **body: object) -> dict:
    response = client.put("/newsletter/me", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def rows(db: Session) -> dict[str, NewsletterSubscription]:
    db.expire_all()
    return {row.email: row for row in db.scalars(select(NewsletterSubscription))}


def test_a_logged_in_sign_up_is_linked_once_confirmed(
    client: TestClient, asha: LoggedIn, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ASHA, asha.headers)
    assert me(client, asha) == NOBODY  # nothing is linked before the mailbox says yes

    press_confirm(client, the_confirmation(smtp_settings, ASHA))

    mine = me(client, asha)
    assert mine["subscribed"] is True and mine["email"] == ASHA
    assert mine["confirmed_at"] and mine["consent_text_version"]
    assert rows(db)[ASHA].user_id == asha.user_id
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "newsletter.confirmed"))
    assert entry is not None and entry.actor_user_id == asha.user_id


def test_turning_it_off_unsubscribes_at_once(
    client: TestClient, asha: LoggedIn, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ASHA, asha.headers)
    press_confirm(client, the_confirmation(smtp_settings, ASHA))

    answer = put_me(client, asha, subscribed=False)

    assert answer["subscribed"] is False and answer["email"] == ASHA
    assert answer["unsubscribed_at"] and answer["confirmation_sent"] is False
    assert rows(db)[ASHA].status == SubscriptionStatus.UNSUBSCRIBED
    assert me(client, asha)["subscribed"] is False
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "newsletter.unsubscribed"))
    assert entry is not None and entry.actor_user_id == asha.user_id
    assert entry.changes == {"via": "account"}
    assert confirmation_emails(smtp_settings, ASHA) == []  # no e-mail about it


def test_turning_it_on_sends_a_confirmation_to_my_profile_address(
    client: TestClient, asha: LoggedIn, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    profile = client.put("/profile", json={"email": ASHA}, headers=asha.headers)
    assert profile.status_code == 200, profile.text

    answer = put_me(client, asha, subscribed=True)

    assert answer == {**NOBODY, "confirmation_sent": True}
    press_confirm(client, the_confirmation(smtp_settings, ASHA))
    assert me(client, asha)["subscribed"] is True
    # On again while subscribed: nothing to do, no e-mail.
    assert put_me(client, asha, subscribed=True)["confirmation_sent"] is False
    assert confirmation_emails(smtp_settings, ASHA) == []


def test_turning_it_on_without_any_address_is_refused(
    client: TestClient, asha: LoggedIn, db: Session
) -> None:
    response = client.put("/newsletter/me", json={"subscribed": True}, headers=asha.headers)

    assert_error(response, 422, "newsletter_email_required")
    assert rows(db) == {}


def test_the_newsletter_moves_to_a_new_address_once_that_one_confirms(
    client: TestClient, asha: LoggedIn, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ASHA, asha.headers)
    press_confirm(client, the_confirmation(smtp_settings, ASHA))

    answer = put_me(client, asha, subscribed=True, email=WORK)
    assert answer["email"] == ASHA and answer["confirmation_sent"] is True
    assert me(client, asha)["email"] == ASHA  # until the new address confirms
    press_confirm(client, the_confirmation(smtp_settings, WORK))

    assert me(client, asha)["email"] == WORK
    found = rows(db)
    assert found[WORK].user_id == asha.user_id
    assert found[WORK].status == SubscriptionStatus.CONFIRMED
    assert (found[ASHA].user_id, found[ASHA].status) == (None, SubscriptionStatus.UNSUBSCRIBED)


def test_an_account_learns_nothing_about_an_address_it_does_not_hold(
    client: TestClient, asha: LoggedIn, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    """Someone else's subscribed address, signed up for from another account: the same 202,
    and that account's /newsletter/me, export and audit trail say nothing of it."""
    owner = login(client, "+919876590002")
    subscribe(client, ASHA, owner.headers)
    press_confirm(client, the_confirmation(smtp_settings, ASHA))
    intruder = login(client, "+919876590003")

    first = client.post("/newsletter/subscribe", json={"email": ASHA}, headers=intruder.headers)
    fresh = client.post(
        "/newsletter/subscribe", json={"email": "nobody@example.com"}, headers=intruder.headers
    )

    assert (first.status_code, first.json()) == (fresh.status_code, fresh.json())
    assert me(client, intruder) == NOBODY
    export = client.get("/profile/export", headers=intruder.headers).json()
    assert "newsletter" not in repr(export["audit_trail"])
    assert ASHA not in repr(export)
    found = rows(db)[ASHA]
    assert (found.user_id, found.status) == (owner.user_id, SubscriptionStatus.CONFIRMED)
    # The owner's mailbox got the neutral confirmation: ignoring it changes nothing.
    assert "If you are subscribed already, there is nothing to do." in (
        the_confirmation(smtp_settings, ASHA).text
    )


def test_a_bad_token_on_the_public_form_is_refused_not_ignored(client: TestClient) -> None:
    response = client.post(
        "/newsletter/subscribe",
        json={"email": ASHA},
        headers={"Authorization": "Bearer not-a-token"},
    )

    assert_error(response, 401, "token_invalid")
