"""The newsletter in the account's export and erasure, and the purge of sign-ups nobody
confirmed while their link worked."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from core import clock
from Newsletter_module.consent import CONSENT_TEXT_VERSION
from Newsletter_module.jobs import purge_unconfirmed_sign_ups_job
from Newsletter_module.models import NewsletterSubscription, SubscriptionStatus
from Notification_module.models import NotificationEvent
from tests.fakes.smtp import FakeSmtpServer
from tests.newsletter.mailbox import (
    path_of,
    press_confirm,
    subscribe,
    the_confirmation,
    use_public_url,
)
from tests.support.login import LoggedIn, login, request_code
from tests.support.notification import outbox

ASHA = "asha.rao@example.com"
OTHER = "someone.else@example.com"


@pytest.fixture(autouse=True)
def public_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_public_url(settings, monkeypatch)
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


@pytest.fixture
def asha(client: TestClient) -> LoggedIn:
    return login(client, "+919876590021")


def addresses(db: Session) -> dict[str, NewsletterSubscription]:
    db.expire_all()
    return {row.email: row for row in db.scalars(select(NewsletterSubscription))}


def erase(client: TestClient, user: LoggedIn) -> dict:
    code = request_code(client, user.phone)
    response = client.request("DELETE", "/profile", json={"otp": code}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_export_lists_my_subscription_and_its_consent(
    client: TestClient, asha: LoggedIn, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ASHA, asha.headers)
    press_confirm(client, the_confirmation(smtp_settings, ASHA))

    [mine] = client.get("/profile/export", headers=asha.headers).json()["newsletter"]

    assert mine["email"] == ASHA and mine["status"] == "confirmed"
    assert mine["consent_ip"] == "testclient" and mine["confirmed_at"]
    assert mine["consent_text_version"] == CONSENT_TEXT_VERSION


def test_erasure_removes_my_address_and_the_sign_ups_i_asked_for(
    client: TestClient, asha: LoggedIn, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ASHA, asha.headers)
    confirmed = the_confirmation(smtp_settings, ASHA)
    press_confirm(client, confirmed)
    subscribe(client, "typo.asha@example.com", asha.headers)  # never confirmed
    stale = the_confirmation(smtp_settings, "typo.asha@example.com")
    # Someone else's subscription that Asha also asked for stays theirs.
    subscribe(client, OTHER)
    press_confirm(client, the_confirmation(smtp_settings, OTHER))
    subscribe(client, OTHER, asha.headers)
    the_confirmation(smtp_settings, OTHER)

    summary = erase(client, asha)

    assert summary["newsletter_subscriptions_erased"] == 2
    left = addresses(db)
    assert set(left) == {OTHER}
    assert left[OTHER].status == SubscriptionStatus.CONFIRMED
    assert left[OTHER].requested_by_user_id is None  # Asha is forgotten as its asker
    recipients = {row.recipient for row in outbox(db, NotificationEvent.NEWSLETTER_CONFIRMATION)}
    assert recipients == {OTHER}  # the e-mails to the erased addresses went with them
    for url in (confirmed.unsubscribe_url, stale.confirm_url):
        assert client.get(path_of(url)).status_code == 400  # their links died with them


def test_a_confirmation_asked_for_by_an_account_erased_since_links_nothing(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    """The address was confirmed by its owner before; the erased account's link is dead."""
    subscribe(client, ASHA)
    press_confirm(client, the_confirmation(smtp_settings, ASHA))
    erased = login(client, "+919876590022")
    subscribe(client, ASHA, erased.headers)
    email = the_confirmation(smtp_settings, ASHA)
    erase(client, erased)

    assert "You are subscribed" in press_confirm(client, email)
    assert addresses(db)[ASHA].user_id is None


def test_sign_ups_nobody_confirmed_are_purged_once_their_link_has_expired(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = clock.utcnow()
    monkeypatch.setattr(clock, "frozen", start)
    subscribe(client, "old@example.com")
    subscribe(client, ASHA)
    press_confirm(client, the_confirmation(smtp_settings, ASHA))
    monkeypatch.setattr(clock, "frozen", start + timedelta(days=6))
    subscribe(client, "recent@example.com")

    monkeypatch.setattr(clock, "frozen", start + timedelta(days=7, minutes=1))
    assert purge_unconfirmed_sign_ups_job() == 1

    assert set(addresses(db)) == {ASHA, "recent@example.com"}
    assert "old@example.com" not in {row.recipient for row in outbox(db)}
    assert purge_unconfirmed_sign_ups_job() == 0
