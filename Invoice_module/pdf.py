"""The PDF of an invoice or credit note, drawn (reportlab) from the content stored when it was
issued. Rendered once, then stored; `invariant` keeps reportlab's dates and ids out of the
file, so the same content always gives the same bytes.

The layout follows the document's kind: a tax invoice has the tax columns; a bill of supply
(exempt lines only) has none; an invoice-cum-bill of supply has them, with no tax on its exempt
lines. Content issued before kinds existed is a tax invoice."""

import io
import threading
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from Invoice_module.content import issued_kind
from Invoice_module.models import InvoiceKind
from Invoice_module.tax import indian_grouping, rupees_text

FONTS = Path(__file__).parent / "fonts"
# DejaVu has the rupee sign (U+20B9); reportlab's built-in fonts do not.
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
_fonts_lock = threading.Lock()
_fonts_ready = False

COLUMNS = (
    "#",
    "Product",
    "Member",
    "SAC",
    "Qty",
    "Price",
    "Discount",
    "Taxable value",
    "GST",
    "CGST",
    "SGST",
    "IGST",
    "Total",
)
WIDTHS = [8, 44, 33, 16, 10, 22, 20, 24, 14, 20, 20, 20, 22]
# Exempt and taxable lines in one document: the value column holds either.
MIXED_COLUMNS = tuple("Value of supply" if name == "Taxable value" else name for name in COLUMNS)
MIXED_WIDTHS = [8, 40, 33, 16, 10, 22, 20, 28, 14, 20, 20, 20, 22]
# A bill of supply (rule 49): the value of each supply after its discount, and no tax at all.
EXEMPT_COLUMNS = ("#", "Product", "Member", "SAC", "Qty", "Price", "Discount", "Value of supply")
EXEMPT_WIDTHS = [8, 80, 60, 20, 12, 31, 31, 31]
NO_TAX = "-"


def _register_fonts() -> None:
    global _fonts_ready
    with _fonts_lock:
        if not _fonts_ready:
            pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf")))
            pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))
            _fonts_ready = True


def _style(size: float = 9, *, bold: bool = False, leading: float | None = None) -> ParagraphStyle:
    return ParagraphStyle(
        "text", fontName=BOLD if bold else REGULAR, fontSize=size, leading=leading or size * 1.3
    )


def _text(value: str, size: float = 9, *, bold: bool = False) -> Paragraph:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped.replace("\n", "<br/>"), _style(size, bold=bold))


def _rate(percent: int) -> str:
    return "Exempt" if percent == 0 else f"{percent}%"


def _line_row(number: int, line: dict[str, Any], kind: InvoiceKind) -> list[Any]:
    described = [
        str(number),
        _text(line["product"], 8),
        _text(line["member"], 8),
        line["sac_code"],
        str(line["quantity"]),
        indian_grouping(line["gross_paise"]),
        indian_grouping(line["discount_paise"]),
    ]
    if kind is InvoiceKind.BILL_OF_SUPPLY:
        return [*described, indian_grouping(line["total_paise"])]
    if kind is InvoiceKind.INVOICE_CUM_BILL_OF_SUPPLY and line["gst_rate_percent"] == 0:
        taxes = [NO_TAX] * 3
    else:
        taxes = [indian_grouping(line[f"{tax}_paise"]) for tax in ("cgst", "sgst", "igst")]
    return [
        *described,
        indian_grouping(line["taxable_paise"]),
        _rate(line["gst_rate_percent"]),
        *taxes,
        indian_grouping(line["total_paise"]),
    ]


def _totals_row(sums: dict[str, int], kind: InvoiceKind) -> list[Any]:
    row = ["", "Total", "", "", ""]
    row += [indian_grouping(sums["gross_paise"]), indian_grouping(sums["discount_paise"])]
    if kind is InvoiceKind.BILL_OF_SUPPLY:
        return [*row, indian_grouping(sums["total_paise"])]
    return [
        *row,
        indian_grouping(sums["taxable_paise"]),
        "",
        indian_grouping(sums["cgst_paise"]),
        indian_grouping(sums["sgst_paise"]),
        indian_grouping(sums["igst_paise"]),
        indian_grouping(sums["total_paise"]),
    ]


