"""Amounts, prices and durations round-trip exactly, to the wei and to the second, and read the
same as the query language reads them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gpuhub import PriceUnit
from gpuhub.index._schema import from_wei, stored_wei
from gpuhub.search import Query
from gpuhub.units import (
    MONEY_UNITS,
    format_duration,
    format_price,
    format_wei,
    parse_amount,
    parse_duration,
    parse_price,
)

WEI = st.integers(min_value=0, max_value=2**256 - 1)
WORDS = st.sampled_from(sorted(MONEY_UNITS))
FAST = settings(max_examples=200, deadline=None)


def case(text: str, flips: list[bool]) -> str:
    """``text`` with the letters at the flipped positions in upper case."""
    padded = flips + [False] * (len(text) - len(flips))
    return "".join(c.upper() if f else c for c, f in zip(text, padded, strict=False))


@FAST
@given(WEI, st.sampled_from(["eth", "gwei", "wei"]))
def test_format_then_parse_is_the_same_wei(wei: int, unit: str) -> None:
    """parse_amount reads back what format_wei prints, in any unit, to the wei."""
    assert parse_amount(format_wei(wei, unit)) == wei


@FAST
@given(WEI, WEI)
def test_different_amounts_print_differently(a: int, b: int) -> None:
    """Two different amounts never print alike (the tables can tell prices apart)."""
    assert (format_wei(a) == format_wei(b)) == (a == b)


@FAST
@given(
    st.integers(min_value=0, max_value=10**30),
    st.integers(min_value=0, max_value=18),
    WORDS,
    st.lists(st.booleans(), max_size=8),
)
def test_decimal_amounts_are_exact(
    digits: int, decimals: int, word: str, flips: list[bool]
) -> None:
    """``D.DDDword`` is exactly digits * scale / 10**decimals wei, in any case, or refused when
    that is not a whole number."""
    text = str(digits).rjust(decimals + 1, "0")
    written = f"{text[: len(text) - decimals]}.{text[len(text) - decimals :]}" if decimals else text
    numerator = digits * MONEY_UNITS[word]
    amount = written + case(word, flips)
    if numerator % 10**decimals:
        try:
            parse_amount(amount)
        except ValueError:
            return
        raise AssertionError(f"{amount} was read though it is a fraction of a wei")
    assert parse_amount(amount) == numerator // 10**decimals


@FAST
@given(st.integers(min_value=0, max_value=2**200), WORDS)
def test_amounts_read_as_the_query_language_reads_them(wei: int, word: str) -> None:
    """A money value means the same wei to parse_amount and to a search query."""
    text = format_wei(wei, word, symbol=False) + word
    term = Query.parse(f"price<={text}").terms[0]
    assert term.value == parse_amount(text) == wei


@FAST
@given(st.integers(min_value=0, max_value=2**96 - 1), st.sampled_from(list(PriceUnit)))
def test_prices_round_trip(wei: int, unit: PriceUnit) -> None:
    """parse_price reads back what format_price prints."""
    assert parse_price(format_price(wei, unit)) == (wei, unit)


@FAST
@given(st.integers(min_value=0, max_value=2**40))
def test_durations_round_trip(seconds: int) -> None:
    """parse_duration reads back what format_duration prints, to the second."""
    assert parse_duration(format_duration(seconds)) == seconds


@FAST
@given(WEI, WEI)
def test_stored_amounts_sort_as_the_amounts(a: int, b: int) -> None:
    """The index's stored form of two amounts compares (as bytes, as both databases compare
    them) exactly as the amounts do, and reads back to the wei."""
    assert (stored_wei(a) < stored_wei(b)) == (a < b)
    assert (stored_wei(a) == stored_wei(b)) == (a == b)
    assert from_wei(stored_wei(a)) == a
