"""The e-mail channel against a real SMTP server on 127.0.0.1 (STARTTLS, AUTH)."""

import socket
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from config import Settings
from Notification_module.channels.email import send_email
from Notification_module.errors import DeliveryError
from Notification_module.models import Channel, Notification, NotificationEvent
from tests.fakes.smtp import FakeSmtpServer
from tests.support.http import free_port

# The local relay's fixtures (until tests/conftest.py registers them for the whole suite).

ADDRESS = "asha@example.com"
SUBJECT = "Your order NUC-1042 is paid"


def order_paid(html: str | None = "<p>We received <b>₹4,999</b> for NUC-1042.</p>") -> Notification:
    return Notification(
        user_id=1,
        event=NotificationEvent.ORDER_PAID,
        channel=Channel.EMAIL,
        recipient=ADDRESS,
        title=SUBJECT,
        body="We received ₹4,999 for NUC-1042.",
        html=html,
        payload={},
    )


def failure(message: Notification) -> DeliveryError:
    """The DeliveryError send_email raises; its reason never quotes the address or subject."""
    with pytest.raises(DeliveryError) as caught:
        send_email(message)
    error = caught.value
    for secret in (ADDRESS, SUBJECT, message.body):
        assert secret not in error.reason
        assert secret not in str(error)
    assert error.__cause__ is None
    return error


def test_the_message_arrives_over_tls_after_auth(smtp_settings: FakeSmtpServer) -> None:
    message_id = send_email(order_paid())

    [received] = smtp_settings.received
    assert received.tls and received.authenticated
    assert received.mail_from == "no-reply@nucleotide.example"
    assert received.rcpt_tos == [ADDRESS]
    [email] = smtp_settings.messages_to(ADDRESS)
    assert email["From"] == "Nucleotide <no-reply@nucleotide.example>"
    assert email["To"] == ADDRESS
    assert email["Subject"] == SUBJECT
    assert email["Date"]
    assert message_id is not None and email["Message-ID"] == message_id
    assert message_id.endswith("@nucleotide.example>")
    assert email.get_content_type() == "multipart/alternative"
    text, html = email.get_body(("plain",)), email.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == "We received ₹4,999 for NUC-1042."
    assert html.get_content().strip() == "<p>We received <b>₹4,999</b> for NUC-1042.</p>"


def test_without_html_it_is_a_text_message(smtp_settings: FakeSmtpServer) -> None:
    send_email(order_paid(html=None))

    [email] = smtp_settings.messages_to(ADDRESS)
    assert email.get_content_type() == "text/plain"
    assert email.get_content().strip() == "We received ₹4,999 for NUC-1042."


def test_each_message_has_its_own_id(smtp_settings: FakeSmtpServer) -> None:
    assert send_email(order_paid()) != send_email(order_paid())
    assert len(smtp_settings.messages_to(ADDRESS)) == 2


def test_a_refused_recipient_is_permanent(smtp_settings: FakeSmtpServer) -> None:
    smtp_settings.refuse_next_recipient(f"550 5.1.1 <{ADDRESS}>: Recipient address rejected")

    error = failure(order_paid())

    assert error.permanent
    assert error.reason == "recipient_refused:550"
    assert smtp_settings.received == []


def test_a_deferred_recipient_is_tried_again(smtp_settings: FakeSmtpServer) -> None:
    smtp_settings.refuse_next_recipient("450 4.2.1 Mailbox busy, try later")

    error = failure(order_paid())

    assert not error.permanent
    assert error.reason == "recipient_refused:450"


def test_a_wrong_password_is_transient(
    smtp_settings: FakeSmtpServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SMTP_PASSWORD", SecretStr("not-the-password"))

    error = failure(order_paid())

    assert (error.reason, error.permanent) == ("auth_failed", False)
    assert smtp_settings.received == []


def test_an_untrusted_certificate_is_refused(
    smtp_settings: FakeSmtpServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the test CA only the system's CAs count: the self-signed relay is not trusted."""
    monkeypatch.setattr(settings, "SMTP_CA_FILE", None)

    error = failure(order_paid())

    assert (error.reason, error.permanent) == ("tls_failed", False)
    assert smtp_settings.received == []


def test_a_server_nobody_listens_on_fails_fast(
    smtp_settings: FakeSmtpServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SMTP_PORT", free_port())
    monkeypatch.setattr(settings, "SMTP_TIMEOUT_SECONDS", 0.5)

    started = time.monotonic()
    error = failure(order_paid())

    assert time.monotonic() - started < 2
    assert (error.reason, error.permanent) == ("connection_failed", False)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung relay)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_server_that_never_answers_times_out(
    smtp_settings: FakeSmtpServer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    silent_port: int,
) -> None:
    monkeypatch.setattr(settings, "SMTP_PORT", silent_port)
    monkeypatch.setattr(settings, "SMTP_TIMEOUT_SECONDS", 0.3)

    started = time.monotonic()
    error = failure(order_paid())

    assert time.monotonic() - started < 2
    assert (error.reason, error.permanent) == ("timeout", False)


def test_email_not_configured(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "SMTP_HOST", None)

    error = failure(order_paid())

    assert (error.reason, error.permanent) == ("email_not_configured", False)


def test_no_address_is_permanent(smtp_settings: FakeSmtpServer) -> None:
    message = order_paid()
    message.recipient = None

    error = failure(message)

    assert (error.reason, error.permanent) == ("no_recipient", True)
    assert smtp_settings.received == []


def test_a_subject_with_a_line_break_is_never_sent(smtp_settings: FakeSmtpServer) -> None:
    """No header injection: a Bcc smuggled into the subject stops the message."""
    message = order_paid()
    message.title = SUBJECT + "\r\nBcc: someone@example.net"

    error = failure(message)

    assert (error.reason, error.permanent) == ("invalid_message", True)
    assert smtp_settings.received == []


def test_the_rows_own_headers_go_out_with_the_message(smtp_settings: FakeSmtpServer) -> None:
    message = order_paid()
    url = "https://api.nucleotide.example/newsletter/unsubscribe?token=abc"
    message.headers = {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }

    send_email(message)

    [email] = smtp_settings.messages_to(ADDRESS)
    # A long field is folded on the wire (after the colon; unfolded, only the space differs).
    assert email["List-Unsubscribe"].strip() == f"<{url}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["Subject"] == SUBJECT


@pytest.mark.parametrize(
    "headers",
    [
        {"To": "someone@example.net"},  # the channel's own: never a second one
        {"List-Unsubscribe": "<https://x.example/u>\r\nBcc: someone@example.net"},
    ],
)
def test_a_row_header_that_would_change_the_message_is_never_sent(
    smtp_settings: FakeSmtpServer, headers: dict[str, str]
) -> None:
    message = order_paid()
    message.headers = headers

    error = failure(message)

    assert (error.reason, error.permanent) == ("invalid_message", True)
    assert smtp_settings.received == []
