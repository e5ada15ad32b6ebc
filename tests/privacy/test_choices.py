"""Visitor privacy choices: append-only receipts of what a visitor allowed, nothing else about
them stored, linked to the account when logged in, the latest one read back, limits per IP, and
the account's export and erasure (receipts kept, unlinked)."""

import uuid

import pytest
from sqlalchemy import func, inspect, select

from Audit_module.models import AuditLog
from Login_module.models import User
from Privacy_module.models import PrivacyChoice
from tests.support.http import assert_error
from tests.support.login import login, request_code

URL = "/privacy/choices"


def choice(visitor: str, analytics: bool = True, location: bool = False, **extra):
    return {
        "visitor_id": visitor,
        "analytics": analytics,
        "location": location,
        "policy_version": "2026-01",
        **extra,
    }


def receipts(db, visitor: str) -> list[PrivacyChoice]:
    db.expire_all()
    statement = select(PrivacyChoice).where(PrivacyChoice.visitor_id == visitor)
    return list(db.scalars(statement.order_by(PrivacyChoice.id)))


def test_each_change_is_a_new_receipt_and_the_latest_is_read_back(client, db):
    visitor = str(uuid.uuid4())
    first = client.post(URL, json=choice(visitor, analytics=True, location=True))
    assert first.status_code == 201, first.text
    assert set(first.json()) == {"receipt_id", "recorded_at"}
    second = client.post(URL, json=choice(visitor.upper(), analytics=False, location=False))
    assert second.status_code == 201, second.text
    assert second.json()["receipt_id"] > first.json()["receipt_id"]

    latest = client.get(f"{URL}/{visitor}")
    assert latest.status_code == 200, latest.text
    assert latest.json() == {
        "receipt_id": second.json()["receipt_id"],
        "visitor_id": visitor,
        "analytics": False,
        "location": False,
        "policy_version": "2026-01",
        "recorded_at": second.json()["recorded_at"],
    }
    kept = receipts(db, visitor)
    assert [(r.id, r.analytics, r.location) for r in kept] == [
        (first.json()["receipt_id"], True, True),
        (second.json()["receipt_id"], False, False),
    ]


def test_nothing_but_the_choice_is_stored(client, db):
    """No IP address, user agent, coordinates, page URL or fingerprint: not in the table, and
    no audit entry (which would keep the IP and user agent)."""
    columns = {column.key for column in inspect(PrivacyChoice).mapper.column_attrs}
    assert columns == {
        "id",
        "visitor_id",
        "user_id",
        "analytics",
        "location",
        "policy_version",
        "recorded_at",
    }
    audited = db.scalar(select(func.count()).select_from(AuditLog))
    visitor = str(uuid.uuid4())
    headers = {"User-Agent": "Mozilla/5.0 (fingerprint me)"}
    assert client.post(URL, json=choice(visitor), headers=headers).status_code == 201
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AuditLog)) == audited


@pytest.mark.parametrize(
    "extra",
    [
        {"latitude": 12.97, "longitude": 77.59},
        {"page_url": "https://nucleotide.example/tests/gut?ref=ad"},
        {"fingerprint": "a1b2c3"},
        {"user_agent": "Mozilla/5.0"},
    ],
)
def test_coordinates_urls_and_fingerprints_are_refused(client, db, extra):
    visitor = str(uuid.uuid4())
    assert_error(client.post(URL, json=choice(visitor, **extra)), 422, "validation_error")
    assert receipts(db, visitor) == []


@pytest.mark.parametrize(
    "body",
    [
        choice("not-a-uuid"),
        choice(str(uuid.uuid1())),  # time and MAC address: a fingerprint, not a random id
        choice(str(uuid.uuid4()), analytics="yes"),
        choice(str(uuid.uuid4()), location=1),
        choice(str(uuid.uuid4()), policy_version=""),
        choice(str(uuid.uuid4()), policy_version="v1 <script>"),
        {"visitor_id": str(uuid.uuid4()), "analytics": True, "policy_version": "2026-01"},
    ],
)
def test_bad_choices_are_validation_errors(client, body):
    assert_error(client.post(URL, json=body), 422, "validation_error")


def test_an_unknown_visitor_has_no_choice(client):
    assert_error(client.get(f"{URL}/{uuid.uuid4()}"), 404, "privacy_choice_not_found")
    assert_error(client.get(f"{URL}/not-a-uuid"), 422, "validation_error")
    assert_error(client.get(f"{URL}/{uuid.uuid1()}"), 422, "validation_error")


def test_a_logged_in_visitors_receipt_is_linked_to_their_account(client, db):
    me = login(client, "+919876572001")
    visitor = str(uuid.uuid4())
    assert client.post(URL, json=choice(visitor), headers=me.headers).status_code == 201
    assert client.post(URL, json=choice(visitor, analytics=False)).status_code == 201
    assert [r.user_id for r in receipts(db, visitor)] == [me.user_id, None]
    # A token sent is checked: a bad one is refused, not silently ignored.
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.post(URL, json=choice(visitor), headers=bad).status_code == 401


def test_recording_and_reading_are_limited_per_ip(client, settings, monkeypatch):
    monkeypatch.setattr(settings, "PRIVACY_CHOICES_PER_IP_PER_HOUR", 2)
    monkeypatch.setattr(settings, "PRIVACY_LOOKUPS_PER_IP_PER_HOUR", 2)
    visitor = str(uuid.uuid4())
    for _ in range(2):
        assert client.post(URL, json=choice(visitor)).status_code == 201
    refused = assert_error(client.post(URL, json=choice(visitor)), 429, "rate_limited")
    assert refused["code"] == "rate_limited"
    for _ in range(2):
        assert client.get(f"{URL}/{visitor}").status_code == 200
    limited = client.get(f"{URL}/{visitor}")
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0


def test_receipts_are_exported_and_kept_unlinked_after_erasure(client, db):
    me = login(client, "+919876572002")
    visitor = str(uuid.uuid4())
    made = client.post(URL, json=choice(visitor, location=True), headers=me.headers).json()
    client.post(URL, json=choice(str(uuid.uuid4())))  # someone else's, not linked

    exported = client.get("/profile/export", headers=me.headers).json()["privacy_choices"]
    assert [(r["id"], r["visitor_id"], r["location"]) for r in exported] == [
        (made["receipt_id"], visitor, True)
    ]

    code = request_code(client, me.phone)
    erased = client.request("DELETE", "/profile", headers=me.headers, json={"otp": code})
    assert erased.status_code == 200, erased.text
    assert erased.json()["privacy_receipts_unlinked"] == 1
    [kept] = receipts(db, visitor)
    assert (kept.id, kept.user_id, kept.location) == (made["receipt_id"], None, True)
    assert db.get(User, me.user_id).deleted_at is not None
    assert client.get(f"{URL}/{visitor}").json()["receipt_id"] == made["receipt_id"]
