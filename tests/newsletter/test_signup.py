"""Signing up over HTTP as the website does: the one 202 answer, the double opt-in e-mail (its
links and one-click headers, checked at the SMTP server), the pages behind its links, the
consent a confirmation records, and one-click unsubscribing."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from core import clock
from Newsletter_module.consent import CONSENT_TEXT_VERSION
from Newsletter_module.models import NewsletterSubscription, SubscriptionStatus
from Notification_module.models import DeliveryStatus, NotificationEvent
from tests.fakes.smtp import FakeSmtpServer
from tests.newsletter.mailbox import (
    PUBLIC_API_URL,
    path_of,
    press_confirm,
    subscribe,
    the_confirmation,
    use_public_url,
)
from tests.support.notification import outbox

ADDRESS = "asha.rao@example.com"


@pytest.fixture(autouse=True)
def public_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_public_url(settings, monkeypatch)


def subscription(db: Session, address: str = ADDRESS) -> NewsletterSubscription | None:
    db.expire_all()
    return db.scalar(select(NewsletterSubscription).where(NewsletterSubscription.email == address))


def test_the_confirmation_email_has_signed_absolute_links_and_one_click_headers(
    client: TestClient, smtp_settings: FakeSmtpServer
) -> None:
    body = subscribe(client, "Asha.Rao@Example.com")

    assert set(body) == {"message"}
    email = the_confirmation(smtp_settings, ADDRESS)
    message = email.message
    assert message["To"] == ADDRESS
    assert message["Subject"] == "Confirm your Nucleotide newsletter subscription"
    assert email.confirm_url.startswith(f"{PUBLIC_API_URL}/newsletter/confirm?token=")
    assert email.unsubscribe_url.startswith(f"{PUBLIC_API_URL}/newsletter/unsubscribe?token=")
    # RFC 8058: the https unsubscribe URL in angle brackets, and the one-click marker.
    assert message["List-Unsubscribe"].strip() == f"<{email.unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "7 days" in email.text
    assert f'href="{email.confirm_url}">Confirm my subscription</a>' in email.html
    assert f'href="{email.unsubscribe_url}">Unsubscribe</a>' in email.html
    assert ADDRESS not in email.confirm_url + email.unsubscribe_url  # the tokens hide it


def test_once_sent_the_outbox_keeps_no_link(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ADDRESS)
    email = the_confirmation(smtp_settings, ADDRESS)

    [row] = outbox(db, NotificationEvent.NEWSLETTER_CONFIRMATION)
    assert row.status == DeliveryStatus.SENT and row.user_id is None
    assert row.body == row.title and row.html is None and row.headers is None
    assert email.confirm_token not in repr(row.payload)


def test_opening_the_link_subscribes_no_one(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    """Mail scanners open links: the page only shows what is agreed to and a button."""
    subscribe(client, ADDRESS)
    email = the_confirmation(smtp_settings, ADDRESS)

    for _ in range(2):
        page = client.get(path_of(email.confirm_url))
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<form method="post"' in page.text and "Confirm my subscription" in page.text
        assert "a*******@example.com" in page.text and ADDRESS not in page.text

    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.PENDING
    assert found.confirmed_at is None


def test_the_button_subscribes_and_records_the_consent(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ADDRESS)
    email = the_confirmation(smtp_settings, ADDRESS)

    page = press_confirm(client, email)

    assert "You are subscribed" in page
    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.CONFIRMED
    assert found.confirmed_at is not None
    assert found.consent_ip == "testclient"  # the test client's address
    assert found.consent_text_version == CONSENT_TEXT_VERSION
    assert found.user_id is None  # nobody was logged in
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "newsletter.confirmed"))
    assert entry is not None and entry.entity_id == str(found.id)
    assert entry.changes == {"consent_text_version": CONSENT_TEXT_VERSION, "account_linked": False}


def test_the_pages_are_locked_down(client: TestClient, smtp_settings: FakeSmtpServer) -> None:
    subscribe(client, ADDRESS)
    email = the_confirmation(smtp_settings, ADDRESS)

    for url in (email.confirm_url, email.unsubscribe_url):
        page = client.get(path_of(url))
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "form-action 'self'" in policy and "<script" not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "http" not in page.text.replace(url, "")  # no external asset, no other link


def test_a_confirmation_link_works_for_seven_days(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent_at = clock.utcnow()
    monkeypatch.setattr(clock, "frozen", sent_at)
    subscribe(client, ADDRESS)
    email = the_confirmation(smtp_settings, ADDRESS)

    monkeypatch.setattr(clock, "frozen", sent_at + timedelta(days=7, seconds=1))
    for method in ("GET", "POST"):
        page = client.request(method, path_of(email.confirm_url))
        assert page.status_code == 400
        assert "This link does not work" in page.text
    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.PENDING

    monkeypatch.setattr(clock, "frozen", sent_at + timedelta(days=6, hours=23))
    assert "You are subscribed" in press_confirm(client, email)


@pytest.mark.parametrize(
    "forge",
    [
        lambda email: email.unsubscribe_url.replace("/unsubscribe?", "/confirm?"),
        lambda email: email.confirm_url.replace("?token=", "?token=1"),
        lambda email: email.confirm_url[:-1] + ("A" if email.confirm_url[-1] != "A" else "B"),
        lambda email: email.confirm_url.split("?")[0],
        lambda email: email.confirm_url.split("?")[0] + "?token=<script>",
    ],
    ids=["other purpose", "other subscription", "changed signature", "no token", "junk"],
)
def test_a_link_that_was_not_signed_for_it_does_nothing(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer, forge: object
) -> None:
    subscribe(client, ADDRESS)
    email = the_confirmation(smtp_settings, ADDRESS)
    forged = forge(email)  # type: ignore[operator]

    for method in ("GET", "POST"):
        page = client.request(method, path_of(forged))
        assert page.status_code == 400, page.text
        assert "This link does not work" in page.text and "<script>" not in page.text
    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.PENDING


def test_one_click_unsubscribe_needs_no_login(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ADDRESS)
    email = the_confirmation(smtp_settings, ADDRESS)
    press_confirm(client, email)

    page = client.get(path_of(email.unsubscribe_url))  # opening it changes nothing
    assert page.status_code == 200 and "Unsubscribe" in page.text
    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.CONFIRMED

    # What a mail client does with the List-Unsubscribe-Post header (RFC 8058): a form POST
    # of `List-Unsubscribe=One-Click` to the header's URL, no cookie, no login.
    header_url = email.message["List-Unsubscribe"].strip()[1:-1]
    done = client.post(path_of(header_url), data={"List-Unsubscribe": "One-Click"})

    assert done.status_code == 200 and "You are unsubscribed" in done.text
    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.UNSUBSCRIBED
    assert found.unsubscribed_at is not None
    again = client.post(path_of(header_url), data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200  # the same answer the second time
    entries = db.scalars(select(AuditLog).where(AuditLog.action == "newsletter.unsubscribed"))
    assert [entry.changes for entry in entries] == [{"via": "link"}]


def test_the_confirmation_itself_can_be_unsubscribed_from(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    """Someone who never asked presses Unsubscribe in the confirmation e-mail."""
    subscribe(client, ADDRESS)
    email = the_confirmation(smtp_settings, ADDRESS)

    done = client.post(path_of(email.unsubscribe_url))

    assert done.status_code == 200
    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.UNSUBSCRIBED
    assert found.confirmed_at is None


def test_resubscribing_after_unsubscribing_takes_a_new_confirmation(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    subscribe(client, ADDRESS)
    first = the_confirmation(smtp_settings, ADDRESS)
    press_confirm(client, first)
    client.post(path_of(first.unsubscribe_url))

    subscribe(client, ADDRESS)
    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.UNSUBSCRIBED
    second = the_confirmation(smtp_settings, ADDRESS)
    assert second.unsubscribe_url == first.unsubscribe_url  # one address, one unsubscribe link
    assert "You are subscribed" in press_confirm(client, second)
    found = subscription(db)
    assert found is not None and found.status == SubscriptionStatus.CONFIRMED
    assert found.unsubscribed_at is None
