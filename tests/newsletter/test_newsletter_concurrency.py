"""The newsletter under real concurrency (MariaDB, real commits, threads): first sign-ups of
one address at once make one row (and each its e-mail); one account confirming two addresses
at once keeps one subscription."""

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings
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


def test_one_account_confirming_two_addresses_at_once_keeps_one_subscription(
    committing: Engine, smtp_settings: FakeSmtpServer
) -> None:
    client = new_client()
    asha = login(client, "+919876590031")
    addresses = ["asha@home.example.com", "asha@work.example.com"]
    for address in addresses:
        answer = client.post("/newsletter/subscribe", json={"email": address}, headers=asha.headers)
        assert answer.status_code == 202, answer.text
    links = [path_of(the_confirmation(smtp_settings, address).confirm_url) for address in addresses]
    clients = [new_client() for _ in links]

    answers = all_at_once(
        [(lambda c=c, link=link: c.post(link)) for c, link in zip(clients, links, strict=True)]
    )

    assert [answer.status_code for answer in answers] == [200, 200], [a.text for a in answers]
    with Session(committing) as session:
        rows = list(session.scalars(select(NewsletterSubscription)))
    linked = [row for row in rows if row.user_id == asha.user_id]
    assert len(linked) == 1 and linked[0].status == SubscriptionStatus.CONFIRMED
    [other] = [row for row in rows if row.user_id is None]
    assert other.status == SubscriptionStatus.UNSUBSCRIBED  # moved to the one confirmed last
    mine = client.get("/newsletter/me", headers=asha.headers).json()
    assert mine["email"] == linked[0].email and mine["subscribed"] is True
