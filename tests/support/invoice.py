"""Buying through the API and reading the tax invoice back the way a customer's PDF viewer would."""

import io
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from Product_module.models import Product
from tests.fakes.razorpay import new_payment_id
from tests.support.login import LoggedIn
from tests.support.orders import Shopper, checkout, pay, shopper


@dataclass
class Bought:
    buyer: Shopper
    order: dict[str, Any]
    payment_id: str


def buy(
    client: TestClient, db: Session, phone: str, product: Product, *, members: int = 1, **body: Any
) -> Bought:
    """`product` checked out and paid by a new shopper (with `body` as the checkout body)."""
    buyer = shopper(client, db, phone, product, members=members)
    return pay_for(client, buyer, **body)


def pay_for(client: TestClient, buyer: Shopper, **body: Any) -> Bought:
    placed = checkout(client, buyer, **body)
    assert placed.status_code == 201, placed.text
    payment_id = new_payment_id()
    paid = pay(client, buyer, placed.json(), payment_id)
    assert paid.status_code == 200, paid.text
    return Bought(buyer, paid.json(), payment_id)


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def get_invoice(client: TestClient, who: LoggedIn | Shopper, order_id: int) -> Any:
    return client.get(f"/orders/{order_id}/invoice", headers=who.headers)
