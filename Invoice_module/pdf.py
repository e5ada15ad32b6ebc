"""The PDF of an invoice or credit note, drawn (reportlab) from the content stored when it was
issued. Rendered once, then stored; `invariant` keeps reportlab's dates and ids out of the
file, so the same content always gives the same bytes."""

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


def _line_row(number: int, line: dict[str, Any]) -> list[Any]:
    return [
        str(number),
        _text(line["product"], 8),
        _text(line["member"], 8),
        line["sac_code"],
        str(line["quantity"]),
        indian_grouping(line["gross_paise"]),
        indian_grouping(line["discount_paise"]),
        indian_grouping(line["taxable_paise"]),
        _rate(line["gst_rate_percent"]),
        indian_grouping(line["cgst_paise"]),
        indian_grouping(line["sgst_paise"]),
        indian_grouping(line["igst_paise"]),
        indian_grouping(line["total_paise"]),
    ]


def _lines_table(content: dict[str, Any]) -> Table:
    sums = content["totals"]
    rows: list[list[Any]] = [list(COLUMNS)]
    rows += [_line_row(n, line) for n, line in enumerate(content["lines"], start=1)]
    rows.append(
        [
            "",
            "Total",
            "",
            "",
            "",
            indian_grouping(sums["gross_paise"]),
            indian_grouping(sums["discount_paise"]),
            indian_grouping(sums["taxable_paise"]),
            "",
            indian_grouping(sums["cgst_paise"]),
            indian_grouping(sums["sgst_paise"]),
            indian_grouping(sums["igst_paise"]),
            indian_grouping(sums["total_paise"]),
        ]
    )
    table = Table(rows, colWidths=[w * mm for w in WIDTHS], repeatRows=1)
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


def _story(content: dict[str, Any]) -> list[Flowable]:
    heading = [
        f"{content['title_label']}: {content['number']}",
        f"Date: {content['date']}",
        f"Order: {content['order_number']}",
    ]
    if content.get("reference"):
        heading.append(content["reference"])
    tax_note = (
        "CGST and SGST (supply within the state)"
        if content["intra_state"]
        else "IGST (supply to another state)"
    )
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
        _text(f"Prices include GST. Tax: {tax_note}. Amounts in Indian rupees.", 8),
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
