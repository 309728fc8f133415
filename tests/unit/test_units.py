"""gpuhub.units: amounts, prices and durations as people write them, wei as people read it."""

from __future__ import annotations

import pytest

import gpuhub
from gpuhub import PriceUnit, ValidationError
from gpuhub.units import (
    Price,
    format_duration,
    format_price,
    format_wei,
    parse_amount,
    parse_duration,
    parse_price,
    to_units,
)


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("2eth", 2 * 10**18),
        ("0.05eth", 5 * 10**16),
        ("0.05 ETH", 5 * 10**16),
        ("50gwei", 50 * 10**9),
        ("50GWEI", 50 * 10**9),
        ("1.5ether", 15 * 10**17),
        ("1000", 1000),
        ("1000wei", 1000),
        ("1e18", 10**18),
        ("1.5e9", 1_500_000_000),
        (".5eth", 5 * 10**17),
        ("0", 0),
        ("0.000000000000000001eth", 1),
    ],
)
def test_parse_amount(text: str, wei: int) -> None:
    """Amounts with every money word, in any case, read to the exact wei."""
    assert parse_amount(text) == wei


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "expected an amount"),
        ("eth", "expected an amount"),
        ("-1eth", "expected an amount"),
        ("1.5wei", "not a whole number of wei"),
        ("0.0000000000000000001eth", "not a whole number of wei"),
        ("2 eht", "unknown unit 'eht'"),
        ("1e81", "out of range"),
        ("1e78eth", r"more wei than 2\*\*256 - 1"),
        ("1" * 101, "at most 100 characters"),
        ("1,5eth", "expected an amount"),
    ],
)
def test_parse_amount_refuses(text: str, reason: str) -> None:
    """What is not an exact amount of wei is a ValidationError that says why."""
    with pytest.raises(ValidationError, match=reason) as exc:
        parse_amount(text)
    assert exc.value.field == "amount"


def test_parse_price() -> None:
    """A price is an amount per listing unit, written short, long or as PriceUnit names it."""
    assert parse_price("0.05eth/h") == Price(5 * 10**16, PriceUnit.HOUR)
    assert parse_price("50gwei/min") == Price(50 * 10**9, PriceUnit.MINUTE)
    assert parse_price("2 ETH / DAY") == Price(2 * 10**18, PriceUnit.DAY)
    assert parse_price("1000/HOUR") == Price(1000, PriceUnit.HOUR)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1eth", "say what the price is per"),
        ("1eth/week", "unknown unit"),
        ("x/h", "expected an amount"),
    ],
)
def test_parse_price_refuses(text: str, reason: str) -> None:
    """A price without a listing unit, or with an amount that is not one, is refused."""
    with pytest.raises(ValidationError, match=reason) as exc:
        parse_price(text, field="--price")
    assert exc.value.field == "--price"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2h", 7200),
        ("3d", 259_200),
        ("90m", 5400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1.5h", 5400),
        ("45s", 45),
        ("2 hours", 7200),
        ("1w", 604_800),
        ("10MIN", 600),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    """Durations read to whole seconds, compound or not, in any case."""
    assert parse_duration(text) == seconds


def test_bare_duration_counts_the_default_unit() -> None:
    """A bare number counts the listing's unit when one is given, and is refused otherwise."""
    assert parse_duration("3", default_unit=PriceUnit.HOUR) == 10_800
    with pytest.raises(ValidationError, match="give each number a unit"):
        parse_duration("3")
    with pytest.raises(ValidationError, match="give each number a unit"):
        parse_duration("1h 3", default_unit=PriceUnit.HOUR)


@pytest.mark.parametrize("text", ["", "h", "2x", "1.0000001s", "2h-", "--2h"])
def test_parse_duration_refuses(text: str) -> None:
    """What is not a whole number of seconds with known words is refused."""
    with pytest.raises(ValidationError) as exc:
        parse_duration(text)
    assert exc.value.field == "duration"


def test_to_units() -> None:
    """Seconds become whole units of a price, or a ValidationError naming the unit."""
    assert to_units(7200, PriceUnit.HOUR) == 2
    assert to_units(7200, PriceUnit.MINUTE) == 120
    with pytest.raises(ValidationError, match="not a whole number of hours") as exc:
        to_units(5400, PriceUnit.HOUR, field="DURATION")
    assert exc.value.field == "DURATION"


def test_format_wei_tells_close_prices_apart() -> None:
    """Every digit is kept: 5e13 and 1e14 wei, and 1 gwei, print differently and exactly."""
    assert format_wei(5 * 10**13) == "0.00005 ETH"
    assert format_wei(10**14) == "0.0001 ETH"
    assert format_wei(10**9) == "0.000000001 ETH"
    assert format_wei(10**9, "gwei") == "1 gwei"
    assert format_wei(1234, "wei") == "1234 wei"
    assert format_wei(-(10**18), symbol=False) == "-1"
    assert format_wei(0) == "0 ETH"


def test_format_price_and_duration() -> None:
    """Prices and durations print in the forms the parsers read."""
    assert format_price(5 * 10**16, PriceUnit.HOUR) == "0.05 ETH/hour"
    assert format_duration(5400) == "1h30m"
    assert format_duration(90_061) == "1d1h1m1s"
    assert format_duration(0) == "0s"


def test_public_names() -> None:
    """The parsers and the formatter are gpuhub's own names."""
    assert gpuhub.parse_amount is parse_amount
    assert gpuhub.parse_price is parse_price
    assert gpuhub.parse_duration is parse_duration
    assert gpuhub.format_wei is format_wei
