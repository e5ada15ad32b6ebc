"""The tax invoice and credit notes as a customer gets them: through the API, read from the PDF."""

import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from Invoice_module.content import invoice_content
from Invoice_module.models import CreditNote, Invoice
from Orders_module.service import get_order
from tests.fakes.razorpay import FakeRazorpay
from tests.support.factories.cart import make_coupon
from tests.support.factories.consent import link_consent
from tests.support.factories.product import make_product
from tests.support.http import assert_error
from tests.support.invoice import buy, get_invoice, pay_for, pdf_text
from tests.support.login import ADMIN_PHONE, login
from tests.support.orders import checkout, deliver_webhook, make_shop, refund_event, shopper

NUMBER = re.compile(r"NUC/\d{4}-\d{2}/\d{6}")
pytestmark = pytest.mark.usefixtures("razorpay")


@pytest.fixture
def supplier(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(settings, "SUPPLIER_LEGAL_NAME", "Nucleotide Genomics Private Limited")
    monkeypatch.setattr(settings, "SUPPLIER_GSTIN", "29AABCN1234F1Z5")
    monkeypatch.setattr(settings, "SUPPLIER_ADDRESS", "42, MG Road, Bengaluru 560001")
    monkeypatch.setattr(settings, "SUPPLIER_STATE", "karnataka")  # the address says Karnataka
    return settings


def invoice_of(db: Session, order_id: int) -> Invoice:
    db.expire_all()
    invoice = db.scalar(select(Invoice).where(Invoice.order_id == order_id))
    assert invoice is not None
    return invoice


def test_an_exempt_test_is_invoiced_with_the_supplier_customer_and_words(
    client: TestClient, db: Session, supplier: Settings
) -> None:
    shop = make_shop(db)
    bought = buy(client, db, "+919876571001", shop.single)
    order_id = bought.order["id"]

    response = get_invoice(client, bought.buyer, order_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    invoice = invoice_of(db, order_id)
    assert NUMBER.fullmatch(invoice.number)
    filename = invoice.number.replace("/", "-") + ".pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'

    text = pdf_text(response.content)
    assert "Bill of Supply" in text  # exempt lines only (SPEC v3.2)
    assert invoice.number in text
    assert "Nucleotide Genomics Private Limited" in text
    assert "GSTIN: 29AABCN1234F1Z5" in text
    assert "Place of supply: Karnataka" in text
    assert "Indiranagar" in text  # the billing address: the first item's
    assert "My genes" in text and "Member 0" in text and "999316" in text
    assert "Exempt" in text
    assert "14,999.00" in text and "₹14,999.00" in text
    assert "Rupees Fourteen Thousand Nine Hundred Ninety-Nine Only" in text
    [line] = invoice.content["lines"]
    assert line["taxable_paise"] == 14_999_00
    assert line["cgst_paise"] == line["sgst_paise"] == line["igst_paise"] == 0
    audit = db.scalar(select(AuditLog).where(AuditLog.action == "invoice.issued"))
    assert audit is not None and audit.entity_id == str(invoice.id)


def _taxed_shop(db: Session, rate: int):
    shop = make_shop(db)
    shop.single.gst_rate_percent = rate
    shop.single.sac_code = "998599"
    db.flush()
    return shop


def test_within_the_suppliers_state_gst_is_cgst_plus_sgst(
    client: TestClient, db: Session, supplier: Settings
) -> None:
    shop = _taxed_shop(db, 18)
    bought = buy(client, db, "+919876571002", shop.single)
    text = pdf_text(get_invoice(client, bought.buyer, bought.order["id"]).content)
    # 14,999.00 including 18 %: 12,711.02 taxable, 2,287.98 tax in two halves of 1,143.99.
    assert "998599" in text and "18%" in text
    assert "12,711.02" in text
    assert text.count("1,143.99") >= 2
    line = invoice_of(db, bought.order["id"]).content["lines"][0]
    assert (line["taxable_paise"], line["cgst_paise"], line["sgst_paise"], line["igst_paise"]) == (
        1_271_102,
        114_399,
        114_399,
        0,
    )
    assert "CGST and SGST" in text


def test_to_another_state_gst_is_igst(
    client: TestClient, db: Session, supplier: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supplier, "SUPPLIER_STATE", "Maharashtra")
    shop = _taxed_shop(db, 18)
    bought = buy(client, db, "+919876571003", shop.single)
    text = pdf_text(get_invoice(client, bought.buyer, bought.order["id"]).content)
    assert "Place of supply: Karnataka" in text and "State: Maharashtra" in text
    assert "2,287.98" in text and "1,143.99" not in text
    assert "IGST (supply to another state)" in text
    line = invoice_of(db, bought.order["id"]).content["lines"][0]
    assert (line["cgst_paise"], line["sgst_paise"], line["igst_paise"]) == (0, 0, 228_798)


def test_a_coupon_is_shared_across_the_members_lines_to_the_paisa(
    client: TestClient, db: Session, supplier: Settings
) -> None:
    shop = make_shop(db)
    shop.couple.gst_rate_percent = 12
    db.flush()
    make_coupon(db, code="ODD", discount_type="flat", amount_off_paise=1_000_01)
    buyer = shopper(client, db, "+919876571004", shop.couple, members=2)
    assert (
        client.post("/cart/coupon", json={"code": "ODD"}, headers=buyer.headers).status_code == 200
    )

    bought = pay_for(client, buyer)
    assert bought.order["discount_paise"] == 1_000_01
    text = pdf_text(get_invoice(client, buyer, bought.order["id"]).content)
    content = invoice_of(db, bought.order["id"]).content
    lines = content["lines"]
    assert [line["member"] for line in lines] == ["Member 0", "Member 1"]
    # 24,999.00 for the couple: 12,499.50 each; 1,000.01 off: 500.01 and 500.00.
    assert [line["gross_paise"] for line in lines] == [12_499_50, 12_499_50]
    assert [line["discount_paise"] for line in lines] == [500_01, 500_00]
    assert sum(line["total_paise"] for line in lines) == bought.order["total_paise"] == 23_998_99
    for line in lines:
        assert (
            line["taxable_paise"] + line["cgst_paise"] + line["sgst_paise"] == line["total_paise"]
        )
    assert content["totals"]["total_paise"] == 23_998_99
    assert "23,998.99" in text and "1,000.01" in text
    assert (
        "Rupees Twenty-Three Thousand Nine Hundred Ninety-Eight and Paise Ninety-Nine Only" in text
    )


def test_lakh_amounts_are_grouped_and_spoken_the_indian_way(
    client: TestClient, db: Session, supplier: Settings
) -> None:
    shop = make_shop(db)
    dear = make_product(db, shop.category, name="Whole genome", price_paise=1_23_456_78)
    link_consent(db, dear, shop.consent)
    bought = buy(client, db, "+919876571005", dear)
    text = pdf_text(get_invoice(client, bought.buyer, bought.order["id"]).content)
    assert "₹1,23,456.78" in text
    assert (
        "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six and Paise Seventy-Eight Only"
        in text
    )


def test_the_invoice_is_rendered_once_and_served_byte_identical(
    client: TestClient, db: Session, supplier: Settings
) -> None:
    shop = make_shop(db)
    bought = buy(client, db, "+919876571006", shop.single)
    order_id = bought.order["id"]
    first = get_invoice(client, bought.buyer, order_id)
    invoice = invoice_of(db, order_id)
    assert invoice.storage_key and invoice.sha256 == hashlib.sha256(first.content).hexdigest()
    assert invoice.size_bytes == len(first.content)
    # A later change of settings does not change an issued invoice.
    supplier.SUPPLIER_LEGAL_NAME = "Someone Else Ltd"
    second = get_invoice(client, bought.buyer, order_id)
    admin = get_invoice(client, login(client, ADMIN_PHONE), order_id)
    assert hashlib.sha256(second.content).digest() == hashlib.sha256(first.content).digest()
    assert admin.content == first.content
    assert invoice_of(db, order_id).storage_key == invoice.storage_key


def test_an_unpaid_order_has_no_invoice_and_another_users_is_not_found(
    client: TestClient, db: Session
) -> None:
    shop = make_shop(db)
    buyer = shopper(client, db, "+919876571007", shop.single)
    placed = checkout(client, buyer).json()["order"]
    assert_error(get_invoice(client, buyer, placed["id"]), 409, "invoice_not_available")
    bought = buy(client, db, "+919876571008", shop.single)
    assert_error(get_invoice(client, buyer, bought.order["id"]), 404, "order_not_found")
    assert_error(
        client.get(f"/orders/{bought.order['id']}/credit-notes", headers=buyer.headers),
        404,
        "order_not_found",
    )


def test_paid_orders_get_consecutive_numbers(client: TestClient, db: Session) -> None:
    shop = make_shop(db)
    orders = [buy(client, db, f"+91987657201{i}", shop.single).order for i in range(3)]
    invoices = [invoice_of(db, order["id"]) for order in orders]
    seqs = [invoice.seq for invoice in invoices]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]
    assert len({invoice.number for invoice in invoices}) == 3


def test_a_processed_refund_issues_a_credit_note(
    client: TestClient, db: Session, supplier: Settings
) -> None:
    shop = _taxed_shop(db, 18)
    bought = buy(client, db, "+919876571009", shop.single)
    order_id, total = bought.order["id"], bought.order["total_paise"]
    invoice = invoice_of(db, order_id)
    assert client.get(f"/orders/{order_id}/credit-notes", headers=bought.buyer.headers).json() == []

    done = deliver_webhook(client, refund_event(bought.payment_id, total), "evt_cn_1")
    assert done.status_code == 200, done.text
    again = deliver_webhook(client, refund_event(bought.payment_id, total), "evt_cn_2")
    assert again.status_code == 200, again.text

    listed = client.get(f"/orders/{order_id}/credit-notes", headers=bought.buyer.headers)
    assert listed.status_code == 200, listed.text
    [note] = listed.json()
    assert re.fullmatch(r"NUC/CN/\d{4}-\d{2}/\d{6}", note["number"])
    assert note["amount_paise"] == total
    row = db.get(CreditNote, note["id"])
    assert row is not None and note["refund_id"] == row.refund_id

    pdf = client.get(f"/orders/{order_id}/credit-notes/{note['id']}", headers=bought.buyer.headers)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "Credit Note" in text and note["number"] in text
    assert f"Against tax invoice {invoice.number}" in text
    assert "12,711.02" in text and "1,143.99" in text
    assert (
        client.get(
            f"/orders/{order_id}/credit-notes/{note['id']}", headers=bought.buyer.headers
        ).content
        == pdf.content
    )
    audit = db.scalar(select(AuditLog).where(AuditLog.action == "credit_note.issued"))
    assert audit is not None
    intruder = login(client, "+919876571010")
    assert_error(
        client.get(f"/orders/{order_id}/credit-notes/{note['id']}", headers=intruder.headers),
        404,
        "order_not_found",
    )
    assert_error(
        client.get(
            f"/orders/{order_id}/credit-notes/{note['id'] + 1000}", headers=bought.buyer.headers
        ),
        404,
        "credit_note_not_found",
    )


def test_snapshot_without_tax_fields_defaults_to_exempt_999316(
    client: TestClient, db: Session, razorpay: FakeRazorpay
) -> None:
    """Orders placed before products had tax fields read as SAC 999316, exempt."""
    shop = make_shop(db)
    bought = buy(client, db, "+919876571011", shop.single)
    order = get_order(db, bought.order["id"])
    for item in order.items:
        item.product_snapshot = {
            k: v
            for k, v in item.product_snapshot.items()
            if k not in ("sac_code", "gst_rate_percent")
        }
    content = invoice_content(order, None, "NUC/2026-27/000001", order.paid_at)
    [line] = content["lines"]
    assert (line["sac_code"], line["gst_rate_percent"]) == ("999316", 0)
    assert content["customer"]["name"] == "Member 0"  # no profile name: the member's
