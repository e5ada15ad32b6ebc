"""What an invoice or credit note says, computed once when it is issued and stored with it:
the supplier (settings), the customer and billing address (the first item's address), the place
of supply, the lines with their tax, the totals and the amount in words; and what the document
is, by its lines: exempt -> bill of supply, taxable -> tax invoice, both -> invoice-cum-bill of
supply (CGST Act s.31(3)(c); rules 46, 46A, 49). A credit note stays a "Credit Note" and is laid
out like the document it credits."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from config import get_settings
from core.clock import IST
from Invoice_module.models import InvoiceKind
from Invoice_module.tax import LineInput, TaxLine, allocate, amount_in_words, tax_lines, totals
from Orders_module.models import Order, OrderItem

DEFAULT_SAC = "999316"  # other professional, technical and business services (lab tests)
ADDRESS_LINE_FIELDS = ("line1", "line2", "locality")
# The title printed on the document and the label of its number.
TITLES = {
    InvoiceKind.TAX_INVOICE: ("Tax Invoice", "Invoice number"),
    InvoiceKind.BILL_OF_SUPPLY: ("Bill of Supply", "Bill of supply number"),
    InvoiceKind.INVOICE_CUM_BILL_OF_SUPPLY: ("Invoice-cum-Bill of Supply", "Invoice number"),
}


def _supplier() -> dict[str, str]:
    settings = get_settings()
    return {
        "legal_name": settings.SUPPLIER_LEGAL_NAME,
        "gstin": settings.SUPPLIER_GSTIN,
        "address": settings.SUPPLIER_ADDRESS,
        "state": settings.SUPPLIER_STATE,
    }


def kind_of(lines: Sequence[TaxLine]) -> InvoiceKind:
    """The document its lines need: exempt lines (GST 0 %) a bill of supply, taxable lines a tax
    invoice, both kinds one invoice-cum-bill of supply (our customers are unregistered)."""
    exempt = [line.gst_rate_percent == 0 for line in lines]
    if exempt and all(exempt):
        return InvoiceKind.BILL_OF_SUPPLY
    if any(exempt):
        return InvoiceKind.INVOICE_CUM_BILL_OF_SUPPLY
    return InvoiceKind.TAX_INVOICE


def issued_kind(content: dict[str, Any]) -> InvoiceKind:
    """The kind recorded in issued content (content issued before kinds existed: a tax invoice)."""
    return InvoiceKind(content.get("kind", InvoiceKind.TAX_INVOICE))


def is_intra_state(place_of_supply: str) -> bool:
    return place_of_supply.strip().casefold() == get_settings().SUPPLIER_STATE.strip().casefold()


def _address_lines(address: dict[str, Any]) -> list[str]:
    lines = [str(address[field]) for field in ADDRESS_LINE_FIELDS if address.get(field)]
    place = ", ".join(str(address[f]) for f in ("city", "state") if address.get(f))
    pincode = address.get("pincode")
    lines.append(f"{place} {pincode}".strip() if pincode else place)
    return [line for line in lines if line]


def _line_inputs(items: list[OrderItem]) -> list[LineInput]:
    """One line per member's test. A plan's price (couple, family) is shared equally by its
    members' lines, so the lines add up to the order's subtotal."""
    groups: dict[int, list[OrderItem]] = defaultdict(list)
    for item in items:
        groups[item.line_group].append(item)
    inputs = []
    for group in groups.values():
        first = group[0]
        shares = allocate(first.unit_price_paise * first.quantity, [1] * len(group))
        for item, gross in zip(group, shares, strict=True):
            product = item.product_snapshot
            inputs.append(
                LineInput(
                    product=str(product.get("name", "")),
                    member=str(item.member_snapshot.get("name", "")),
                    sac_code=str(product.get("sac_code") or DEFAULT_SAC),
                    quantity=item.quantity,
                    gross_paise=gross,
                    gst_rate_percent=int(product.get("gst_rate_percent") or 0),
                )
            )
    return inputs


def _document(
    kind: InvoiceKind,
    title: str,
    label: str,
    number: str,
    issued_at: datetime,
    order: Order,
    parties: dict[str, Any],
    lines: list[TaxLine],
) -> dict[str, Any]:
    sums = totals(lines)
    return {
        # A credit note's is the kind of the invoice it credits; content issued before kinds
        # existed has none (a tax invoice).
        "kind": kind.value,
        "title": title,
        "title_label": label,
        "number": number,
        "date": issued_at.astimezone(IST).strftime("%d %b %Y"),
        "order_number": order.order_number,
        **parties,
        "lines": [line.as_json() for line in lines],
        "totals": sums,
        "amount_in_words": amount_in_words(sums["total_paise"]),
    }


def invoice_content(
    order: Order, customer_name: str | None, number: str, issued_at: datetime
) -> dict[str, Any]:
    """The invoice of a paid order (titled by its lines): they add up exactly to what was paid."""
    first = order.items[0]
    address = first.address_snapshot
    place_of_supply = str(address.get("state") or "")
    intra_state = is_intra_state(place_of_supply)
    inputs = _line_inputs(list(order.items))
    discount = max(0, sum(line.gross_paise for line in inputs) - order.total_paise)
    parties = {
        "supplier": _supplier(),
        "customer": {
            "name": customer_name or str(first.member_snapshot.get("name", "")),
            "address": _address_lines(address),
        },
        "place_of_supply": place_of_supply,
        "intra_state": intra_state,
        "reference": None,
    }
    lines = tax_lines(inputs, discount, intra_state)
    kind = kind_of(lines)
    title, label = TITLES[kind]
    return _document(kind, title, label, number, issued_at, order, parties, lines)


def credit_note_content(
    invoice_content: dict[str, Any],
    invoice_number: str,
    order: Order,
    amount_paise: int,
    number: str,
    issued_at: datetime,
) -> dict[str, Any]:
    """A credit note for `amount_paise` of the invoice, shared across its lines by their
    totals, each line's tax reversed at its own rate; of the kind of the invoice it credits (so
    laid out like it), titled "Credit Note"."""
    invoiced = invoice_content["lines"]
    shares = allocate(amount_paise, [line["total_paise"] for line in invoiced])
    inputs = [
        LineInput(
            product=line["product"],
            member=line["member"],
            sac_code=line["sac_code"],
            quantity=line["quantity"],
            gross_paise=share,
            gst_rate_percent=line["gst_rate_percent"],
        )
        for line, share in zip(invoiced, shares, strict=True)
    ]
    parties = {
        "supplier": invoice_content["supplier"],
        "customer": invoice_content["customer"],
        "place_of_supply": invoice_content["place_of_supply"],
        "intra_state": invoice_content["intra_state"],
        # The credited document by its own title ("tax invoice" for those issued before kinds).
        "reference": (
            f"Against {str(invoice_content['title']).lower()} {invoice_number}"
            f" dated {invoice_content['date']}"
        ),
    }
    lines = tax_lines(inputs, 0, bool(invoice_content["intra_state"]))
    return _document(
        issued_kind(invoice_content),
        "Credit Note",
        "Credit note number",
        number,
        issued_at,
        order,
        parties,
        lines,
    )
