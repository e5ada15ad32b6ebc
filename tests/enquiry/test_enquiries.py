"""The website's enquiry form over HTTP: the reference, the two e-mails (read at the local SMTP
server), the honeypot, the limits and bad input."""

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from core import clock
from Enquiry_module import service as enquiry_service
from Enquiry_module.models import Enquiry, EnquiryStatusChange
from Notification_module.models import Channel, NotificationEvent
from tests.fakes.smtp import FakeSmtpServer
from tests.support.enquiry import enquiry_form, send_enquiry
from tests.support.http import assert_error
from tests.support.notification import deliver, outbox

SALES = "sales@nucleotide.example"
SENDER = "asha.rao@example.com"
# 10:00 on 15 June 2026 in India.
MIDYEAR = datetime(2026, 6, 15, 4, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def midyear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "frozen", MIDYEAR)


def stored(db: Session) -> list[Enquiry]:
    db.expire_all()
    return list(db.scalars(select(Enquiry).order_by(Enquiry.id)))


def test_an_enquiry_is_stored_with_the_next_reference_of_the_year(
    client: TestClient, db: Session
) -> None:
    first = send_enquiry(client)
    second = send_enquiry(client, phone="+919876543211", email="ravi@example.com")

    assert first["reference"] == "ENQ-2026-000001"
    assert second["reference"] == "ENQ-2026-000002"
    assert set(first) == {"id", "reference"}
    [one, two] = stored(db)
    assert (one.id, one.reference) == (first["id"], first["reference"])
    assert two.id == second["id"]
    # Stored as every phone is (E.164), the address lower-cased, the text as typed.
    assert one.phone == "+919876543210"
    assert one.email == SENDER
    assert one.message == "We would like to test our staff.\nPlease call after 5 pm."
    assert (one.status, one.organization, one.number_of_tests) == ("new", "Acme Labs", 40)
    steps = db.scalars(select(EnquiryStatusChange).where(EnquiryStatusChange.enquiry_id == one.id))
    assert [(s.from_status, s.to_status, s.actor_user_id) for s in steps] == [(None, "new", None)]
    audit = db.scalars(select(AuditLog).where(AuditLog.action == "enquiry.received")).all()
    assert [entry.changes for entry in audit] == [
        {"reference": "ENQ-2026-000001", "number_of_tests": 40},
        {"reference": "ENQ-2026-000002", "number_of_tests": 40},
    ]


