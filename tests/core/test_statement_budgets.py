"""The customer's hot reads and checkout, pinned by the statements they send (never by time:
docs/performance.md has the bench's figures). Each request's own statements are counted; the
test harness's SAVEPOINT and RELEASE stand for the request's transaction and its COMMIT."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.fakes.razorpay import FakeRazorpay
from tests.support.database import IS_MARIADB, counting_statements
from tests.support.orders import Shopper, checkout, make_shop, shopper

pytestmark = pytest.mark.usefixtures("razorpay")


def _sent(client: TestClient, method: str, path: str, who: Shopper) -> list[str]:
    with counting_statements() as statements:
        response = client.request(method, path, headers=who.headers)
    assert response.status_code in (200, 201), response.text
    return [s for s in statements if not s.upper().startswith(("SAVEPOINT", "RELEASE"))]


@pytest.fixture
def buyer(client: TestClient, db: Session, razorpay: FakeRazorpay) -> Shopper:
    shop = make_shop(db)
    who = shopper(client, db, "+919876590001", shop.single)
    placed = checkout(client, who)
    assert placed.status_code == 201, placed.text
    who.extra["order_id"] = placed.json()["order"]["id"]
    return who


@pytest.mark.parametrize(
    ("path", "budget"),
    [
        # One read each: the rows of the page (a page shorter than its limit tells its total).
        ("/member", 1),
        ("/address", 1),
        ("/orders", 1),
        ("/cart", 1),
        # The order with its items; payments, refunds and history in one UNION ALL; the
        # withdrawn consents of an unfinished order.
        ("/orders/{order_id}", 3),
    ],
)
def test_a_hot_read_sends_its_budget_of_statements(
    client: TestClient, buyer: Shopper, path: str, budget: int
) -> None:
    sent = _sent(client, "GET", path.format(order_id=buyer.extra["order_id"]), buyer)
    assert len(sent) == budget, "\n".join(s[:120] for s in sent)


@pytest.mark.skipif(
    not IS_MARIADB,
    reason="SQLite's driver inserts the order's items one by one and updates one table at once",
)
def test_a_checkout_replacing_a_pending_order_sends_one_statement_more_than_a_first_one(
    client: TestClient, db: Session
) -> None:
    """One locking read of the user, cart and unpaid orders; the cart's items; the consents;
    the new order and its items; the replaced order's row and items in one UPDATE; the history
    and audit entries of both in one INSERT each; the Razorpay id. No coupon hold is looked
    for when the replaced order had no coupon."""
    shop = make_shop(db)
    first_buyer = shopper(client, db, "+919876590002", shop.single)
    second_buyer = shopper(client, db, "+919876590003", shop.single)
    assert checkout(client, first_buyer).status_code == 201  # reads the locations once
    first = _sent(client, "POST", "/orders", second_buyer)
    replacing = _sent(client, "POST", "/orders", second_buyer)
    assert len(first) == 8, "\n".join(s[:120] for s in first)
    assert len(replacing) == len(first) + 1, "\n".join(s[:120] for s in replacing)
    assert replacing[0].startswith("SELECT") and replacing[0].rstrip().endswith("FOR UPDATE")
    assert "FROM users" in replacing[0]
