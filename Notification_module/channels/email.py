"""The e-mail channel: one message over SMTP (STARTTLS and AUTH as configured)."""

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from config import Settings, get_settings
from Notification_module.errors import DeliveryError
from Notification_module.models import Notification

logger = logging.getLogger("nucleotide.notifications")

SMTP_PERMANENT = 500


def send_email(message: Notification) -> str | None:
    """Send `message` to its recipient; the Message-ID it was sent with (the provider's id)."""
    settings = get_settings()
    if not settings.SMTP_HOST:
        raise DeliveryError("email_not_configured")
    if not message.recipient:
        raise DeliveryError("no_recipient", permanent=True)
    try:
        mime = build_email(message, settings)
    except ValueError:
        # A line break in a header (header injection), or a header the channel sets itself.
        raise DeliveryError("invalid_message", permanent=True) from None
    try:
        with smtplib.SMTP(
            settings.SMTP_HOST, settings.SMTP_PORT, timeout=settings.SMTP_TIMEOUT_SECONDS
        ) as smtp:
            smtp.ehlo()
            if settings.SMTP_STARTTLS:
                smtp.starttls(
                    context=ssl.create_default_context(cafile=settings.SMTP_CA_FILE or None)
                )
                smtp.ehlo()
            if settings.SMTP_USERNAME:
                password = settings.SMTP_PASSWORD
                smtp.login(settings.SMTP_USERNAME, password.get_secret_value() if password else "")
            smtp.send_message(mime, to_addrs=[message.recipient])
    except OSError as exc:  # smtplib's errors are OSErrors too
        error = delivery_error(exc)
        logger.warning("e-mail not sent: %s (%s)", error.reason, type(exc).__name__)
        # Not chained: SMTP replies and smtplib's errors often quote the recipient's address.
        raise error from None
    return mime["Message-ID"]


def build_email(message: Notification, settings: Settings) -> EmailMessage:
    """The MIME message: a text part and, when the notification has one, an HTML alternative."""
    mime = EmailMessage()
    mime["From"] = settings.EMAIL_FROM
    mime["To"] = message.recipient
    mime["Subject"] = message.title
    mime["Date"] = formatdate(usegmt=True)
    # The sender's domain, not this host's name (which make_msgid would look up otherwise).
    sender_domain = parseaddr(settings.EMAIL_FROM)[1].rpartition("@")[2]
    mime["Message-ID"] = make_msgid(domain=sender_domain or None)
    # The row's own fields (List-Unsubscribe...): one the channel has set already is refused
    # (ValueError: the message is invalid), as is a line break in a value.
    for name, value in (message.headers or {}).items():
        if name in mime:
            raise ValueError(f"header {name} is the channel's own")
        mime[name] = value
    mime.set_content(message.body)
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    return mime


def delivery_error(exc: OSError) -> DeliveryError:
    """The short, address-free reason for a failed send, and whether a retry can help."""
    match exc:
        case smtplib.SMTPAuthenticationError():
            return DeliveryError("auth_failed")
        case smtplib.SMTPRecipientsRefused():
            code = min(code for code, _ in exc.recipients.values())
            return DeliveryError(f"recipient_refused:{code}", permanent=code >= SMTP_PERMANENT)
        case smtplib.SMTPSenderRefused():
            code = exc.smtp_code
            return DeliveryError(f"sender_refused:{code}", permanent=code >= SMTP_PERMANENT)
        case smtplib.SMTPDataError():
            code = exc.smtp_code
            return DeliveryError(f"data_refused:{code}", permanent=code >= SMTP_PERMANENT)
        case smtplib.SMTPServerDisconnected() if isinstance(exc.__context__, TimeoutError):
            # smtplib turns a reply that never came into "disconnected".
            return DeliveryError("timeout")
        case smtplib.SMTPServerDisconnected():
            return DeliveryError("server_disconnected")
        case smtplib.SMTPResponseException():
            return DeliveryError(f"smtp_error:{exc.smtp_code}")
        case smtplib.SMTPException():
            return DeliveryError("smtp_unsupported")
        case ssl.SSLError():
            return DeliveryError("tls_failed")
        case TimeoutError():
            return DeliveryError("timeout")
        case _:
            return DeliveryError("connection_failed")
