"""Amounts, prices and durations as people write them, and wei as people read it.

    >>> import gpuhub
    >>> gpuhub.parse_amount("0.05eth")
    50000000000000000
    >>> gpuhub.parse_price("50gwei/min")
    Price(wei=50000000000, unit=PriceUnit.MINUTE)
    >>> gpuhub.parse_duration("1h30m")
    5400
    >>> gpuhub.format_wei(5 * 10**13)
    '0.00005 ETH'

The words are the query language's (``gpuhub.search``): money in ``wei`` (the default), ``gwei``,
``eth`` or ``ether``; time in ``s``, ``m``/``min``, ``h``/``hr``, ``d``/``day``, ``w``/``week``
(and ``second``, ``minute``, ``hour``, with a plural ``s``); a price's unit is also written as
the HTTP API and ``PriceUnit`` write it (``MINUTE``, ``HOUR``, ``DAY``). Every word is read in
either case.

Everything is exact: the parsers work in integers and ``Fraction``s, never floats, so an amount
that is not a whole number of wei, or a duration that is not a whole number of seconds, is refused
rather than rounded; ``format_wei`` prints every digit there is, so two different amounts never
print alike. Nothing here touches the network or imports web3.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple, TypeVar

from .exceptions import ValidationError
from .models import PriceUnit

__all__ = [
    "MONEY_UNITS",
    "PRICE_UNITS",
    "PRICE_WORD",
    "TIME_UNITS",
    "Price",
    "format_duration",
    "format_price",
    "format_wei",
    "parse_amount",
    "parse_duration",
    "parse_price",
    "to_units",
]

#: wei in one of each money word (the query language's words).
MONEY_UNITS = {"wei": 1, "gwei": 10**9, "eth": 10**18, "ether": 10**18}
#: seconds in one of each time word (the query language's words and their long forms).
TIME_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
}
#: the time words a price may be quoted per, and the listing unit each means.
PRICE_UNITS = {
    word: unit
    for unit in PriceUnit
    for word, seconds in TIME_UNITS.items()
    if seconds == unit.seconds
}

#: the short word each listing unit is written with (``h`` for HOUR).
PRICE_WORD = {PriceUnit.MINUTE: "m", PriceUnit.HOUR: "h", PriceUnit.DAY: "d"}

_T = TypeVar("_T")
_SYMBOLS = {"wei": "wei", "gwei": "gwei", "eth": "ETH", "ether": "ETH"}
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?"
_AMOUNT = re.compile(rf"\s*{_NUMBER}\s*([A-Za-z]*)\s*")
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)")
_MAX_EXPONENT = 80
# Longer text is no amount anyone means, and a bound keeps big-number arithmetic cheap.
_MAX_TEXT = 100
_MAX_WEI = 2**256 - 1


class Price(NamedTuple):
    """A price as a listing holds it: ``wei`` per one ``unit`` of time."""

    #: wei per unit.
    wei: int
    #: the unit of time the price is quoted per.
    unit: PriceUnit


def parse_amount(text: str, *, field: str = "amount") -> int:
    """Wei in an amount written as ``2eth``, ``0.05 ETH``, ``50gwei``, ``1.5e9`` or plain wei.

    Args:
        text: a number, optionally with a money word (``wei`` when none).
        field: the name a ValidationError gives the value.

    Raises:
        ValidationError: not an amount, an unknown word, a fraction of a wei, or above 2**256 - 1.
    """
    match = _AMOUNT.fullmatch(_checked_text(field, text))
    if match is None:
        raise ValidationError(
            field, f"expected an amount such as 2eth, 50gwei or 1000 (wei), got {text!r}"
        )
    mantissa, exponent, word = match.groups()
    value = _number(field, mantissa, exponent) * _word(field, word or "wei", MONEY_UNITS)
    if value.denominator != 1:
        raise ValidationError(field, f"{text.strip()} is not a whole number of wei")
    if value > _MAX_WEI:
        raise ValidationError(field, f"{text.strip()} is more wei than 2**256 - 1")
    return int(value)


def parse_price(text: str, *, field: str = "price") -> Price:
    """A price written as ``0.05eth/h``, ``50gwei/min``, ``2 ETH/day`` or ``1000/HOUR``.

    Raises:
        ValidationError: no ``/unit``, an unknown unit, or an amount ``parse_amount`` refuses.
    """
    amount, slash, per = _checked_text(field, text).partition("/")
    if not slash:
        raise ValidationError(
            field, f"say what the price is per, as in 0.05eth/h or 50gwei/min, got {text!r}"
        )
    wei = parse_amount(amount, field=field)
    return Price(wei, _word(field, per.strip(), PRICE_UNITS))


def parse_duration(
    text: str, *, default_unit: PriceUnit | None = None, field: str = "duration"
) -> int:
    """Seconds in a duration written as ``2h``, ``3d``, ``90m``, ``1h30m`` or ``1.5h``.

    Args:
        text: one or more numbers, each with a time word; a bare number counts ``default_unit``.
        default_unit: what a bare number counts (a listing's unit); None refuses bare numbers.
        field: the name a ValidationError gives the value.

    Raises:
        ValidationError: not a duration, an unknown word, or a fraction of a second.
    """
    checked = _checked_text(field, text).strip()
    total = Fraction(0)
    position = 0
    for part in _DURATION_PART.finditer(checked):
        if part.start() != position:
            break
        number, word = part.groups()
        if not word:
            if default_unit is None or part.end() != len(checked) or position:
                raise ValidationError(
                    field, f"give each number a unit, as in 2h, 3d, 90m or 1h30m, got {text!r}"
                )
            scale = default_unit.seconds
        else:
            scale = _word(field, word, TIME_UNITS)
        total += _number(field, number, None) * scale
        position = part.end()
    if not checked or position != len(checked):
        raise ValidationError(field, f"expected a duration such as 2h, 3d or 90m, got {text!r}")
    if total.denominator != 1:
        raise ValidationError(field, f"{checked} is not a whole number of seconds")
    return int(total)


def to_units(seconds: int, unit: PriceUnit, *, field: str = "duration") -> int:
    """How many whole ``unit``s ``seconds`` makes (``to_units(7200, PriceUnit.HOUR) == 2``).

    Raises:
        ValidationError: ``seconds`` is not a whole number of units.
    """
    count, rest = divmod(seconds, unit.seconds)
    if rest:
        word = unit.name.lower()
        raise ValidationError(
            field,
            f"{format_duration(seconds)} is not a whole number of {word}s (the price is per "
            f"{word}): give a multiple of 1{PRICE_WORD[unit]}",
        )
    return count


def format_wei(wei: int, unit: str = "eth", *, symbol: bool = True) -> str:
    """Wei as an exact decimal number of ``unit`` (``eth``, ``gwei`` or ``wei``), every digit kept.

    ``format_wei(5 * 10**13) == "0.00005 ETH"``, ``format_wei(10**9, "gwei") == "1 gwei"``;
    ``symbol=False`` leaves out the unit (``"0.00005"``). ``parse_amount`` reads the result back
    to the same wei.
    """
    scale = _word("unit", unit, MONEY_UNITS)
    sign = "-" if wei < 0 else ""
    text = _decimal(Fraction(abs(wei), scale))
    return f"{sign}{text} {_SYMBOLS[unit.lower()]}" if symbol else f"{sign}{text}"


def format_price(wei: int, unit: PriceUnit) -> str:
    """A price as ``0.05 ETH/hour``; ``parse_price`` reads it back."""
    return f"{format_wei(wei)}/{unit.name.lower()}"


def format_duration(seconds: int) -> str:
    """Seconds as ``1d2h30m`` (``0s`` for zero); ``parse_duration`` reads it back."""
    if seconds == 0:
        return "0s"
    parts = []
    rest = seconds
    for word, scale in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, rest = divmod(rest, scale)
        if count:
            parts.append(f"{count}{word}")
    return "".join(parts)


def _checked_text(field: str, text: str) -> str:
    if not isinstance(text, str):
        raise ValidationError(field, f"expected text, got {type(text).__name__}")
    if len(text) > _MAX_TEXT:
        raise ValidationError(field, f"at most {_MAX_TEXT} characters, got {len(text)}")
    return text


def _number(field: str, mantissa: str, exponent: str | None) -> Fraction:
    power = int(exponent or 0)
    if abs(power) > _MAX_EXPONENT:
        raise ValidationError(field, f"exponent {power} is out of range (at most {_MAX_EXPONENT})")
    return Fraction(Decimal(mantissa)) * Fraction(10) ** power


def _word(field: str, word: str, words: dict[str, _T]) -> _T:
    key = word.lower()
    found = words.get(key)
    if found is None and key.endswith("s") and len(key) > 3:
        found = words.get(key[:-1])  # hours, mins, days, weeks
    if found is None:
        raise ValidationError(field, f"unknown unit {word!r}; use one of {', '.join(words)}")
    return found


def _decimal(value: Fraction) -> str:
    """The exact decimal digits of a fraction whose denominator divides a power of ten."""
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    scaled = int(value * 10**digits)
    if digits == 0:
        return str(scaled)
    whole, part = divmod(scaled, 10**digits)
    return f"{whole}.{part:0{digits}d}"
