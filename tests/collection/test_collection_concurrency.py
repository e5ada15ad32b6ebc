"""30 customers racing for a window with 4 places left, with real threads and commits (MariaDB):
exactly 4 bookings, the counter at capacity, the others told the window is full."""

from datetime import date, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from Collection_module.models import Collection, SlotCount
from config import Settings
from core import clock as clock_module
from tests.fakes.razorpay import FakeRazorpay
from tests.support.factories.address import make_location
from tests.support.http import new_client
from tests.support.orders import checkout, make_shop, pay, ready_shopper
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency

TUESDAY = date(2026, 12, 8)


def test_30_customers_racing_for_4_places_make_exactly_4_bookings(
    committing: Engine,
    razorpay: FakeRazorpay,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        clock_module, "frozen", datetime(2026, 12, 7, 8, 0, tzinfo=clock_module.IST)
    )
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_IP_PER_HOUR", 1000)
    monkeypatch.setattr(settings, "OTP_MAX_VERIFY_PER_IP_PER_HOUR", 1000)
    with Session(committing) as session:
        product_id = make_shop(session).single.id
        make_location(session, collection_capacity=4)
        session.commit()
    client = new_client()
    orders = []
    for n in range(30):
        buyer = ready_shopper(client, committing, f"+91987659{n:04d}", product_id)
        placed = checkout(client, buyer)
        assert placed.status_code == 201, placed.text
        paid = pay(client, buyer, placed.json())
        assert paid.status_code == 200, paid.text
        orders.append((buyer, paid.json()))

    def booking(buyer, order):
        body = {
            "item_ids": [order["items"][0]["id"]],
            "date": TUESDAY.isoformat(),
            "start": "09:00",
        }
        return lambda: new_client().post(
            f"/orders/{order['id']}/collection", json=body, headers=buyer.headers
        )

    answers = all_at_once([booking(buyer, order) for buyer, order in orders])

    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 4 + [409] * 26, [
        a.text for a in answers if a.status_code not in (201, 409)
    ]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"slot_full"}
    with Session(committing) as session:
        assert [c.booked for c in session.scalars(select(SlotCount))] == [4]
        assert len(session.scalars(select(Collection)).all()) == 4
