"""How gpuhub's objects read: short text for terminals and logs, HTML tables for notebooks.

Money reads as ETH with its unit (every digit kept, ``units.format_wei``), times as UTC dates,
enums by name. Nothing here needs pandas; ``gpuhub.to_dataframe`` (``_frames``) does.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

#: fields that hold wei, in models and typed events (by Python and by Solidity name).
WEI_FIELDS = frozenset(
    {
        "price",
        "paid",
        "excess",
        "cost",
        "used",
        "refund",
        "provider_share",
        "providerShare",
        "fee",
        "billed",
        "amount",
    }
)
#: fields that hold Unix times.
TIME_FIELDS = frozenset({"start", "end"})
#: characters of a text value shown before it is cut (chain strings can be long).
_MAX_TEXT = 80


#: the last Unix second Python's dates hold (the end of the year 9999); a dev chain's clock can be
#: moved past it, so whatever shows chain times as dates stops or caps there.
LAST_SECOND = 253_402_300_799


def when(seconds: int) -> str:
    """Unix seconds as a UTC date and time: ``2026-11-27 18:00:00 UTC``; past what Python's dates
    hold (a dev chain's clock moves as far as asked), the timestamp itself."""
    try:
        moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return f"timestamp {seconds}, past the year 9999"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def short(address: str) -> str:
    """``0x1234…abcd`` for an address; anything else as it is."""
    if isinstance(address, str) and len(address) == 42 and address.startswith("0x"):
        return f"{address[:6]}…{address[-4:]}"
    return str(address)


def value_text(name: str, value: Any, owner: Any = None) -> str:
    """A field's value as a person reads it (``owner``: the object it belongs to)."""
    from .units import format_price, format_wei

    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        unit = getattr(owner, "unit", None)
        if name == "price" and isinstance(unit, Enum):
            return format_price(value, unit)  # type: ignore[arg-type]
        if name in ("min_duration", "max_duration") and isinstance(unit, Enum):
            word = unit.name.lower()
            return f"{value:,} {word}" if value == 1 else f"{value:,} {word}s"
        if name in WEI_FIELDS:
            return format_wei(value)
        if name in TIME_FIELDS:
            return when(value)
        return f"{value:,}" if name in ("capacity",) else str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    text = "0x" + value.hex() if isinstance(value, bytes) else str(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def fields_of(obj: Any) -> list[tuple[str, Any]]:
    """(name, value) of each dataclass field of ``obj``."""
    return [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]


def html_table(caption: str, header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; every text is escaped. A cell may be ``(text, title)``: the title shows on
    hover (the exact wei behind an ETH amount)."""
    parts = ['<table class="gpuhub">', f"<caption>{html.escape(caption)}</caption>"]
    if header is not None:
        cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        parts.append(f"<thead><tr>{cells}</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(_cell(c) for c in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _cell(cell: Any) -> str:
    if isinstance(cell, tuple):
        text, title = cell
        return f'<td title="{html.escape(str(title))}">{html.escape(str(text))}</td>'
    return f"<td>{html.escape(str(cell))}</td>"


def record_html(obj: Any, caption: str | None = None) -> str:
    """A dataclass as a two-column HTML table, one row per field."""
    rows = []
    for name, value in fields_of(obj):
        text = value_text(name, value, obj)
        is_wei = name in WEI_FIELDS and isinstance(value, int) and not isinstance(value, bool)
        rows.append((name, (text, f"{value} wei") if is_wei else text))
    return html_table(caption or summary(obj), ("field", "value"), rows)


def summary(obj: Any) -> str:
    """One line that says what ``obj`` is (its class and its most telling fields)."""
    from . import models

    name = type(obj).__name__
    if isinstance(obj, models.Listing):
        return (
            f"Listing #{obj.listing_id}: {value_text('gpu_model', obj.gpu_model)}, "
            f"{obj.capacity} GB, {value_text('price', obj.price, obj)}, {obj.status.name}, "
            f"provider {short(obj.provider)}"
        )
    if isinstance(obj, models.Rental):
        return (
            f"Rental #{obj.rental_id} of listing #{obj.listing_id}: "
            f"{value_text('price', obj.price, obj)}, {value_text('paid', obj.paid)} paid, "
            f"{when(obj.start)} to {when(obj.end)}, {obj.status.name}, renter {short(obj.renter)}"
        )
    if isinstance(obj, models.Rating):
        return (
            f"Rating of rental #{obj.rental_id}: {obj.score}/5 for the {obj.role.name.lower()} "
            f"{short(obj.ratee)} from {short(obj.rater)}, billed {value_text('billed', obj.billed)}"
        )
    if isinstance(obj, models.Reputation):
        return (
            f"Reputation of {short(obj.address)}: as provider {obj.provider_rating_count} ratings "
            f"(score {obj.provider_score():.2f}), {obj.completed_as_provider} completed, "
            f"{obj.terminations} terminated; as renter {obj.completed_as_renter} completed"
        )
    where = getattr(obj, "block_number", None)
    shown = ", ".join(
        f"{k}={value_text(k, v, obj)}" for k, v in fields_of(obj) if k not in _POSITION
    )
    return (
        f"{getattr(obj, 'name', '') or name} (block {where}): {shown}"
        if where is not None
        else (f"{name}: {shown}")
    )


#: where an event or transaction sits on the chain: left out of one-line summaries.
_POSITION = frozenset({"block_number", "block_hash", "tx_hash", "log_index", "removed"})


def search_text(result: Any) -> str:
    """A search result in one line: how many matched, the ids shown, the query."""
    ids = [f"#{x.listing_id}" for x in result.listings[:5]]
    if len(result.listings) > 5:
        ids.append("…")
    shown = f": {', '.join(ids)}" if ids else ""
    return f"{len(result.listings)} of {result.total} listings{shown} (query {str(result.query)!r})"


def search_html(result: Any) -> str:
    """A search result as an HTML table: one row per listing, with its provider's score."""
    from .units import format_wei

    rows = []
    for x in result.listings:
        reputation = result.reputations.get(x.provider)
        hourly = x.price * 3600 // x.unit.seconds
        rows.append(
            (
                x.listing_id,
                value_text("gpu_model", x.gpu_model),
                f"{x.capacity} GB",
                (format_wei(hourly), f"{hourly} wei per hour"),
                (value_text("price", x.price, x), f"{x.price} wei"),
                x.status.name,
                short(x.provider),
                "" if reputation is None else f"{reputation.provider_score():.2f}",
            )
        )
    caption = f"{len(result.listings)} of {result.total} listings match {str(result.query)!r}"
    header = ("id", "model", "memory", "per hour", "price", "status", "provider", "score")
    return html_table(caption, header, rows)


def error_html(err: BaseException) -> str:
    """An error as an HTML table: its name, message, and fields (a contract error's)."""
    rows: list[tuple[str, str]] = [("message", str(err))]
    values = getattr(err, "values", None)
    if isinstance(values, dict):
        rows += [(name, value_text(name, value)) for name, value in values.items()]
    for name in ("field", "position", "tx_hash"):
        value = getattr(err, name, None)
        if value is not None and not isinstance(values, dict):
            rows.append((name, value_text(name, value)))
    return html_table(type(err).__name__, None, rows)
