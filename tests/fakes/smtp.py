"""A local SMTP relay (aiosmtpd on 127.0.0.1): STARTTLS with a self-signed certificate made at
start, AUTH LOGIN/PLAIN required after TLS, and every accepted message recorded."""

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from config import Settings
from tests.support.http import free_port

HOST = "127.0.0.1"
USERNAME = "notify@nucleotide.example"
PASSWORD = "test-smtp-password"


@dataclass
class ReceivedEmail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    # How the session that sent it was set up.
    tls: bool
    authenticated: bool


class FakeSmtpServer:
    """The aiosmtpd handler: records what it accepts; can refuse the next recipient."""

    def __init__(self, ca_file: Path) -> None:
        self.ca_file = ca_file
        self.port = free_port()
        self.received: list[ReceivedEmail] = []
        self.refusals: list[str] = []

    def reset(self) -> None:
        self.received.clear()
        self.refusals.clear()

    def refuse_next_recipient(self, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        """The next RCPT TO gets `reply` (a 4xx one for a temporary refusal)."""
        self.refusals.append(reply)

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [email.message for email in self.received if address in email.rcpt_tos]

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.mail_from is not None and envelope.original_content is not None
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(
            ReceivedEmail(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                tls=session.ssl is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 2.0.0 Message accepted"


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """The one test account (LOGIN and PLAIN both hand over a LoginPassword)."""
    valid = isinstance(auth_data, LoginPassword) and auth_data == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=valid, handled=False)


def write_self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key: (cert, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Nucleotide test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSmtpServer]:
    cert_file, key_file = write_self_signed_certificate(tmp_path_factory.mktemp("smtp"))
    tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_context.load_cert_chain(cert_file, key_file)
    server = FakeSmtpServer(ca_file=cert_file)
    controller = Controller(
        server,
        hostname=HOST,
        port=server.port,
        server_hostname="localhost",
        tls_context=tls_context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticate,
    )
    controller.start()
    yield server
    controller.stop()


@pytest.fixture
def smtp_settings(
    smtp_server: FakeSmtpServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> FakeSmtpServer:
    """The e-mail channel pointed at the local relay, with its certificate trusted."""
    monkeypatch.setattr(settings, "SMTP_HOST", HOST)
    monkeypatch.setattr(settings, "SMTP_PORT", smtp_server.port)
    monkeypatch.setattr(settings, "SMTP_USERNAME", USERNAME)
    monkeypatch.setattr(settings, "SMTP_PASSWORD", SecretStr(PASSWORD))
    monkeypatch.setattr(settings, "SMTP_STARTTLS", True)
    monkeypatch.setattr(settings, "SMTP_CA_FILE", str(smtp_server.ca_file))
    smtp_server.reset()
    return smtp_server
