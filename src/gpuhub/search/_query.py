"""The query model and its parser: fields, operators, values with units, sort, limit, offset.

A query is a list of terms ``field op value`` that must all hold, plus ``sort=``, ``limit=``
and ``offset=``. It parses from the string users type and prints back as that string, in a
normal form (``Query.parse(str(q)) == q``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any

from .._core import parse_whole
from ..exceptions import QueryError, ValidationError
from ..models import ListingStatus, PriceUnit
from ._lexer import Token, quote, tokenize


class Kind(Enum):
    """What a field's values are, which decides the operators and units it takes."""

    INT = "integer"
    MONEY = "amount of wei"
    DURATION = "duration"
    HOURS = "time"
    TEXT = "text"
    ADDRESS = "address"
    UNIT = "price unit"
    STATUS = "listing status"
    SCORE = "score"


@dataclass(frozen=True, slots=True)
class Time:
    """A span of time given with a unit (``3h``, ``2d``), held exactly in seconds."""

    seconds: Fraction


@dataclass(frozen=True, slots=True)
class Field:
    """A field queries can filter and sort on."""

    name: str
    kind: Kind
    doc: str


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("id", Kind.INT, "listing id"),
        Field("provider", Kind.ADDRESS, "provider address (~ matches part of it)"),
        Field("model", Kind.TEXT, "GPU model (~ is a case-insensitive substring match)"),
        Field("capacity", Kind.INT, "GPU memory in GB"),
        Field("price", Kind.MONEY, "price per the listing's own unit"),
        Field("unit", Kind.UNIT, "price unit: minute, hour or day"),
        Field("price_per_hour", Kind.MONEY, "price converted exactly to wei per hour"),
        Field("min_duration", Kind.DURATION, "shortest rental, in the listing's units or 3h"),
        Field("max_duration", Kind.DURATION, "longest rental, in the listing's units or 2d"),
        Field("max_hours", Kind.HOURS, "longest rental in hours (or with a unit: 2d)"),
        Field("status", Kind.STATUS, "available (the default), unavailable, rented, removed, any"),
        Field(
            "rating",
            Kind.SCORE,
            "the provider's score weighted by what was billed, 1..5 (3 with no ratings)",
        ),
        Field("ratings", Kind.INT, "how many ratings the provider received from renters"),
        Field("completed", Kind.INT, "rentals the provider completed"),
        Field("terminations", Kind.INT, "rentals the provider ended early"),
    )
}

#: fields that come from the provider's reputation rather than the listing.
REPUTATION_FIELDS = frozenset({"rating", "ratings", "completed", "terminations"})
#: most decimal places a score may have.
SCORE_DECIMALS = 6

ORDER_OPS = ("=", "!=", "<", "<=", ">", ">=")
LIST_OPS = ("in", "notin")
_OPS_BY_KIND: dict[Kind, tuple[str, ...]] = {
    Kind.INT: ORDER_OPS,
    Kind.MONEY: ORDER_OPS,
    Kind.DURATION: ORDER_OPS,
    Kind.HOURS: ORDER_OPS,
    Kind.TEXT: ("=", "!=", "~"),
    Kind.ADDRESS: ("=", "!=", "~"),
    Kind.UNIT: ("=", "!="),
    Kind.STATUS: ("=", "!="),
    Kind.SCORE: ORDER_OPS,
}
_OPTIONS = ("sort", "limit", "offset")

_MONEY_UNITS = {"wei": 1, "gwei": 10**9, "eth": 10**18, "ether": 10**18}
_TIME_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
}
# ASCII digits only: Python's \d and Decimal also read other scripts' digits ("٣" as 3).
_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?([A-Za-z]*)", re.ASCII)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_MAX_EXPONENT = 80
#: most digits a number may have (every field's values fit in 78).
_MAX_DIGITS = 100


@dataclass(frozen=True, slots=True)
class Term:
    """One condition: ``field op value``; for ``in`` / ``notin`` the value is a tuple."""

    field: str
    op: str
    value: Any

    def __str__(self) -> str:
        kind = FIELDS[self.field].kind
        if self.op in LIST_OPS:
            items = ", ".join(format_value(kind, v) for v in self.value)
            return f"{self.field} {self.op} [{items}]"
        return f"{self.field}{self.op}{format_value(kind, self.value)}"


