"""Booking and moving a home collection over HTTP, with the clock fixed (Asia/Kolkata)."""

from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import clock as clock_module
from tests.support.login import LoggedIn
from tests.support.orders import Shopper

# Monday 7 December 2026, 08:00 in Kolkata: Tuesday 07:00 is the first bookable window.
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=clock_module.IST)
TUESDAY = date(2026, 12, 8)


def fix_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime = NOW) -> None:
    monkeypatch.setattr(clock_module, "frozen", moment)


def book(
    client: TestClient,
    who: Shopper | LoggedIn,
    order: dict[str, Any],
    day: date,
    start: str,
    items: list[int] | None = None,
) -> Any:
    body = {
        "item_ids": items or [item["id"] for item in order["items"]],
        "date": day.isoformat(),
        "start": start,
    }
    return client.post(f"/orders/{order['id']}/collection", json=body, headers=who.headers)


def move(
    client: TestClient,
    who: Shopper | LoggedIn,
    order: dict[str, Any],
    collection_id: int,
    day: date,
    start: str,
) -> Any:
    return client.put(
        f"/orders/{order['id']}/collection/{collection_id}",
        json={"date": day.isoformat(), "start": start},
        headers=who.headers,
    )