def test_sales_get_the_enquiry_and_the_sender_only_the_reference(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    reference = send_enquiry(client)["reference"]
    rows = outbox(db)
    assert [(r.event, r.channel, r.recipient, r.user_id) for r in rows] == [
        (NotificationEvent.ENQUIRY_RECEIVED, Channel.EMAIL, SALES, None),
        (NotificationEvent.ENQUIRY_ACKNOWLEDGED, Channel.EMAIL, SENDER, None),
    ]
    assert deliver() == 2

    [to_sales] = smtp_settings.messages_to(SALES)
    assert to_sales["Subject"] == f"New enquiry {reference} for 40 tests"
    assert to_sales["Reply-To"] == SENDER
    text = to_sales.get_body(("plain",)).get_content()
    for typed in ("Asha Rao", "Acme Labs", "+919876543210", SENDER, "Please call after 5 pm."):
        assert typed in text
    [to_sender] = smtp_settings.messages_to(SENDER)
    assert to_sender["Subject"] == f"We received your enquiry {reference}"
    assert to_sender["Reply-To"] is None
    for part in (to_sender.get_body(("plain",)), to_sender.get_body(("html",))):
        content = part.get_content()
        assert reference in content
        for typed in ("Asha", "Acme", "staff", "5 pm", "+91", "9876543210"):
            assert typed not in content


def test_nobody_can_send_their_words_to_someone_elses_address(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    """A victim's address typed in the form gets a fixed text with a reference, whatever was
    written in the name, organisation or message; the sales team sees it all, HTML-escaped."""
    victim = "victim@example.org"
    pitch = "Claim your prize at https://evil.example/win"
    send_enquiry(
        client,
        email=victim,
        name="Prize desk https://evil.example",
        organization="<a href='https://evil.example'>Win</a>",
        message=pitch,
    )
    assert deliver() == 2

    [acknowledgement] = smtp_settings.messages_to(victim)
    raw = acknowledgement.as_string()
    assert "evil.example" not in raw and "prize" not in raw.lower()
    [to_sales] = smtp_settings.messages_to(SALES)
    assert pitch in to_sales.get_body(("plain",)).get_content()
    html = to_sales.get_body(("html",)).get_content()
    assert "&lt;a href=" in html and "<a href='https://evil.example'>" not in html


def test_a_filled_honeypot_answers_like_success_and_keeps_and_sends_nothing(
    client: TestClient, db: Session, smtp_settings: FakeSmtpServer
) -> None:
    real = send_enquiry(client)
    caught = client.post(
        "/enquiries", json=enquiry_form(phone="+919876543299", website="https://spam.example")
    )

    assert caught.status_code == 201
    body = caught.json()
    assert set(body) == {"id", "reference"}
    # Shaped like the next real answer: the id and reference the next enquiry would get.
    assert body == {"id": real["id"] + 1, "reference": "ENQ-2026-000002"}
    assert re.fullmatch(r"ENQ-\d{4}-\d{6}", body["reference"])
    assert [e.id for e in stored(db)] == [real["id"]]
    assert len(outbox(db)) == 2  # the real enquiry's two e-mails, none for the bot
    actions = db.scalars(select(AuditLog.action).where(AuditLog.entity_type == "enquiry")).all()
    assert actions == ["enquiry.received"]
    assert deliver() == 2
    assert smtp_settings.messages_to("asha.rao@example.com") != []
    # The next person's enquiry takes the number the decoy showed: none was used up.
    assert send_enquiry(client, phone="+919876543212")["reference"] == "ENQ-2026-000002"


def test_an_empty_honeypot_is_a_person(client: TestClient, db: Session) -> None:
    assert send_enquiry(client, website="   ")["reference"] == "ENQ-2026-000001"
    assert len(stored(db)) == 1


def test_one_ip_sends_5_an_hour_honeypot_or_not(client: TestClient, db: Session) -> None:
    for n in range(4):
        send_enquiry(client, phone=f"+91987654330{n}", email=f"lead{n}@example.com")
    decoy = enquiry_form(phone="+919876543309", email="bot@example.com", website="x")
    assert client.post("/enquiries", json=decoy).status_code == 201

    refused = client.post("/enquiries", json=enquiry_form(phone="+919876543310"))
    body = assert_error(refused, 429, "rate_limited")
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3601
    assert body["details"] == []
    assert len(stored(db)) == 4
    # The bot hits the same wall at the same point.
    assert_error(client.post("/enquiries", json=decoy), 429, "rate_limited")


def test_one_phone_is_taken_3_times_a_day(client: TestClient, db: Session) -> None:
    for n in range(3):
        send_enquiry(client, phone="98765 43210", email=f"lead{n}@example.com")

    refused = client.post("/enquiries", json=enquiry_form(email="other@example.com"))
    assert_error(refused, 429, "rate_limited")
    assert 86_000 <= int(refused.headers["Retry-After"]) <= 86_401
    # Another phone is still welcome.
    send_enquiry(client, phone="+919876543211", email="other@example.com")
    assert len(stored(db)) == 4


def test_one_address_gets_at_most_3_acknowledgements_a_day(
    client: TestClient, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "ENQUIRY_MAX_PER_IP_PER_HOUR", 100)
    for n in range(3):
        send_enquiry(client, phone=f"+91987654331{n}", email="Victim@Example.org")

    refused = client.post(
        "/enquiries", json=enquiry_form(phone="+919876543319", email="victim@example.org")
    )
    assert_error(refused, 429, "rate_limited")
    assert "Retry-After" in refused.headers
    acknowledgements = outbox(db, NotificationEvent.ENQUIRY_ACKNOWLEDGED)
    assert [row.recipient for row in acknowledgements] == ["victim@example.org"] * 3


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"phone": "080 2345 6789"}, "invalid_phone"),  # a landline
        ({"phone": "12345"}, "invalid_phone"),
        ({"email": "not-an-address"}, "validation_error"),
        ({"name": ""}, "validation_error"),
        ({"name": "A" * 121}, "validation_error"),
        ({"name": "Asha\u202eRao"}, "validation_error"),
        ({"organization": "O" * 161}, "validation_error"),
        ({"number_of_tests": 0}, "validation_error"),
        ({"number_of_tests": 100_001}, "validation_error"),
        ({"message": "m" * 2001}, "validation_error"),
        ({"message": "bell\x07"}, "validation_error"),
        ({"coupon": "FREE"}, "validation_error"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_kept(
    client: TestClient, db: Session, change: dict, code: str
) -> None:
    assert_error(client.post("/enquiries", json=enquiry_form(**change)), 422, code)
    assert stored(db) == []
    assert outbox(db) == []


def test_the_largest_enquiry_is_taken(client: TestClient, db: Session) -> None:
    send_enquiry(
        client,
        name="A" * 120,
        organization=None,
        number_of_tests=100_000,
        message="m" * 2000,
    )
    [enquiry] = stored(db)
    assert (enquiry.number_of_tests, len(enquiry.message or "")) == (100_000, 2000)
    assert enquiry.organization is None


def test_each_year_starts_again_at_1_on_indian_new_year(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "frozen", datetime(2026, 12, 31, 18, 29, tzinfo=UTC))
    assert send_enquiry(client)["reference"] == "ENQ-2026-000001"
    # 18:30 UTC on 31 December is midnight in India: the new year's series.
    monkeypatch.setattr(clock, "frozen", datetime(2026, 12, 31, 18, 30, tzinfo=UTC))
    assert send_enquiry(client, phone="+919876543211")["reference"] == "ENQ-2027-000001"
    assert send_enquiry(client, phone="+919876543212")["reference"] == "ENQ-2027-000002"


def test_an_enquiry_that_fails_takes_no_number_with_it(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The number is taken in the enquiry's transaction: a failure after it (here the
    outbox) rolls it back, and the next enquiry gets it: no gaps."""
    send_enquiry(client)
    real_notify = enquiry_service.notify_email

    def outbox_down(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the outbox is unavailable")

    monkeypatch.setattr(enquiry_service, "notify_email", outbox_down)
    failed = client.post("/enquiries", json=enquiry_form(phone="+919876543211"))
    assert_error(failed, 500, "internal_error")
    monkeypatch.setattr(enquiry_service, "notify_email", real_notify)

    assert send_enquiry(client, phone="+919876543212")["reference"] == "ENQ-2026-000002"
    assert db.scalar(select(func.count(Enquiry.id))) == 2
