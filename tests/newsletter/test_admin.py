"""The admin's side: the list of sign-ups by status, and the CSV export of confirmed subscribers
(audited; safe to open in a spreadsheet; each row's unsubscribe URL works with one click)."""

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from Newsletter_module.consent import CONSENT_TEXT_VERSION
from tests.fakes.smtp import FakeSmtpServer
from tests.newsletter.mailbox import (
    PUBLIC_API_URL,
    path_of,
    press_confirm,
    subscribe,
    the_confirmation,
    use_public_url,
)
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login

# Addresses a spreadsheet would read as formulas.
FORMULAS = ["=cmd@example.com", "+91@example.com", "-2+3@example.com"]


@pytest.fixture(autouse=True)
def public_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_public_url(settings, monkeypatch)
    monkeypatch.setattr(settings, "NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR", 50)


def confirm(client: TestClient, smtp: FakeSmtpServer, address: str) -> None:
    subscribe(client, address)
    press_confirm(client, the_confirmation(smtp, address))


def export(client: TestClient, admin: LoggedIn) -> list[dict[str, str]]:
    response = client.get("/newsletter/admin/export.csv", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="newsletter-subscribers-')
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_list_shows_every_sign_up_by_status(
    client: TestClient, admin: LoggedIn, smtp_settings: FakeSmtpServer
) -> None:
    confirm(client, smtp_settings, "reader@example.com")
    subscribe(client, "waiting@example.com")

    everyone = client.get("/newsletter/admin/subscribers", headers=admin.headers).json()
    confirmed = client.get(
        "/newsletter/admin/subscribers?status=confirmed", headers=admin.headers
    ).json()

    assert everyone["total"] == 2
    assert [row["email"] for row in everyone["items"]] == [
        "waiting@example.com",
        "reader@example.com",
    ]  # newest first
    [reader] = confirmed["items"]
    assert reader["status"] == "confirmed" and reader["consent_ip"] == "testclient"
    assert reader["consent_text_version"] == CONSENT_TEXT_VERSION
    refused = client.get("/newsletter/admin/subscribers?status=maybe", headers=admin.headers)
    assert_error(refused, 422, "validation_error")


def test_the_export_holds_confirmed_subscribers_only_and_is_audited(
    client: TestClient, db: Session, admin: LoggedIn, smtp_settings: FakeSmtpServer
) -> None:
    confirm(client, smtp_settings, "reader@example.com")
    subscribe(client, "gone@example.com")
    gone = the_confirmation(smtp_settings, "gone@example.com")
    press_confirm(client, gone)
    assert client.post(path_of(gone.unsubscribe_url)).status_code == 200
    subscribe(client, "waiting@example.com")

    rows = export(client, admin)

    assert [row["email"] for row in rows] == ["reader@example.com"]
    [reader] = rows
    assert set(reader) == {"email", "confirmed_at", "consent_text_version", "unsubscribe_url"}
    assert reader["consent_text_version"] == CONSENT_TEXT_VERSION
    assert reader["confirmed_at"].endswith("+00:00")
    assert reader["unsubscribe_url"].startswith(f"{PUBLIC_API_URL}/newsletter/unsubscribe?token=")
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "newsletter.exported"))
    assert entry is not None and entry.actor_user_id == admin.user_id
    assert entry.changes == {"rows": 1}


def test_the_exported_unsubscribe_url_works_with_one_click(
    client: TestClient, admin: LoggedIn, smtp_settings: FakeSmtpServer
) -> None:
    """What the newsletter's sending tool puts in its List-Unsubscribe header."""
    confirm(client, smtp_settings, "reader@example.com")
    [reader] = export(client, admin)

    done = client.post(path_of(reader["unsubscribe_url"]), data={"List-Unsubscribe": "One-Click"})

    assert done.status_code == 200
    assert export(client, admin) == []


def test_no_cell_is_read_as_a_formula(
    client: TestClient, admin: LoggedIn, smtp_settings: FakeSmtpServer
) -> None:
    for address in FORMULAS:
        confirm(client, smtp_settings, address)

    rows = export(client, admin)

    assert [row["email"] for row in rows] == [f"'{address}" for address in FORMULAS]
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values())


def test_customers_cannot_list_or_export(client: TestClient) -> None:
    customer = login(client, "+919876590011")
    for path in ("/newsletter/admin/subscribers", "/newsletter/admin/export.csv"):
        assert_error(client.get(path, headers=customer.headers), 403, "admin_required")