@dataclass(frozen=True, slots=True)
class SortKey:
    """Sort by ``field``, descending when ``descending``."""

    field: str
    descending: bool = False

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.field


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed search: terms that must all hold, sort keys, and the page to return.

    Listings are filtered to ``status=available`` unless a ``status`` term says otherwise
    (``status=any`` lifts it). Results are ordered by the sort keys, then by id.

    Example::

        >>> q = Query.parse("model~4090 capacity>=24 price_per_hour<=0.5eth sort=price_per_hour")
        >>> str(q)
        'model~4090 capacity>=24 price_per_hour<=0.5eth sort=price_per_hour'
        >>> Query.build(model="4090", min_capacity=24, sort=["price_per_hour"]) == Query.parse(
        ...     "model~4090 capacity>=24 sort=price_per_hour")
        True
    """

    terms: tuple[Term, ...] = ()
    sort: tuple[SortKey, ...] = ()
    limit: int | None = None
    offset: int = 0
    _source: str = field(default="", compare=False, repr=False)

    def __str__(self) -> str:
        parts = [str(t) for t in self.terms]
        if self.sort:
            parts.append("sort=" + ",".join(str(k) for k in self.sort))
        if self.limit is not None:
            parts.append(f"limit={self.limit}")
        if self.offset:
            parts.append(f"offset={self.offset}")
        return " ".join(parts)

    @classmethod
    def parse(cls, text: str) -> Query:
        """Parse a query string.

        Raises:
            QueryError: with ``position``, the 0-based offset where the problem starts.
        """
        if not isinstance(text, str):
            raise ValidationError("query", f"expected a string, got {type(text).__name__}")
        return _Parser(text).parse()

    @classmethod
    def build(cls, **kwargs: Any) -> Query:
        """The query that keyword arguments describe.

        ``field=value`` is an equality (``model=`` a substring match, a list an ``in``),
        ``min_field=`` / ``max_field=`` are ``>=`` / ``<=``; ``sort`` takes a list of field names
        (``-`` for descending), ``limit`` and ``offset`` integers. Integers are wei for money,
        units for durations and hours for ``max_hours``; strings are read as in a query
        (``"0.5eth"``, ``"3h"``).

        Raises:
            ValidationError: an unknown argument or a bad value, naming the argument.
        """
        terms: list[Term] = []
        sort: tuple[SortKey, ...] = ()
        limit: int | None = None
        offset = 0
        for key, raw in kwargs.items():
            if raw is None:
                continue
            if key == "sort":
                names = [raw] if isinstance(raw, str) else list(raw)
                sort = tuple(_sort_key(str(n), key) for n in names)
            elif key in ("limit", "offset"):
                number = _whole(raw, key)
                if key == "limit":
                    limit = number
                else:
                    offset = number
            else:
                terms.append(_keyword_term(key, raw))
        return cls(tuple(terms), sort, limit, offset)

    @classmethod
    def of(cls, query: str | Query | None = None, **kwargs: Any) -> Query:
        """``query`` (a string or a Query) with the keyword arguments' terms added.

        Keyword ``sort``, ``limit`` and ``offset`` replace the query's own.
        """
        base = cls() if query is None else query if isinstance(query, Query) else cls.parse(query)
        if not kwargs:
            return base
        extra = cls.build(**kwargs)
        return cls(
            base.terms + extra.terms,
            extra.sort if "sort" in kwargs else base.sort,
            extra.limit if "limit" in kwargs else base.limit,
            extra.offset if "offset" in kwargs else base.offset,
        )

    def uses_reputation(self) -> bool:
        """True when a term or a sort key needs the providers' reputations."""
        names = {t.field for t in self.terms} | {k.field for k in self.sort}
        return bool(names & REPUTATION_FIELDS)

    def filters(self) -> tuple[Term, ...]:
        """The terms to apply: ``status=available`` added unless a status term is present,
        ``status=any`` dropped."""
        if not any(t.field == "status" for t in self.terms):
            return (*self.terms, Term("status", "=", ListingStatus.AVAILABLE))
        return tuple(t for t in self.terms if not (t.field == "status" and t.value is None))


