"""The newsletter under real concurrency (MariaDB, real commits, threads): first sign-ups of
one address at once make one row (and each its e-mail); one account confirming two addresses
at once keeps one subscription."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from config import Settings
from Newsletter_module import service
from Newsletter_module.models import NewsletterSubscription, SubscriptionStatus
from Notification_module.models import Notification, NotificationEvent
from tests.fakes.smtp import FakeSmtpServer
from tests.newsletter.mailbox import path_of, the_confirmation, use_public_url
from tests.support.http import new_client
from tests.support.login import login
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency

RACERS = 8
ADDRESS = "racing@example.com"


@pytest.fixture(autouse=True)
def public_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_public_url(settings, monkeypatch)
    monkeypatch.setattr(settings, "NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR", 100)
    monkeypatch.setattr(settings, "NEWSLETTER_SUBSCRIBES_PER_ADDRESS_PER_DAY", 100)


def test_first_sign_ups_of_one_address_at_once_make_one_row(committing: Engine) -> None:
    clients = [new_client() for _ in range(RACERS)]

    answers = all_at_once(
        [(lambda c=c: c.post("/newsletter/subscribe", json={"email": ADDRESS})) for c in clients]
    )

    assert [answer.status_code for answer in answers] == [202] * RACERS, [
        answer.text for answer in answers
    ]
    assert len({answer.content for answer in answers}) == 1
    with Session(committing) as session:
        [row] = session.scalars(select(NewsletterSubscription))
        mails = session.scalars(
            select(Notification).where(
                Notification.event == NotificationEvent.NEWSLETTER_CONFIRMATION
            )
        ).all()
    assert (row.email, row.status) == (ADDRESS, SubscriptionStatus.PENDING)
    assert [mail.recipient for mail in mails] == [ADDRESS] * RACERS


def waits_for_the_account_lock(engine: Engine, timeout: float = 5.0) -> bool:
    """Whether a statement taking a user's row lock is seen still running (waiting) twice,
    a tenth of a second apart, within `timeout` seconds."""
    query = text(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE id <> CONNECTION_ID() AND command = 'Query' "
        "AND info LIKE '%FROM users%FOR UPDATE%'"
    )
    deadline, seen = time.monotonic() + timeout, 0
    with engine.connect() as watcher:
        while time.monotonic() < deadline and seen < 2:
            seen = seen + 1 if watcher.execute(query).scalar() else 0
            watcher.rollback()
            time.sleep(0.1)
    return seen >= 2


def test_one_account_confirming_two_addresses_at_once_keeps_one_subscription(
    committing: Engine, smtp_settings: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first confirmation is held open right after linking the account; the second waits
    for it (the account's row lock), then moves the subscription to its address."""
    client = new_client()
    asha = login(client, "+919876590031")
    addresses = ["asha@home.example.com", "asha@work.example.com"]
    for address in addresses:
        answer = client.post("/newsletter/subscribe", json={"email": address}, headers=asha.headers)
        assert answer.status_code == 202, answer.text
    home, work = (path_of(the_confirmation(smtp_settings, a).confirm_url) for a in addresses)
    linked, release = threading.Event(), threading.Event()
    link = service._link

    def held_open(db: Session, subscription: NewsletterSubscription, user_id: int | None) -> Any:
        account = link(db, subscription, user_id)
        if not linked.is_set():
            linked.set()
            release.wait(10)
        return account

    monkeypatch.setattr(service, "_link", held_open)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(new_client().post, home)
        assert linked.wait(10)
        second = pool.submit(new_client().post, work)
        waited = waits_for_the_account_lock(committing)
        release.set()
        answers = [first.result(), second.result()]

    assert waited, "the second confirmation did not wait for the first"
    assert [answer.status_code for answer in answers] == [200, 200], [a.text for a in answers]
    with Session(committing) as session:
        rows = {row.email: row for row in session.scalars(select(NewsletterSubscription))}
    assert (rows[addresses[1]].user_id, rows[addresses[1]].status) == (
        asha.user_id,
        SubscriptionStatus.CONFIRMED,
    )
    assert (rows[addresses[0]].user_id, rows[addresses[0]].status) == (
        None,
        SubscriptionStatus.UNSUBSCRIBED,  # moved to the address confirmed last
    )
    mine = client.get("/newsletter/me", headers=asha.headers).json()
    assert (mine["email"], mine["subscribed"]) == (addresses[1], True)