def _lines_table(content: dict[str, Any]) -> Table:
    kind = issued_kind(content)
    columns, widths = {
        InvoiceKind.TAX_INVOICE: (COLUMNS, WIDTHS),
        InvoiceKind.INVOICE_CUM_BILL_OF_SUPPLY: (MIXED_COLUMNS, MIXED_WIDTHS),
        InvoiceKind.BILL_OF_SUPPLY: (EXEMPT_COLUMNS, EXEMPT_WIDTHS),
    }[kind]
    rows: list[list[Any]] = [list(columns)]
    rows += [_line_row(n, line, kind) for n, line in enumerate(content["lines"], start=1)]
    rows.append(_totals_row(content["totals"], kind))
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), REGULAR),
                ("FONTNAME", (0, 0), (-1, 0), BOLD),
                ("FONTNAME", (0, -1), (-1, -1), BOLD),
                ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                ("ALIGN", (4, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
            ]
        )
    )
    return table


def _parties(content: dict[str, Any]) -> Table:
    supplier, customer = content["supplier"], content["customer"]
    supplier_text = "\n".join(
        [
            supplier["legal_name"],
            supplier["address"],
            f"State: {supplier['state']}",
            f"GSTIN: {supplier['gstin']}",
        ]
    )
    customer_text = "\n".join(
        [customer["name"], *customer["address"], f"Place of supply: {content['place_of_supply']}"]
    )
    table = Table(
        [
            [_text("Supplier", bold=True), _text("Billed to", bold=True)],
            [_text(supplier_text), _text(customer_text)],
        ],
        colWidths=[136 * mm, 137 * mm],
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _tax_note(content: dict[str, Any]) -> str:
    kind = issued_kind(content)
    if kind is InvoiceKind.BILL_OF_SUPPLY:
        return "Exempt supply: no GST is charged. Amounts in Indian rupees."
    tax = (
        "CGST and SGST (supply within the state)"
        if content["intra_state"]
        else "IGST (supply to another state)"
    )
    if kind is InvoiceKind.TAX_INVOICE:
        return f"Prices include GST. Tax: {tax}. Amounts in Indian rupees."
    lines = content["lines"]
    taxable = sum(line["total_paise"] for line in lines if line["gst_rate_percent"])
    exempt = sum(line["total_paise"] for line in lines if not line["gst_rate_percent"])
    return (
        f"Taxable supplies {rupees_text(taxable)}: prices include GST. Tax: {tax}. "
        f"Exempt supplies {rupees_text(exempt)}: no GST is charged. Amounts in Indian rupees."
    )


def _signatory(content: dict[str, Any]) -> Table:
    """The supplier's signatory block (rules 46 and 49)."""
    block = _text(f"For {content['supplier']['legal_name']}\n\n\nAuthorised signatory", 9)
    return Table([["", block]], colWidths=[173 * mm, 100 * mm])


def _story(content: dict[str, Any]) -> list[Flowable]:
    heading = [
        f"{content['title_label']}: {content['number']}",
        f"Date: {content['date']}",
        f"Order: {content['order_number']}",
    ]
    if content.get("reference"):
        heading.append(content["reference"])
    story: list[Flowable] = [
        _text(content["title"], 16, bold=True),
        Spacer(1, 3 * mm),
        _text("\n".join(heading)),
        Spacer(1, 4 * mm),
        _parties(content),
        Spacer(1, 5 * mm),
        _lines_table(content),
        Spacer(1, 4 * mm),
        _text(f"Amount: {rupees_text(content['totals']['total_paise'])}", 10, bold=True),
        _text(f"In words: {content['amount_in_words']}", 9),
        Spacer(1, 3 * mm),
        _text(_tax_note(content), 8),
        Spacer(1, 6 * mm),
        _signatory(content),
    ]
    return story


def render_pdf(content: dict[str, Any]) -> bytes:
    """The document as PDF bytes (A4 landscape)."""
    _register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{content['title']} {content['number']}",
        author=content["supplier"]["legal_name"],
        creator=content["supplier"]["legal_name"],
        invariant=1,
    )
    document.build(_story(content))
    return buffer.getvalue()
