"""What the analytics return: a DataFrame with its window, shown as a table and plotted in one
call."""

from __future__ import annotations

import datetime
import html
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .._display import html_table, short
from ..units import format_duration, format_wei
from . import _plots

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

#: rows a table shows in text and HTML before it is cut (the frame keeps them all).
SHOWN_ROWS = 60


class Result:
    """A statistic over a window of the market: ``frame`` holds it, ``plot()`` draws it.

    Money columns are exact wei (Python ints) with an ``_eth`` float column beside each for
    reading; ``period`` columns are UTC timestamps (each period's start).
    """

    title: ClassVar[str] = "statistics"
    #: what one row is, for the one-line repr.
    row_word: ClassVar[str] = "rows"

    def __init__(self, frame: pd.DataFrame, *, start: int, end: int, subject: str = "") -> None:
        #: the statistic, one row per model, period, listing or rental.
        self.frame = frame
        #: the window's start (Unix seconds, inclusive).
        self.start = start
        #: the window's end (Unix seconds, exclusive).
        self.end = end
        self.subject = subject

    @property
    def window(self) -> tuple[datetime.datetime, datetime.datetime]:
        """The window as UTC datetimes: [start, end)."""
        return _utc(self.start), _utc(self.end)

    def caption(self) -> str:
        """What the table shows, over which window."""
        about = f" of {self.subject}" if self.subject else ""
        return f"{self.title}{about}, {_span(self.start, self.end)}"

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self.frame)} {self.row_word}, {self.caption()}>"

    def __str__(self) -> str:
        table = display_frame(self.frame)
        body = table.head(SHOWN_ROWS).to_string(index=False) if len(table) else "(none)"
        more = f"\n… {len(table) - SHOWN_ROWS} more rows" if len(table) > SHOWN_ROWS else ""
        return f"{self.caption()}\n{body}{more}"

    def _repr_html_(self) -> str:
        return frame_html(self.caption(), self.frame)

    def plot(self) -> Figure:
        """The statistic as a matplotlib Figure (labelled axes, units on them)."""
        raise NotImplementedError

    def png(self) -> bytes:
        """``plot()`` drawn as a PNG image."""
        return _plots.png(self.plot())

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as JSON-ready dicts: wei as decimal strings (the ``_eth`` columns left out),
        times in ISO 8601, missing values as None."""
        return records(self.frame)


class MarketStats(Result):
    """One row per GPU model: listings, asking and paid prices per hour, utilization, volume,
    ratings (see ``gpuhub.analytics.market``)."""

    title = "market by GPU model"
    row_word = "models"

    def plot(self) -> Figure:
        fig, (ax,) = _plots.figure(height=max(3.0, 1.0 + 0.5 * len(self.frame)))
        _plots.price_bands(ax, self.frame, f"asking prices per hour, {_day(self.end - 1)}")
        return fig


class PriceHistory(Result):
    """One row per period: the asking prices of one model at the period's end and the prices
    its rentals started in the period paid (see ``gpuhub.analytics.price_history``)."""

    title = "price history"
    row_word = "periods"

    def plot(self) -> Figure:
        fig, (ax,) = _plots.figure()
        _plots.over_time(
            ax,
            self.frame,
            {"ask_median_eth": "median asking price", "realized_median_eth": "median paid"},
            title=f"{self.subject}: price per hour",
            ylabel="ETH per hour",
            band=("ask_p10_eth", "ask_p90_eth"),
            what="prices",
        )
        return fig


class Utilization(Result):
    """One row per period and model: seconds listed, seconds rented and their ratio (see
    ``gpuhub.analytics.utilization``)."""

    title = "utilization"
    row_word = "rows"

    def plot(self) -> Figure:
        fig, (ax,) = _plots.figure()
        _plots.utilization_lines(ax, self.frame, "utilization by GPU model")
        return fig


class Earnings(Result):
    """A provider's money per period, listing or rental: billed, fees, earned, refunded (see
    ``gpuhub.analytics.earnings``)."""

    title = "earnings"
    row_word = "rows"
    _stacks: ClassVar[dict[str, str]] = {"earned_eth": "earned", "fees_eth": "platform fee"}

    def plot(self) -> Figure:
        fig, (ax,) = _plots.figure()
        x = next(c for c in ("period", "listing_id", "rental_id") if c in self.frame.columns)
        _plots.bars(
            ax,
            self.frame,
            self._stacks,
            title=f"{self.title} of {self.subject}",
            ylabel="ETH",
            x=x,
        )
        return fig


class Spending(Earnings):
    """A renter's money per period or rental: paid into escrow, billed (fees included),
    refunded (see ``gpuhub.analytics.spending``)."""

    title = "spending"
    _stacks: ClassVar[dict[str, str]] = {"billed_eth": "billed", "refunds_eth": "refunded"}


class Report:
    """A report on one account: a summary, tables and charts (see ``provider_report``)."""

    title: ClassVar[str] = "report"

    def __init__(
        self,
        address: str,
        *,
        start: int,
        end: int,
        summary: Mapping[str, Any],
        tables: Mapping[str, pd.DataFrame],
        money: Earnings,
    ) -> None:
        #: the account.
        self.address = address
        #: the window's start (Unix seconds, inclusive) and end (exclusive).
        self.start = start
        self.end = end
        #: totals over the window: counts, wei amounts (ints), rates (floats or None).
        self.summary = dict(summary)
        #: the report's tables by name.
        self.tables = dict(tables)
        #: money per period.
        self.money = money

    def caption(self) -> str:
        return f"{self.title} for {self.address}, {_span(self.start, self.end)}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {short(self.address)}, {_span(self.start, self.end)}>"

    def __str__(self) -> str:
        lines = [self.caption()]
        lines += [f"  {name}: {summary_text(name, value)}" for name, value in self.summary.items()]
        for name, table in self.tables.items():
            shown = display_frame(table)
            lines.append(f"{name}:")
            lines.append(shown.head(SHOWN_ROWS).to_string(index=False) if len(shown) else "(none)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [(name, _cell(name, value)) for name, value in self.summary.items()]
        parts = [html_table(self.caption(), None, rows)]
        parts += [frame_html(name, table) for name, table in self.tables.items()]
        parts.append(self.money._repr_html_())
        return "".join(parts)

    def plot(self) -> Figure:
        """The money per period and (for providers) each listing's availability and use."""
        raise NotImplementedError

    def png(self) -> bytes:
        """``plot()`` drawn as a PNG image."""
        return _plots.png(self.plot())

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON-ready document (wei as decimal strings)."""
        return {
            "address": self.address,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "summary": {k: _json_value(v) for k, v in self.summary.items()},
            **{name: records(table) for name, table in self.tables.items()},
            "by_period": self.money.to_records(),
        }


class ProviderReport(Report):
    """What a provider earned, how its listings were used, how renters rated it."""

    title = "provider report"

    def plot(self) -> Figure:
        fig, (top, bottom) = _plots.figure(2)
        _plots.bars(
            top,
            self.money.frame,
            Earnings._stacks,
            title=f"earnings of {short(self.address)}",
            ylabel="ETH",
        )
        _plots.listing_bars(bottom, self.tables["listings"], "listings: availability and use")
        return fig


class RenterReport(Report):
    """What a renter paid, for what, and what came back."""

    title = "renter report"

    def plot(self) -> Figure:
        fig, (ax,) = _plots.figure()
        _plots.bars(
            ax,
            self.money.frame,
            Spending._stacks,
            title=f"spending of {short(self.address)}",
            ylabel="ETH",
        )
        return fig


# ---------------------------------------------------------------------- showing


def _utc(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def _iso(seconds: int) -> str:
    return _utc(seconds).isoformat()


def _day(seconds: int) -> str:
    return _utc(max(0, seconds)).strftime("%Y-%m-%d %H:%M UTC")


def _span(start: int, end: int) -> str:
    first = "the start" if start <= 0 else _day(start)
    return f"{first} to {_day(end)}"


def _is_wei_column(frame: pd.DataFrame, name: str) -> bool:
    return f"{name}_eth" in frame.columns


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for reading: wei columns as exact ETH text (their ``_eth`` floats dropped),
    seconds as durations, ratios as percentages, times as dates."""
    shown = frame.copy()
    for name in list(shown.columns):
        if name.endswith("_eth") and name[: -len("_eth")] in shown.columns:
            shown = shown.drop(columns=name)
        elif _is_wei_column(frame, name):
            shown[name] = [_eth_text(v) for v in frame[name]]
        elif name.endswith("_seconds"):
            shown[name] = [_duration(v) for v in frame[name]]
        elif name in ("utilization", "availability", "completion_rate"):
            shown[name] = [_percent(v) for v in frame[name]]
        elif name in ("period", "ended", "started", "time"):
            shown[name] = [_stamp(v) for v in frame[name]]
    return shown


