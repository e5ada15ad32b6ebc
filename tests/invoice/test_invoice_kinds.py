"""The invoice is named by its lines, as GST law requires: exempt tests get a bill of supply
(rule 49), taxable ones a tax invoice, a mix of both one invoice-cum-bill of supply (rule 46A);
one series numbers them all. Read back from the PDF the customer downloads."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from Invoice_module.models import Invoice, InvoiceKind
from Product_module.models import Product
from tests.support.factories.cart import add_to_cart, make_coupon
from tests.support.factories.consent import grant_all_required, link_consent
from tests.support.factories.product import make_product
from tests.support.invoice import buy, get_invoice, pay_for, pdf_text
from tests.support.orders import Shop, deliver_webhook, make_shop, refund_event, shopper

NUMBER = re.compile(r"NUC/\d{4}-\d{2}/\d{6}")
TAX_HEADINGS = ("Taxable value", "CGST", "SGST", "IGST")
pytestmark = pytest.mark.usefixtures("razorpay")


def invoice_of(db: Session, order_id: int) -> Invoice:
    db.expire_all()
    invoice = db.scalar(select(Invoice).where(Invoice.order_id == order_id))
    assert invoice is not None
    return invoice


def taxed_product(db: Session, shop: Shop, rate: int = 18) -> Product:
    """A single-plan test at `rate` % GST (10,000.00 including it), sharing the shop's consent."""
    product = make_product(
        db, shop.category, name="Carrier screen", price_paise=10_000_00, sac_code="998599"
    )
    product.gst_rate_percent = rate
    link_consent(db, product, shop.consent)
    db.flush()
    return product


def cells(text: str, first: str, count: int) -> list[str]:
    """`count` table cells from the row whose second cell is `first` (pypdf gives one cell per
    line): the header from "Product", a line from its product's name."""
    lines = text.splitlines()
    start = lines.index(first) - 1
    return lines[start : start + count]


def test_an_all_exempt_order_gets_a_bill_of_supply_with_the_rule_49_particulars(
    client: TestClient, db: Session, settings: Settings
) -> None:
    shop = make_shop(db)
    make_coupon(db, code="LESS1000", discount_type="flat", amount_off_paise=1_000_00)
    buyer = shopper(client, db, "+919876573001", shop.single)
    applied = client.post("/cart/coupon", json={"code": "LESS1000"}, headers=buyer.headers)
    assert applied.status_code == 200, applied.text
    bought = pay_for(client, buyer)

    response = get_invoice(client, buyer, bought.order["id"])
    assert response.status_code == 200, response.text
    text = pdf_text(response.content)
    invoice = invoice_of(db, bought.order["id"])
    assert invoice.kind is InvoiceKind.BILL_OF_SUPPLY
    assert "Bill of Supply" in text
    assert "Tax Invoice" not in text and "Invoice-cum" not in text
    # Rule 49: the supplier's name, address and GSTIN; a serial number and the date of issue.
    assert NUMBER.fullmatch(invoice.number)
    assert f"Bill of supply number: {invoice.number}" in text
    assert re.search(r"Date: \d{2} [A-Z][a-z]{2} \d{4}", text)
    assert settings.SUPPLIER_LEGAL_NAME in text and settings.SUPPLIER_ADDRESS in text
    assert f"GSTIN: {settings.SUPPLIER_GSTIN}" in text
    # The recipient (unregistered: name and address), SAC, description, and the value of the
    # supply after its discount.
    assert "Indiranagar" in text and "Member 0" in text
    assert cells(text, "Product", 8) == [
        "#",
        "Product",
        "Member",
        "SAC",
        "Qty",
        "Price",
        "Discount",
        "Value of supply",
    ]
    assert cells(text, "My genes", 8) == [
        "1",
        "My genes",
        "Member 0",
        "999316",
        "1",
        "14,999.00",
        "1,000.00",
        "13,999.00",
    ]
    # No tax columns, no GST amounts.
    for heading in TAX_HEADINGS:
        assert heading not in text
    assert "Exempt supply: no GST is charged" in text
    # Signed for the supplier.
    assert f"For {settings.SUPPLIER_LEGAL_NAME}" in text and "Authorised signatory" in text
    audit = db.scalar(select(AuditLog).where(AuditLog.action == "invoice.issued"))
    assert audit is not None and audit.changes["kind"] == "bill_of_supply"


def test_an_all_taxable_order_gets_a_tax_invoice(
    client: TestClient, db: Session, settings: Settings
) -> None:
    shop = make_shop(db)
    bought = buy(client, db, "+919876573002", taxed_product(db, shop))

    text = pdf_text(get_invoice(client, bought.buyer, bought.order["id"]).content)
    invoice = invoice_of(db, bought.order["id"])
    assert invoice.kind is InvoiceKind.TAX_INVOICE
    assert "Tax Invoice" in text and "Bill of Supply" not in text
    assert f"Invoice number: {invoice.number}" in text
    for heading in TAX_HEADINGS:
        assert heading in text
    # 10,000.00 including 18 %: 8,474.58 taxable, 1,525.42 tax in halves of 762.71.
    assert cells(text, "Carrier screen", 13) == [
        "1",
        "Carrier screen",
        "Member 0",
        "998599",
        "1",
        "10,000.00",
        "0.00",
        "8,474.58",
        "18%",
        "762.71",
        "762.71",
        "0.00",
        "10,000.00",
    ]
    assert "Prices include GST. Tax: CGST and SGST" in text
    assert f"For {settings.SUPPLIER_LEGAL_NAME}" in text and "Authorised signatory" in text


