"""Invoice numbers under real concurrency (MariaDB, real commits): 30 payments at once get 30
consecutive numbers, and a payment that rolls back takes no number with it."""

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config import Settings, get_settings
from Invoice_module.models import DocumentCounter, DocumentSeries, Invoice
from Invoice_module.numbering import financial_year, take_sequence
from Orders_module import checkout as orders_checkout
from Orders_module.models import Order, OrderStatus
from tests.fakes.razorpay import FakeRazorpay
from tests.support.http import new_client
from tests.support.orders import make_catalogue, pay, ready_shopper
from tests.support.races import all_at_once

pytestmark = pytest.mark.concurrency


def test_30_payments_at_once_get_30_consecutive_invoice_numbers(
    committing: Engine, razorpay: FakeRazorpay, settings: Settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "OTP_MAX_REQUESTS_PER_IP_PER_HOUR", 1000)
    product_id, _ = make_catalogue(committing)
    client = new_client()
    buyers = [ready_shopper(client, committing, f"+91987658{i:04d}", product_id) for i in range(30)]
    placed = []
    for buyer in buyers:
        response = client.post("/orders", headers=buyer.headers)
        assert response.status_code == 201, response.text
        placed.append(response.json())

    clients = [new_client() for _ in buyers]
    paid = all_at_once(
        [
            (lambda c=c, b=b, p=p: pay(c, b, p))
            for c, b, p in zip(clients, buyers, placed, strict=True)
        ]
    )
    assert [r.status_code for r in paid] == [200] * 30, [
        r.text for r in paid if r.status_code != 200
    ]
    with Session(committing) as session:
        invoices = list(session.scalars(select(Invoice).order_by(Invoice.seq)))
        counter = session.scalar(
            select(DocumentCounter).where(DocumentCounter.series == DocumentSeries.INVOICE)
        )
    assert len(invoices) == 30
    assert [invoice.seq for invoice in invoices] == list(range(1, 31))
    assert len({invoice.number for invoice in invoices}) == 30
    assert len({invoice.order_id for invoice in invoices}) == 30
    assert counter is not None and counter.last_seq == 30
    fy = invoices[0].fy
    assert [invoice.number for invoice in invoices] == [f"NUC/{fy}/{n:06d}" for n in range(1, 31)]


def test_a_payment_that_rolls_back_uses_no_number(
    committing: Engine, razorpay: FakeRazorpay
) -> None:
    product_id, _ = make_catalogue(committing)
    client = new_client()
    first, second, third = (
        ready_shopper(client, committing, f"+91987659{i:04d}", product_id) for i in range(3)
    )
    orders = [client.post("/orders", headers=b.headers).json() for b in (first, second, third)]
    assert pay(client, first, orders[0]).status_code == 200

    def boom(_db: Session, _order: Order) -> None:
        raise RuntimeError("a later step of the payment fails")

    # A hook after the invoice's fails: the whole payment transaction rolls back.
    handlers = list(orders_checkout.order_paid.handlers)
    orders_checkout.order_paid.connect(boom)
    try:
        assert pay(client, second, orders[1]).status_code == 500
    finally:
        orders_checkout.order_paid.handlers[:] = handlers

    # And a number taken in a session that rolls back is given back too.
    with Session(committing) as session:
        fy = financial_year(session.scalar(select(Order.paid_at).where(Order.paid_at.is_not(None))))
        assert take_sequence(session, DocumentSeries.INVOICE, fy) == 2
        session.rollback()

    assert pay(client, third, orders[2]).status_code == 200
    with Session(committing) as session:
        numbered = {invoice.order_id: invoice.seq for invoice in session.scalars(select(Invoice))}
        status = session.scalar(select(Order.status).where(Order.id == orders[1]["order"]["id"]))
    assert numbered == {orders[0]["order"]["id"]: 1, orders[2]["order"]["id"]: 2}
    assert status == OrderStatus.PENDING_PAYMENT


def test_first_downloads_at_once_render_and_store_one_file(
    committing: Engine, razorpay: FakeRazorpay
) -> None:
    product_id, _ = make_catalogue(committing)
    client = new_client()
    buyer = ready_shopper(client, committing, "+919876597001", product_id)
    placed = client.post("/orders", headers=buyer.headers).json()
    assert pay(client, buyer, placed).status_code == 200
    order_id = placed["order"]["id"]
    clients = [new_client() for _ in range(8)]
    got = all_at_once(
        [(lambda c=c: c.get(f"/orders/{order_id}/invoice", headers=buyer.headers)) for c in clients]
    )
    assert [r.status_code for r in got] == [200] * 8, [r.text for r in got if r.status_code != 200]
    assert len({r.content for r in got}) == 1
    with Session(committing) as session:
        invoice = session.scalar(select(Invoice).where(Invoice.order_id == order_id))
    assert invoice is not None and invoice.storage_key is not None
    assert invoice.sha256 == hashlib.sha256(got[0].content).hexdigest()
    stored = list(
        (Path(get_settings().PRIVATE_STORAGE_ROOT) / "invoices" / str(order_id)).iterdir()
    )
    assert [path.name for path in stored] == [invoice.storage_key.rsplit("/", 1)[1]]