def frame_html(caption: str, frame: pd.DataFrame) -> str:
    """``frame`` as an HTML table (text escaped; exact wei on hover over ETH amounts)."""
    shown = display_frame(frame).head(SHOWN_ROWS)
    rows = []
    for position in range(len(shown)):
        cells: list[Any] = []
        for name in shown.columns:
            value = shown[name].iloc[position]
            if _is_wei_column(frame, name):
                raw = frame[name].iloc[position]
                cells.append((value, "" if raw is None else f"{raw} wei"))
            else:
                cells.append("" if _missing(value) else value)
        rows.append(cells)
    table = html_table(caption, [str(c) for c in shown.columns], rows)
    if len(frame) > SHOWN_ROWS:
        table += f"<p>{html.escape(f'… {len(frame) - SHOWN_ROWS} more rows in .frame')}</p>"
    return table


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as JSON-ready dicts (see ``Result.to_records``)."""
    names = [
        c for c in frame.columns if not (c.endswith("_eth") and c[: -len("_eth")] in frame.columns)
    ]
    wei = {c for c in names if _is_wei_column(frame, c)}
    out = []
    for position in range(len(frame)):
        row = {}
        for name in names:
            value = frame[name].iloc[position]
            row[name] = (
                (None if value is None else str(value)) if name in wei else (_json_value(value))
            )
        out.append(row)
    return out


def _json_value(value: Any) -> Any:
    if _missing(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value if isinstance(value, int | float | str | bool) else str(value)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _eth_text(value: Any) -> str:
    return "" if value is None else format_wei(int(value))


def _duration(value: Any) -> str:
    return "" if _missing(value) else format_duration(int(value))


def _percent(value: Any) -> str:
    if _missing(value) or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value) * 100:.1f}%"


def _stamp(value: Any) -> str:
    if _missing(value):
        return ""
    return str(value.strftime("%Y-%m-%d %H:%M")) if hasattr(value, "strftime") else str(value)


def summary_text(name: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and name in _WEI_SUMMARY:
        return format_wei(value)
    if name.endswith("_seconds") and isinstance(value, int):
        return format_duration(value)
    if name in ("utilization", "availability", "completion_rate"):
        return _percent(value) or "n/a"
    if isinstance(value, float):
        return f"{value:.2f}"
    return "n/a" if value is None else str(value)


def _cell(name: str, value: Any) -> Any:
    text = summary_text(name, value)
    if isinstance(value, int) and name in _WEI_SUMMARY:
        return (text, f"{value} wei")
    return text


#: summary entries that are wei.
_WEI_SUMMARY = frozenset({"billed", "fees", "earned", "refunds", "paid", "escrow", "volume"})