# ---------------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(message, position=position, query=self.text)

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, what: str, after: Token) -> Token:
        token = self.peek()
        if token is None:
            raise self.error(f"missing {what} after {after.text!r}", len(self.text))
        self.at += 1
        return token

    def parse(self) -> Query:
        terms: list[Term] = []
        options: dict[str, Any] = {}
        while (token := self.peek()) is not None:
            self.at += 1
            if token.kind != "word":
                raise self.error(f"expected a field name, got {token.text!r}", token.position)
            name = token.text
            if name in _OPTIONS:
                if name in options:
                    raise self.error(f"{name}= given twice; keep one", token.position)
                options[name] = self.option(token)
            elif name in FIELDS:
                terms.append(self.term(token))
            else:
                raise self.error(_unknown_field(name, self.peek()), token.position)
        return Query(
            tuple(terms),
            options.get("sort", ()),
            options.get("limit"),
            options.get("offset", 0),
            self.text,
        )

    def option(self, name: Token) -> Any:
        op = self.take("'='", name)
        if op.kind != "op" or op.text != "=":
            raise self.error(f"{name.text} takes '=', as in {name.text}=...", op.position)
        if name.text == "sort":
            keys = [self.sort_key(self.take("a field to sort by", op))]
            while (comma := self.peek()) is not None and comma.kind == ",":
                self.at += 1
                keys.append(self.sort_key(self.take("a field to sort by", comma)))
            return tuple(keys)
        value = self.take("a number", op)
        try:
            return _whole(value.text, name.text)
        except ValidationError as err:
            raise self.error(
                f"{name.text} takes a whole number, got {value.text!r}", value.position
            ) from err

    def sort_key(self, token: Token) -> SortKey:
        if token.kind != "word":
            raise self.error(f"expected a field to sort by, got {token.text!r}", token.position)
        try:
            return _sort_key(token.text, "sort")
        except ValidationError as err:
            raise self.error(str(err).removeprefix("sort: "), token.position) from err

    def term(self, name: Token) -> Term:
        spec = FIELDS[name.text]
        op = self.take("an operator", name)
        if op.kind == "word" and op.text.lower() in LIST_OPS:
            return Term(spec.name, op.text.lower(), self.values(spec, op))
        if op.kind != "op":
            raise self.error(
                f"expected an operator after {name.text!r} "
                f"({' '.join(_OPS_BY_KIND[spec.kind])} in notin), got {op.text!r}",
                op.position,
            )
        allowed = _OPS_BY_KIND[spec.kind]
        if op.text not in allowed:
            raise self.error(
                f"operator {op.text!r} does not apply to {spec.name} ({spec.kind.value}); "
                f"use one of {' '.join(allowed)} in notin",
                op.position,
            )
        value = self.take("a value", op)
        if value.kind not in ("word", "string"):
            raise self.error(f"expected a value after {op.text!r}", value.position)
        return Term(spec.name, op.text, self.value(spec, op.text, value))

    def values(self, spec: Field, op: Token) -> tuple[Any, ...]:
        bracket = self.take("'['", op)
        if bracket.kind != "[":
            raise self.error(f"{op.text} takes a list, as in [a, b]", bracket.position)
        items: list[Any] = []
        while True:
            token = self.peek()
            if token is None:
                raise self.error("unterminated list: add ']'", bracket.position)
            self.at += 1
            if token.kind == "]" and not items:
                return ()
            if token.kind not in ("word", "string"):
                raise self.error(
                    f"expected a value in the list, got {token.text!r}", token.position
                )
            items.append(self.value(spec, "=", token))
            after = self.peek()
            if after is None:
                raise self.error("unterminated list: add ']'", bracket.position)
            self.at += 1
            if after.kind == "]":
                return tuple(items)
            if after.kind != ",":
                raise self.error(
                    f"expected ',' or ']' in the list, got {after.text!r}", after.position
                )

    def value(self, spec: Field, op: str, token: Token) -> Any:
        try:
            return parse_value(spec, op, token.text)
        except ValidationError as err:
            raise self.error(str(err).removeprefix(f"{spec.name}: "), token.position) from err


