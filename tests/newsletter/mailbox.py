"""Reading the newsletter's e-mails off the local SMTP server, as the subscriber would, and
following their links the way a browser or a mail client does."""

import re
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from config import Settings
from tests.fakes.smtp import FakeSmtpServer
from tests.support.notification import deliver

PUBLIC_API_URL = "https://api.nucleotide.example"
URL = re.compile(r"https://api\.nucleotide\.example/newsletter/[a-z]+\?token=[A-Za-z0-9._%-]+")


@dataclass
class ConfirmationEmail:
    message: EmailMessage
    text: str
    html: str
    confirm_url: str
    unsubscribe_url: str

    @property
    def confirm_token(self) -> str:
        return token_of(self.confirm_url)

    @property
    def unsubscribe_token(self) -> str:
        return token_of(self.unsubscribe_url)


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def path_of(url: str) -> str:
    """The link as the test client requests it (same path and query, on the test server)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def use_public_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "PUBLIC_API_URL", PUBLIC_API_URL)


def confirmation_emails(smtp: FakeSmtpServer, address: str) -> list[ConfirmationEmail]:
    """Every confirmation e-mail `address` received (the delivery job runs first)."""
    deliver()
    found = []
    for message in smtp.messages_to(address):
        text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
        assert text_part is not None and html_part is not None
        text, html = text_part.get_content(), html_part.get_content()
        confirm, unsubscribe = URL.findall(text)
        assert "/newsletter/confirm?" in confirm and "/newsletter/unsubscribe?" in unsubscribe
        found.append(ConfirmationEmail(message, text, html, confirm, unsubscribe))
    return found


def the_confirmation(smtp: FakeSmtpServer, address: str) -> ConfirmationEmail:
    """The one confirmation e-mail `address` received since the last check."""
    [email] = confirmation_emails(smtp, address)
    smtp.received[:] = [mail for mail in smtp.received if address not in mail.rcpt_tos]
    return email


def subscribe(
    client: TestClient, address: str, headers: dict[str, str] | None = None
) -> dict[str, str]:
    response = client.post("/newsletter/subscribe", json={"email": address}, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()


def press_confirm(client: TestClient, email: ConfirmationEmail) -> str:
    """Open the link, then press the page's button (as a person does); the page's text."""
    page = client.get(path_of(email.confirm_url))
    assert page.status_code == 200, page.text
    done = client.post(path_of(email.confirm_url))
    assert done.status_code == 200, done.text
    return done.text
