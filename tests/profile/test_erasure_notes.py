"""Erasure and the notes people typed on the customer's orders: staff notes naming the customer
go from the status history, the cancellation reason and the orders' audit entries; the notes
the system wrote stay."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from config import Settings
from tests.fakes.razorpay import FakeRazorpay
from tests.support.login import ADMIN_PHONE, login, request_code
from tests.support.orders import checkout, make_shop, pay, shopper

PHONE = "+919876571101"
SCHEDULING_NOTE = "Mrs Sunita Kulkarni prefers a morning visit, ring twice"
CANCEL_NOTE = "Sunita Kulkarni asked to cancel, husband ill"
NAME_PARTS = ("Sunita", "Kulkarni")


@pytest.fixture(autouse=True)
def no_resend_cooldown(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OTP_RESEND_COOLDOWN_SECONDS", 0)


def test_staff_notes_naming_the_customer_are_erased_with_the_account(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, PHONE, shop.single)
    placed = checkout(client, buyer).json()
    assert pay(client, buyer, placed).status_code == 200
    order_id = placed["order"]["id"]
    [item] = placed["order"]["items"]
    admin = login(client, ADMIN_PHONE)
    scheduled = client.put(
        f"/orders/{order_id}/items/{item['id']}/status",
        json={
            "status": "sample_collection_scheduled",
            "scheduled_date": "2031-06-02",
            "note": SCHEDULING_NOTE,
        },
        headers=admin.headers,
    )
    assert scheduled.status_code == 200, scheduled.text
    cancelled = client.put(
        f"/orders/{order_id}/status",
        json={"status": "cancelled", "note": CANCEL_NOTE},
        headers=admin.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    before = client.get(f"/orders/{order_id}", headers=admin.headers).json()
    assert SCHEDULING_NOTE in json.dumps(before) and CANCEL_NOTE in json.dumps(before)

    erased = client.request(
        "DELETE", "/profile", headers=buyer.headers, json={"otp": request_code(client, PHONE)}
    )
    assert erased.status_code == 200, erased.text

    after = client.get(f"/orders/{order_id}", headers=admin.headers)
    assert after.status_code == 200, after.text
    trail = client.get(
        "/audit", params={"entity_type": "order", "entity_id": order_id}, headers=admin.headers
    )
    assert trail.status_code == 200, trail.text
    assert trail.json()["total"] >= 3
    for shown in (after.json(), trail.json()):
        text = json.dumps(shown)
        for part in NAME_PARTS:
            assert part not in text, part
    order = after.json()
    assert order["cancel_reason"] == "[erased]"
    notes = [entry["note"] for entry in order["status_history"]]
    assert notes.count("[erased]") == 2  # the scheduling note and the cancellation note
    # What the system wrote stays readable: placed, paid, refund requested.
    assert "order placed" in notes and "refund requested" in notes
    assert any(note and note.startswith("payment pay_") for note in notes)
    assert order["status"] == "refund_pending"
