"""The charts: matplotlib Figures built without pyplot, so they hold no global state and draw
with the Agg backend anywhere (a server, a headless CI); notebooks show them as PNG."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

#: size of one chart, in inches.
SIZE = (8.0, 4.5)


class Chart(Figure):
    """A matplotlib Figure that notebooks show as a PNG (a Figure made without pyplot has no
    notebook display of its own)."""

    def _repr_png_(self) -> bytes:
        return png(self)


def figure(rows: int = 1, *, height: float | None = None) -> tuple[Figure, list[Axes]]:
    """A new Chart with ``rows`` stacked axes."""
    fig = Chart(figsize=(SIZE[0], height or SIZE[1] * rows), layout="constrained")
    axes = [fig.add_subplot(rows, 1, i + 1) for i in range(rows)]
    return fig, axes


def _empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this window", ha="center", va="center", transform=ax.transAxes)


def price_bands(ax: Axes, frame: pd.DataFrame, title: str) -> None:
    """Per model: the P10-P90 band of asking prices, the P25-P75 box and the median."""
    shown = frame[frame["available"] > 0]
    models = list(shown["model"])
    ax.set_title(title)
    ax.set_xlabel("asking price (ETH per hour)")
    ax.set_ylabel("GPU model")
    if not models:
        _empty(ax, "available listings")
        ax.set_yticks([])
        return
    positions = range(len(models))
    low, high = shown["ask_p10_eth"], shown["ask_p90_eth"]
    q1, q3 = shown["ask_p25_eth"], shown["ask_p75_eth"]
    ax.hlines(positions, low, high, color="tab:blue", linewidth=2, label="P10 to P90")
    ax.hlines(positions, q1, q3, color="tab:blue", linewidth=8, alpha=0.5, label="P25 to P75")
    ax.plot(shown["ask_median_eth"], positions, "o", color="black", label="median")
    realized = shown["realized_median_eth"]
    if realized.notna().any():
        ax.plot(realized, positions, "x", color="tab:red", label="median paid (rentals)")
    ax.set_yticks(list(positions), models)
    ax.set_xlim(left=0)
    ax.legend(loc="best", fontsize="small")


def over_time(
    ax: Axes,
    frame: pd.DataFrame,
    lines: dict[str, str],
    *,
    title: str,
    ylabel: str,
    band: tuple[str, str] | None = None,
    what: str = "data",
) -> None:
    """Lines of ``frame``'s columns (label by column) against its ``period``."""
    ax.set_title(title)
    ax.set_xlabel("period start (UTC)")
    ax.set_ylabel(ylabel)
    if frame.empty or all(frame[c].isna().all() for c in lines):
        _empty(ax, what)
        return
    x = frame["period"]
    if band is not None:
        ax.fill_between(x, frame[band[0]], frame[band[1]], alpha=0.25, label="P10 to P90")
    for column, label in lines.items():
        ax.plot(x, frame[column], marker="o", markersize=3, label=label)
    ax.set_ylim(bottom=0)
    ax.legend(loc="best", fontsize="small")
    ax.tick_params(axis="x", labelrotation=30)


def bars(
    ax: Axes,
    frame: pd.DataFrame,
    stacks: dict[str, str],
    *,
    title: str,
    ylabel: str,
    x: str = "period",
    what: str = "rentals ended",
) -> None:
    """Stacked bars of ``frame``'s columns (label by column) per ``x``."""
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("period start (UTC)" if x == "period" else x.replace("_", " "))
    if frame.empty:
        _empty(ax, what)
        return
    labels: Any = frame[x]
    if x == "period":
        labels = [t.strftime("%Y-%m-%d %H:%M" if _hourly(frame) else "%Y-%m-%d") for t in labels]
    else:
        labels = [str(v) for v in labels]
    bottom = [0.0] * len(frame)
    for column, label in stacks.items():
        values = list(frame[column].fillna(0.0))
        ax.bar(labels, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.legend(loc="best", fontsize="small")
    ax.tick_params(axis="x", labelrotation=60, labelsize="small")


def _hourly(frame: pd.DataFrame) -> bool:
    periods = frame["period"]
    return bool(len(periods) > 1 and (periods.iloc[1] - periods.iloc[0]).total_seconds() < 86400)


def utilization_lines(ax: Axes, frame: pd.DataFrame, title: str) -> None:
    """Utilization per model over time, in percent."""
    ax.set_title(title)
    ax.set_xlabel("period start (UTC)")
    ax.set_ylabel("utilization (% of listed time rented)")
    if frame.empty:
        _empty(ax, "listed time")
        return
    for model, rows in frame.groupby("model", sort=True, observed=True):
        ax.plot(
            rows["period"], rows["utilization"] * 100, marker="o", markersize=3, label=str(model)
        )
    ax.set_ylim(0, 100)
    ax.legend(loc="best", fontsize="small")
    ax.tick_params(axis="x", labelrotation=30)


def listing_bars(ax: Axes, frame: pd.DataFrame, title: str) -> None:
    """Per listing: availability and utilization, in percent."""
    ax.set_title(title)
    ax.set_xlabel("listing")
    ax.set_ylabel("% of listed time")
    if frame.empty:
        _empty(ax, "listings")
        return
    labels = [f"#{i}" for i in frame["listing_id"]]
    positions = range(len(labels))
    width = 0.4
    ax.bar(
        [p - width / 2 for p in positions],
        frame["availability"] * 100,
        width,
        label="available (not marked unavailable)",
    )
    ax.bar([p + width / 2 for p in positions], frame["utilization"] * 100, width, label="rented")
    ax.set_xticks(list(positions), labels)
    ax.set_ylim(0, 100)
    ax.legend(loc="best", fontsize="small")


def png(fig: Figure) -> bytes:
    """The Figure drawn as PNG bytes (Agg)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
