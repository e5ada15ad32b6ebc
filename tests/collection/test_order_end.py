"""Whatever ends an order (the customer's or an admin's cancel, a full refund Razorpay reports)
gives its visit's window back once, takes the visit off the run sheet, and refuses a
technician (409); a partial refund ends nothing."""

from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Collection_module.models import SlotCount
from core import clock as clock_module
from tests.support.http import assert_error
from tests.support.login import LoggedIn
from tests.support.orders import Shopper, deliver_webhook, refund_event
from tests.support.report import paid_order

# Monday 7 December 2026, 08:00 in Kolkata; the visits are on Tuesday 09:00-11:00.
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=clock_module.IST)
TUESDAY = date(2026, 12, 8)

pytestmark = pytest.mark.usefixtures("razorpay")


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock_module, "frozen", NOW)


def booked(client: TestClient, db: Session, phone: str) -> tuple[Shopper, dict, dict]:
    """A paid order of one test with its visit booked on Tuesday 09:00."""
    buyer, order = paid_order(client, db, phone)
    body = {"item_ids": [order["items"][0]["id"]], "date": TUESDAY.isoformat(), "start": "09:00"}
    visit = client.post(f"/orders/{order['id']}/collection", json=body, headers=buyer.headers)
    assert visit.status_code == 201, visit.text
    return buyer, order, visit.json()


def places_taken(db: Session) -> int:
    db.expire_all()
    [counter] = db.scalars(select(SlotCount)).all()
    return counter.booked


def run_sheet(client: TestClient, admin: LoggedIn) -> list[int]:
    sheet = client.get(
        "/orders/admin/collections", params={"date": TUESDAY.isoformat()}, headers=admin.headers
    )
    assert sheet.status_code == 200, sheet.text
    return [visit["id"] for visit in sheet.json()]


def assign(client: TestClient, admin: LoggedIn, visit: dict) -> Any:
    return client.put(
        f"/orders/admin/collections/{visit['id']}",
        json={"technician_name": "Suresh", "technician_phone": "9876543211"},
        headers=admin.headers,
    )


def refund(client: TestClient, order: dict, amount: int, refund_id: str, event: str) -> Any:
    payment_id = order["payments"][0]["razorpay_payment_id"]
    body = refund_event(payment_id, amount, event, refund_id)
    return deliver_webhook(client, body, f"evt_{event}_{refund_id}")


def test_a_full_refund_from_the_dashboard_gives_the_window_back_once(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    _, order, visit = booked(client, db, "+919876591001")
    _, _, other = booked(client, db, "+919876591002")
    assert places_taken(db) == 2
    total = order["total_paise"]

    # A partial refund leaves the visit as it is.
    assert refund(client, order, 100, "rfnd_bit", "refund.processed").status_code == 200
    assert places_taken(db) == 2
    assert run_sheet(client, admin) == [visit["id"], other["id"]]

    started = refund(client, order, total, "rfnd_all", "refund.created")
    assert started.json() == {"status": "processed"}
    detail = client.get(f"/orders/{order['id']}", headers=admin.headers).json()
    assert detail["status"] == "refund_pending"
    assert places_taken(db) == 1
    assert run_sheet(client, admin) == [other["id"]]
    assert_error(assign(client, admin, visit), 409, "collection_cancelled")

    done = refund(client, order, total, "rfnd_all", "refund.processed")
    assert done.json() == {"status": "processed"}
    assert (
        client.get(f"/orders/{order['id']}", headers=admin.headers).json()["status"] == "refunded"
    )
    assert places_taken(db) == 1  # given back once, the other visit's place kept
    assert assign(client, admin, other).status_code == 200


@pytest.mark.parametrize("by", ["customer", "admin"])
def test_a_cancelled_orders_visit_is_off_the_run_sheet_and_gets_no_technician(
    client: TestClient, db: Session, admin: LoggedIn, by: str
) -> None:
    buyer, order, visit = booked(client, db, "+919876591003")
    if by == "customer":
        ended = client.post(f"/orders/{order['id']}/cancel", headers=buyer.headers)
    else:
        ended = client.put(
            f"/orders/{order['id']}/status", json={"status": "cancelled"}, headers=admin.headers
        )
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "refund_pending"
    assert places_taken(db) == 0
    assert run_sheet(client, admin) == []
    assert_error(assign(client, admin, visit), 409, "collection_cancelled")

    # Our refund completing later releases nothing more.
    [ours] = ended.json()["refunds"]
    done = refund(
        client, order, ours["amount_paise"], ours["razorpay_refund_id"], "refund.processed"
    )
    assert done.json() == {"status": "processed"}
    assert places_taken(db) == 0
    detail = client.get(f"/orders/{order['id']}", headers=buyer.headers).json()
    assert detail["status"] == "refunded"
    assert detail["refunded_paise"] == order["total_paise"]
