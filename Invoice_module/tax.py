"""The arithmetic of a tax invoice, in whole paise: the order's discount shared across lines,
tax-inclusive prices split into taxable value and GST, CGST/SGST halves, amounts printed the
Indian way (12,34,567.89) and in words (lakh, crore).

Every split is a largest-remainder allocation, so the parts always add up to the whole: the
lines to what the customer paid, the taxes to each line's tax.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from num2words import num2words

GST_RATES = (0, 5, 12, 18, 28)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` shared in proportion to `weights` (largest remainder; ties to the earlier)."""
    total = sum(weights)
    if amount < 0 or any(weight < 0 for weight in weights):
        raise ValueError("amounts and weights must not be negative")
    if not weights:
        if amount:
            raise ValueError("nothing to share the amount across")
        return []
    if total == 0:
        return allocate(amount, [1] * len(weights))
    shares = [amount * weight // total for weight in weights]
    remainders = [amount * weight % total for weight in weights]
    left = amount - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return shares


def split_inclusive(amount: int, rate_percent: int) -> tuple[int, int]:
    """A tax-inclusive amount as (taxable value, tax): taxable = amount * 100 / (100 + rate),
    rounded half up to the paisa; the tax is the rest."""
    if rate_percent not in GST_RATES:
        raise ValueError(f"GST rate {rate_percent} % is not one of {GST_RATES}")
    base = 100 + rate_percent
    taxable = (amount * 200 + base) // (2 * base)
    return taxable, amount - taxable


def halves(tax: int) -> tuple[int, int]:
    """CGST and SGST: the tax in two halves that add up to it (an odd paisa goes to CGST)."""
    cgst = (tax + 1) // 2
    return cgst, tax - cgst


@dataclass(frozen=True)
class LineInput:
    """One line as bought: its price before the discount, tax included."""

    product: str
    member: str
    sac_code: str
    quantity: int
    gross_paise: int
    gst_rate_percent: int


@dataclass(frozen=True)
class TaxLine:
    product: str
    member: str
    sac_code: str
    quantity: int
    gross_paise: int
    discount_paise: int
    taxable_paise: int
    gst_rate_percent: int
    cgst_paise: int
    sgst_paise: int
    igst_paise: int
    total_paise: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def tax_lines(lines: Sequence[LineInput], discount_paise: int, intra_state: bool) -> list[TaxLine]:
    """The lines after their share of the discount, each split into taxable value and GST
    (CGST + SGST within the supplier's state, else IGST)."""
    gross = [line.gross_paise for line in lines]
    if discount_paise > sum(gross):
        raise ValueError("the discount is larger than the lines")
    discounts = allocate(discount_paise, gross)
    out = []
    for line, discount in zip(lines, discounts, strict=True):
        total = line.gross_paise - discount
        taxable, tax = split_inclusive(total, line.gst_rate_percent)
        cgst, sgst = halves(tax) if intra_state else (0, 0)
        out.append(
            TaxLine(
                product=line.product,
                member=line.member,
                sac_code=line.sac_code,
                quantity=line.quantity,
                gross_paise=line.gross_paise,
                discount_paise=discount,
                taxable_paise=taxable,
                gst_rate_percent=line.gst_rate_percent,
                cgst_paise=cgst,
                sgst_paise=sgst,
                igst_paise=0 if intra_state else tax,
                total_paise=total,
            )
        )
    return out


TOTAL_FIELDS = (
    "gross_paise",
    "discount_paise",
    "taxable_paise",
    "cgst_paise",
    "sgst_paise",
    "igst_paise",
    "total_paise",
)


def totals(lines: Sequence[TaxLine]) -> dict[str, int]:
    return {field: sum(getattr(line, field) for line in lines) for field in TOTAL_FIELDS}


def indian_grouping(paise: int) -> str:
    """`1234567_89` -> `12,34,567.89`: the last three digits, then groups of two."""
    sign = "-" if paise < 0 else ""
    rupees, fraction = divmod(abs(paise), 100)
    digits = str(rupees)
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return f"{sign}{','.join([*groups, tail])}.{fraction:02d}"


def rupees_text(paise: int) -> str:
    """`₹12,34,567.89`."""
    return f"₹{indian_grouping(paise)}"


def _words(number: int) -> str:
    spoken = num2words(number, lang="en_IN").replace(",", "").replace(" and ", " ")
    return " ".join(
        "-".join(part.capitalize() for part in word.split("-")) for word in spoken.split()
    )


def amount_in_words(paise: int) -> str:
    """`2899950` -> `Rupees Twenty-Eight Thousand Nine Hundred Ninety-Nine and Paise Fifty Only`."""
    rupees, fraction = divmod(paise, 100)
    text = f"Rupees {_words(rupees)}"
    if fraction:
        text += f" and Paise {_words(fraction)}"
    return f"{text} Only"
