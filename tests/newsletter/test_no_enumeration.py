"""No way to learn whether an address is subscribed from the sign-up: whatever the address's
state, the answer is the same (status, body, headers), the same statements run (so the same
work, and no timing to tell them apart), the same e-mail is queued, and nothing a caller can
read back changes. The limits count every address alike."""

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from main import app
from Newsletter_module.models import NewsletterSubscription
from Notification_module.models import NotificationEvent
from tests.fakes.smtp import FakeSmtpServer
from tests.newsletter.mailbox import (
    path_of,
    press_confirm,
    subscribe,
    the_confirmation,
    use_public_url,
)
from tests.support.database import counting_statements
from tests.support.http import assert_error
from tests.support.notification import outbox

PER_IP = 5
PER_ADDRESS = 3
# Headers that differ on every answer, whoever asks.
VOLATILE = {"x-request-id", "date"}


@pytest.fixture(autouse=True)
def public_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_public_url(settings, monkeypatch)


def new(client: TestClient, smtp: FakeSmtpServer, address: str) -> None:
    """Never seen."""


def waiting(client: TestClient, smtp: FakeSmtpServer, address: str) -> None:
    subscribe(client, address)
    the_confirmation(smtp, address)


def confirmed(client: TestClient, smtp: FakeSmtpServer, address: str) -> None:
    subscribe(client, address)
    press_confirm(client, the_confirmation(smtp, address))


def unsubscribed(client: TestClient, smtp: FakeSmtpServer, address: str) -> None:
    subscribe(client, address)
    email = the_confirmation(smtp, address)
    press_confirm(client, email)
    assert client.post(path_of(email.unsubscribe_url)).status_code == 200


STATES: dict[str, Callable[[TestClient, FakeSmtpServer, str], None]] = {
    "new": new,
    "waiting": waiting,
    "confirmed": confirmed,
    "unsubscribed": unsubscribed,
}
TOKEN = re.compile(r"token=[A-Za-z0-9._%-]+")


def shape(statement: str) -> str:
    """A statement without its literal values and numbers (ids, keys, savepoints)."""
    return re.sub(r"'[^']*'|\d+", "?", statement)


def test_the_sign_up_looks_the_same_whatever_the_address_state(
    client: TestClient,
    db: Session,
    smtp_settings: FakeSmtpServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR", 100)
    seen = {}
    for state, prepare in STATES.items():
        address = f"{state}@example.com"
        prepare(client, smtp_settings, address)
        db.expire_all()
        before = db.scalar(
            select(NewsletterSubscription).where(NewsletterSubscription.email == address)
        )
        snapshot = None if before is None else (before.status, before.user_id, before.confirmed_at)

        with counting_statements() as statements:
            response = client.post("/newsletter/subscribe", json={"email": address})

        db.expire_all()
        after = db.scalar(
            select(NewsletterSubscription).where(NewsletterSubscription.email == address)
        )
        assert after is not None
        if snapshot is not None:  # the state moves only with a button behind a link
            assert (after.status, after.user_id, after.confirmed_at) == snapshot
        [queued] = [
            row
            for row in outbox(db, NotificationEvent.NEWSLETTER_CONFIRMATION)
            if row.recipient == address and row.status.value == "pending"
        ]
        seen[state] = (
            response.status_code,
            response.content,
            sorted((k, v) for k, v in response.headers.items() if k not in VOLATILE),
            [shape(statement) for statement in statements],
            (queued.title, TOKEN.sub("token=", queued.body.replace(address, "@"))),
            sorted(queued.headers or {}),
        )
        assert response.status_code == 202

    first, *others = seen.values()
    for state, observed in zip(list(STATES)[1:], others, strict=True):
        assert observed == first, f"the sign-up of a {state} address differs from a new one's"


def client_at(ip: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(ip, 50000))


def test_five_sign_ups_an_hour_from_one_address_ip(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    for number in range(PER_IP):
        subscribe(client, f"reader{number}@example.com")

    refused = client.post("/newsletter/subscribe", json={"email": "one-more@example.com"})

    body = assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) > 0 and body["details"] == []
    assert (
        db.scalar(
            select(NewsletterSubscription).where(
                NewsletterSubscription.email == "one-more@example.com"
            )
        )
        is None
    )
    assert len(outbox(db, NotificationEvent.NEWSLETTER_CONFIRMATION)) == PER_IP
    elsewhere = client_at("203.0.113.9")
    assert (
        elsewhere.post("/newsletter/subscribe", json={"email": "x@example.com"}).status_code == 202
    )


@pytest.mark.parametrize("state", ["new", "confirmed"])
def test_three_confirmation_emails_a_day_to_one_address_whoever_asks(
    client: TestClient,
    db: Session,
    smtp_settings: FakeSmtpServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    state: str,
) -> None:
    """A mailbox cannot be flooded from many IPs; and the limit is the same for every state."""
    address = "flooded@example.com"
    STATES[state](client, smtp_settings, address)
    sent = len(outbox(db, NotificationEvent.NEWSLETTER_CONFIRMATION))
    asked = sent

    for number in range(PER_ADDRESS - sent):
        answer = client_at(f"198.51.100.{number + 1}").post(
            "/newsletter/subscribe", json={"email": address.upper()}
        )
        assert answer.status_code == 202
        asked += 1
    refused = client_at("198.51.100.99").post("/newsletter/subscribe", json={"email": address})

    assert asked == PER_ADDRESS
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) > 3600  # a day's window
    assert len(outbox(db, NotificationEvent.NEWSLETTER_CONFIRMATION)) == PER_ADDRESS