def test_a_mixed_order_gets_an_invoice_cum_bill_of_supply_with_tax_on_taxable_lines_only(
    client: TestClient, db: Session
) -> None:
    shop = make_shop(db)
    taxed = taxed_product(db, shop)
    buyer = shopper(client, db, "+919876573003", shop.single)
    grant_all_required(db, buyer.me.user_id, buyer.members[0], taxed)
    add_to_cart(client, buyer.headers, taxed.id, [(buyer.members[0].id, buyer.address.id)])
    bought = pay_for(client, buyer)

    text = pdf_text(get_invoice(client, buyer, bought.order["id"]).content)
    invoice = invoice_of(db, bought.order["id"])
    assert invoice.kind is InvoiceKind.INVOICE_CUM_BILL_OF_SUPPLY
    assert "Invoice-cum-Bill of Supply" in text
    assert f"Invoice number: {invoice.number}" in text
    assert "Tax Invoice" not in text
    assert cells(text, "Product", 13)[7:] == [
        "Value of supply",
        "GST",
        "CGST",
        "SGST",
        "IGST",
        "Total",
    ]
    # The exempt line shows no tax; the taxable line its CGST and SGST.
    assert cells(text, "My genes", 13)[5:] == [
        "14,999.00",
        "0.00",
        "14,999.00",
        "Exempt",
        "-",
        "-",
        "-",
        "14,999.00",
    ]
    assert cells(text, "Carrier screen", 13)[5:] == [
        "10,000.00",
        "0.00",
        "8,474.58",
        "18%",
        "762.71",
        "762.71",
        "0.00",
        "10,000.00",
    ]
    exempt, taxable = invoice.content["lines"]
    assert (exempt["cgst_paise"], exempt["sgst_paise"], exempt["igst_paise"]) == (0, 0, 0)
    assert (taxable["cgst_paise"], taxable["sgst_paise"]) == (762_71, 762_71)
    assert "Taxable supplies ₹10,000.00: prices include GST" in text
    assert "Exempt supplies ₹14,999.00: no GST is charged" in text


def test_the_three_kinds_are_numbered_in_one_consecutive_series(
    client: TestClient, db: Session
) -> None:
    shop = make_shop(db)
    taxed = taxed_product(db, shop)
    exempt_order = buy(client, db, "+919876573004", shop.single).order
    taxed_order = buy(client, db, "+919876573005", taxed).order
    buyer = shopper(client, db, "+919876573006", shop.single)
    grant_all_required(db, buyer.me.user_id, buyer.members[0], taxed)
    add_to_cart(client, buyer.headers, taxed.id, [(buyer.members[0].id, buyer.address.id)])
    mixed_order = pay_for(client, buyer).order

    invoices = [invoice_of(db, order["id"]) for order in (exempt_order, taxed_order, mixed_order)]
    assert [invoice.kind for invoice in invoices] == [
        InvoiceKind.BILL_OF_SUPPLY,
        InvoiceKind.TAX_INVOICE,
        InvoiceKind.INVOICE_CUM_BILL_OF_SUPPLY,
    ]
    first = invoices[0].seq
    assert [invoice.seq for invoice in invoices] == [first, first + 1, first + 2]
    assert len({invoice.fy for invoice in invoices}) == 1
    assert [invoice.number for invoice in invoices] == [
        f"NUC/{invoices[0].fy}/{seq:06d}" for seq in (first, first + 1, first + 2)
    ]


def test_a_credit_note_against_a_bill_of_supply_is_a_credit_note_without_tax(
    client: TestClient, db: Session
) -> None:
    shop = make_shop(db)
    bought = buy(client, db, "+919876573007", shop.single)
    order_id, total = bought.order["id"], bought.order["total_paise"]
    invoice = invoice_of(db, order_id)
    refunded = deliver_webhook(client, refund_event(bought.payment_id, total), "evt_kind_cn_1")
    assert refunded.status_code == 200, refunded.text

    [note] = client.get(f"/orders/{order_id}/credit-notes", headers=bought.buyer.headers).json()
    pdf = client.get(f"/orders/{order_id}/credit-notes/{note['id']}", headers=bought.buyer.headers)
    assert pdf.status_code == 200, pdf.text
    text = pdf_text(pdf.content)
    assert "Credit Note" in text and f"Credit note number: {note['number']}" in text
    assert f"Against bill of supply {invoice.number}" in text
    assert "Tax Invoice" not in text
    for heading in TAX_HEADINGS:
        assert heading not in text
    assert cells(text, "My genes", 8)[-1] == "14,999.00"
    assert "Exempt supply: no GST is charged" in text


def test_an_invoice_issued_before_kinds_is_still_rendered_as_the_tax_invoice_it_was(
    client: TestClient, db: Session
) -> None:
    """Invoices issued before the kinds existed (content without one, the row backfilled as
    `tax_invoice`) keep their title and tax columns when first downloaded now."""
    shop = make_shop(db)
    bought = buy(client, db, "+919876573008", shop.single)
    invoice = invoice_of(db, bought.order["id"])
    issued = {key: value for key, value in invoice.content.items() if key != "kind"}
    invoice.content = {**issued, "title": "Tax Invoice", "title_label": "Invoice number"}
    invoice.kind = InvoiceKind.TAX_INVOICE
    db.flush()

    text = pdf_text(get_invoice(client, bought.buyer, bought.order["id"]).content)
    assert "Tax Invoice" in text and f"Invoice number: {invoice.number}" in text
    assert "Bill of Supply" not in text
    for heading in TAX_HEADINGS:
        assert heading in text
    assert cells(text, "My genes", 13)[8:12] == ["Exempt", "0.00", "0.00", "0.00"]
