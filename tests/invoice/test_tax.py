"""The invoice arithmetic on its own: exact paise, awkward splits, Indian numbers and years."""

from datetime import UTC, datetime

import pytest

from Invoice_module.numbering import financial_year
from Invoice_module.tax import (
    LineInput,
    allocate,
    amount_in_words,
    halves,
    indian_grouping,
    rupees_text,
    split_inclusive,
    tax_lines,
    totals,
)


@pytest.mark.parametrize(
    ("amount", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (1, [1, 1, 1], [1, 0, 0]),
        (2, [1, 1, 1], [1, 1, 0]),
        (0, [5, 7], [0, 0]),
        (10, [0, 0], [5, 5]),
        (1001, [1_499_900, 2_499_900, 1], [375, 626, 0]),
        (999, [1, 1, 1, 1, 1, 1, 1], [143, 143, 143, 143, 143, 142, 142]),
    ],
)
def test_allocate_shares_exactly_by_largest_remainder(amount, weights, expected) -> None:
    shares = allocate(amount, weights)
    assert shares == expected
    assert sum(shares) == amount


def test_split_inclusive_takes_the_tax_out_of_the_price() -> None:
    assert split_inclusive(11_800, 18) == (10_000, 1_800)
    assert split_inclusive(1_499_900, 18) == (1_271_102, 228_798)
    assert split_inclusive(1_499_900, 0) == (1_499_900, 0)
    assert split_inclusive(1, 28) == (1, 0)
    taxable, tax = split_inclusive(333_333, 12)
    assert taxable + tax == 333_333 and taxable == 297_619
    with pytest.raises(ValueError):
        split_inclusive(100, 7)


def test_halves_add_up_to_the_tax() -> None:
    assert halves(7) == (4, 3)
    assert halves(228_798) == (114_399, 114_399)
    assert halves(0) == (0, 0)


def _line(gross: int, rate: int) -> LineInput:
    return LineInput("Test", "Member", "999316", 1, gross, rate)


@pytest.mark.parametrize("intra_state", [True, False])
def test_discount_shared_across_lines_sums_to_what_was_paid(intra_state: bool) -> None:
    lines = [_line(1_249_950, 18), _line(1_249_950, 18), _line(333_333, 5), _line(99_999, 0)]
    discount = 100_001  # odd paise, shared by four unequal lines
    out = tax_lines(lines, discount, intra_state)
    gross = sum(line.gross_paise for line in lines)
    sums = totals(out)
    assert sums["discount_paise"] == discount
    assert sums["total_paise"] == gross - discount
    for line in out:
        tax = line.cgst_paise + line.sgst_paise + line.igst_paise
        assert line.taxable_paise + tax == line.total_paise
        assert line.total_paise == line.gross_paise - line.discount_paise
        if intra_state:
            assert line.igst_paise == 0 and abs(line.cgst_paise - line.sgst_paise) <= 1
        else:
            assert line.cgst_paise == line.sgst_paise == 0
    exempt = out[-1]
    assert exempt.taxable_paise == exempt.total_paise and exempt.igst_paise == 0


def test_a_discount_larger_than_the_lines_is_refused() -> None:
    with pytest.raises(ValueError):
        tax_lines([_line(100, 0)], 101, True)


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (0, "0.00"),
        (99, "0.99"),
        (100_000, "1,000.00"),
        (12_345_678, "1,23,456.78"),
        (123_456_789, "12,34,567.89"),
        (123_456_789_012, "1,23,45,67,890.12"),
    ],
)
def test_indian_digit_grouping(paise: int, text: str) -> None:
    assert indian_grouping(paise) == text


def test_rupee_sign() -> None:
    assert rupees_text(2_899_950) == "₹28,999.50"


@pytest.mark.parametrize(
    ("paise", "words"),
    [
        (2_899_950, "Rupees Twenty-Eight Thousand Nine Hundred Ninety-Nine and Paise Fifty Only"),
        (
            12_345_678,
            "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six and Paise "
            "Seventy-Eight Only",
        ),
        (1_000_000_000, "Rupees One Crore Only"),
        (101, "Rupees One and Paise One Only"),
    ],
)
def test_amount_in_words_uses_lakh_and_crore(paise: int, words: str) -> None:
    assert amount_in_words(paise) == words


@pytest.mark.parametrize(
    ("moment", "fy"),
    [
        (datetime(2026, 3, 31, 18, 29, 59, tzinfo=UTC), "2025-26"),  # 23:59:59 IST, 31 March
        (datetime(2026, 3, 31, 18, 30, tzinfo=UTC), "2026-27"),  # 00:00 IST, 1 April
        (datetime(2026, 12, 3, tzinfo=UTC), "2026-27"),
        (datetime(2099, 4, 1, tzinfo=UTC), "2099-00"),
    ],
)
def test_financial_year_runs_april_to_march_india_time(moment: datetime, fy: str) -> None:
    assert financial_year(moment) == fy