def _unknown_field(name: str, following: Token | None) -> str:
    known = [*FIELDS, *_OPTIONS]
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
    if following is None or (following.kind != "op" and following.text.lower() not in LIST_OPS):
        message = f"unexpected text {name!r}: expected field op value (e.g. capacity>=24)"
    else:
        message = f"unknown field {name!r}"
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    return f"{message}; fields are {', '.join(FIELDS)}"


def _sort_key(text: str, argument: str) -> SortKey:
    descending = text.startswith("-")
    name = text[1:] if descending else text
    if name not in FIELDS:
        close = difflib.get_close_matches(name, list(FIELDS), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; fields are {', '.join(FIELDS)}"
        raise ValidationError(argument, f"unknown field {name!r} to sort by{hint}")
    return SortKey(name, descending)


def _whole(raw: Any, argument: str) -> int:
    if isinstance(raw, str):
        return parse_whole(argument, raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    raise ValidationError(argument, f"expected a whole number >= 0, got {raw!r}")


# ---------------------------------------------------------------------------------- values


def parse_value(spec: Field, op: str, text: str) -> Any:
    """The value ``text`` means for ``spec`` (ValidationError naming the field if none)."""
    kind = spec.kind
    if kind is Kind.TEXT:
        return text
    if kind is Kind.ADDRESS:
        if op != "~" and not _ADDRESS.fullmatch(text):
            raise ValidationError(
                spec.name, f"expected a 0x address of 40 hex digits, got {text!r} (~ matches part)"
            )
        return text.lower()
    if kind is Kind.UNIT:
        return _enum_value(spec.name, PriceUnit, text)
    if kind is Kind.STATUS:
        if text.lower() == "any":
            if op != "=":
                raise ValidationError(spec.name, "'any' only goes with '=': status=any")
            return None
        return _enum_value(spec.name, ListingStatus, text)
    number, unit = _number(spec.name, text)
    if kind is Kind.SCORE:
        if unit:
            raise ValidationError(spec.name, f"takes a plain number, got the unit {unit!r}")
        if (number * 10**SCORE_DECIMALS).denominator != 1:
            raise ValidationError(spec.name, f"takes at most {SCORE_DECIMALS} decimal places")
        return number
    if kind is Kind.INT:
        if unit:
            raise ValidationError(spec.name, f"takes a plain number, got the unit {unit!r}")
        return _integral(spec.name, number, "")
    if kind is Kind.MONEY:
        scale = _unit_scale(spec.name, unit or "wei", _MONEY_UNITS)
        return _integral(spec.name, number * scale, " of wei")
    if kind is Kind.DURATION and not unit:
        return _integral(spec.name, number, " of units")
    scale = _unit_scale(spec.name, unit or "h", _TIME_UNITS)
    return Time(number * scale)


def _number(name: str, text: str) -> tuple[Fraction, str]:
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise ValidationError(name, f"expected a number, got {text!r}")
    mantissa, exponent, unit = match.groups()
    if len(mantissa) > _MAX_DIGITS:
        raise ValidationError(name, f"the number has more than {_MAX_DIGITS} digits")
    if exponent and len(exponent.lstrip("+-")) > 6:
        raise ValidationError(name, f"the exponent is out of range (at most {_MAX_EXPONENT})")
    power = int(exponent or 0)
    if abs(power) > _MAX_EXPONENT:
        raise ValidationError(name, f"exponent {power} is out of range (at most {_MAX_EXPONENT})")
    return Fraction(Decimal(mantissa)) * Fraction(10) ** power, unit.lower()


def _unit_scale(name: str, unit: str, units: Mapping[str, int]) -> int:
    scale = units.get(unit)
    if scale is None:
        close = difflib.get_close_matches(unit, list(units), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else f"; units are {', '.join(units)}"
        raise ValidationError(name, f"unknown unit {unit!r}{hint}")
    return scale


def _integral(name: str, value: Fraction, what: str) -> int:
    if value.denominator != 1:
        raise ValidationError(name, f"must be a whole number{what}, got {_decimal(value)}")
    return int(value)


def _enum_value(name: str, enum: type[PriceUnit] | type[ListingStatus], text: str) -> Any:
    member = enum.__members__.get(text.upper())
    if member is None:
        options = [m.lower() for m in enum.__members__]
        if enum is ListingStatus:
            options.append("any")
        close = difflib.get_close_matches(text.lower(), options, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; one of {', '.join(options)}"
        raise ValidationError(name, f"unknown {name} {text!r}{hint}")
    return member


def format_value(kind: Kind, value: Any) -> str:
    """``value`` as the grammar writes it (``0.5eth``, ``3h``, ``available``)."""
    if kind is Kind.TEXT:
        return quote(value)
    if kind in (Kind.UNIT, Kind.STATUS):
        return "any" if value is None else str(value.name.lower())
    if kind is Kind.MONEY:
        return _format_wei(value)
    if isinstance(value, Time):
        return _format_time(value.seconds)
    if isinstance(value, Fraction):
        return _decimal(value)
    return str(value)


def _format_wei(wei: int) -> str:
    if wei and wei % 10**12 == 0:
        return _decimal(Fraction(wei, 10**18)) + "eth"
    if wei and wei % 10**9 == 0:
        return f"{wei // 10**9}gwei"
    return f"{wei}wei"


def _format_time(seconds: Fraction) -> str:
    for unit, scale in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and (seconds / scale).denominator == 1:
            return f"{seconds // scale}{unit}"
    return _decimal(seconds) + "s"


def _decimal(value: Fraction) -> str:
    """The exact decimal digits of a fraction whose denominator divides a power of ten."""
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
        if digits > 2 * _MAX_EXPONENT:
            return f"{value.numerator}/{value.denominator}"
    scaled = int(value * 10**digits)
    if digits == 0:
        return str(scaled)
    whole, part = divmod(scaled, 10**digits)
    return f"{whole}.{part:0{digits}d}"


# ---------------------------------------------------------------------------------- keywords


def _keyword_term(key: str, raw: Any) -> Term:
    if key in FIELDS:
        name = key
        many = isinstance(raw, list | tuple | set | frozenset)
        op = "in" if many else "~" if key == "model" else "="
    elif key[:4] in ("min_", "max_") and key[4:] in FIELDS:
        name, op, many = key[4:], ">=" if key.startswith("min_") else "<=", False
    else:
        close = difflib.get_close_matches(key, _keyword_names(), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValidationError(key, f"unknown search argument{hint}")
    spec = FIELDS[name]
    if op not in LIST_OPS and op not in _OPS_BY_KIND[spec.kind]:
        raise ValidationError(key, f"{spec.name} has no order; pass {spec.name}=...")
    if many:
        return Term(name, op, tuple(_keyword_value(key, spec, v) for v in _ordered(raw)))
    return Term(name, op, _keyword_value(key, spec, raw, op))


def _ordered(values: Iterable[Any]) -> Sequence[Any]:
    if isinstance(values, set | frozenset):
        return sorted(values, key=str)
    return list(values)


def _keyword_value(key: str, spec: Field, raw: Any, op: str = "=") -> Any:
    kind = spec.kind
    try:
        if isinstance(raw, str):
            return parse_value(spec, op, raw)
        if kind is Kind.UNIT and isinstance(raw, PriceUnit):
            return raw
        if kind is Kind.STATUS and isinstance(raw, ListingStatus):
            return raw
        if isinstance(raw, Time) and kind in (Kind.DURATION, Kind.HOURS):
            return raw
        numeric = isinstance(raw, int | float | Decimal | Fraction) and not isinstance(raw, bool)
        if kind is Kind.SCORE and numeric and raw >= 0:
            number = raw if isinstance(raw, Fraction) else Fraction(Decimal(str(raw)))
            if (number * 10**SCORE_DECIMALS).denominator != 1:
                raise ValidationError(key, f"takes at most {SCORE_DECIMALS} decimal places")
            return number
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            if kind is Kind.HOURS:
                return Time(Fraction(raw * 3600))
            if kind in (Kind.INT, Kind.MONEY, Kind.DURATION):
                return raw
    except ValidationError as err:
        raise ValidationError(key, str(err).removeprefix(f"{spec.name}: ")) from err
    raise ValidationError(
        key, f"expected a {kind.value} (a string such as in a query), got {raw!r}"
    )


def _keyword_names() -> list[str]:
    names = [*FIELDS, "sort", "limit", "offset"]
    for name in FIELDS:
        names += [f"min_{name}", f"max_{name}"]
    return names
