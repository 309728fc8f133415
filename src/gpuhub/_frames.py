"""gpuhub's objects as pandas DataFrames (``gpuhub.to_dataframe``), and the column conventions
the analytics share.

Wei columns hold Python ints in an ``object`` column: pandas has no integer dtype wider than 64
bits (``Int64``/``UInt64`` stop near 9.2 and 18.4 ETH) and Arrow's ``decimal256`` holds 76
digits, not the 78 a uint256 can have, so Python ints are the one exact choice; summing such a
column (``frame.price.sum()``) stays exact. Beside each, an ``_eth`` float64 column is for
reading and plotting only. Times are UTC ``datetime64`` columns, enums categorical by name (in
Solidity order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from ._display import TIME_FIELDS, WEI_FIELDS
from .exceptions import MissingDependency

if TYPE_CHECKING:
    import pandas as pd

WEI_PER_ETH = 10**18


def pandas() -> Any:
    """The pandas module, or MissingDependency naming the extra."""
    try:
        import pandas as pd
    except ImportError as err:
        raise MissingDependency(
            'tables and statistics need pandas: pip install "gpuhub-eth[analytics]"'
        ) from err
    return pd


def wei_series(values: Sequence[int | None], index: Any = None) -> pd.Series[Any]:
    """Exact wei amounts (None where missing) as an object column of Python ints."""
    pandas()
    import pandas as pd

    return pd.Series(list(values), index=index, dtype=object)


def eth_series(values: Sequence[int | None], index: Any = None) -> pd.Series[float]:
    """Wei amounts as float ETH, for display and plots only (NaN where missing)."""
    pandas()
    import pandas as pd

    floats = [float("nan") if v is None else v / WEI_PER_ETH for v in values]
    return pd.Series(floats, index=index, dtype="float64")


def time_series(values: Sequence[int | None], index: Any = None) -> pd.Series[Any]:
    """Unix seconds as timezone-aware UTC timestamps (NaT where missing)."""
    pandas()
    import pandas as pd

    seconds = pd.Series(list(values), dtype="Int64", index=index)
    return pd.to_datetime(seconds, unit="s", utc=True)


def enum_series(values: Sequence[Enum | None], kind: type[Enum]) -> pd.Series[Any]:
    """Enums as a categorical column of their names, ordered as the contract declares them."""
    pandas()
    import pandas as pd

    names = [None if v is None else v.name for v in values]
    return pd.Series(pd.Categorical(names, categories=[m.name for m in kind], ordered=True))


def add_money(frame: pd.DataFrame, name: str, values: Sequence[int | None]) -> None:
    """Add the wei column ``name`` and its ``name_eth`` column to ``frame``."""
    frame[name] = wei_series(values, frame.index)
    frame[f"{name}_eth"] = eth_series(values, frame.index)


def to_dataframe(items: Any) -> pd.DataFrame:
    """A DataFrame of listings, rentals, ratings, reputations, events or a search result.

    One row per item and one column per field: enums by name, wei exact (Python ints) with an
    ``_eth`` column beside each amount, times as UTC timestamps. Listings and rentals also get
    ``price_per_hour`` (wei per hour, rounded down for DAY prices); a search result's rows carry
    each provider's score and counts. Events of several kinds share one frame (a field one kind
    lacks is empty).

    Example::

        >>> frame = gpuhub.to_dataframe(client.list_listings())
        >>> frame[["listing_id", "gpu_model", "price_per_hour_eth", "status"]]

    Raises:
        MissingDependency: pandas is not installed (the ``analytics`` extra).
        TypeError: an item is not one of gpuhub's models or events.
    """
    from .search import SearchResult

    pandas()
    import pandas as pd

    reputations: dict[str, Any] = {}
    if isinstance(items, SearchResult):
        reputations = dict(items.reputations)
        items = items.listings
    rows: list[dict[str, Any]] = []
    kinds: dict[str, type[Enum]] = {}
    for item in items if isinstance(items, Iterable) else [items]:
        rows.append(_record(item, kinds))
    frame = pd.DataFrame(rows)
    for name in list(frame.columns):
        values = [row.get(name) for row in rows]
        if name in kinds:
            frame[name] = enum_series(values, kinds[name])
        elif _is_money(name, values):
            position = list(frame.columns).index(name)
            frame[name] = wei_series(values, frame.index)
            eth = eth_series(values, frame.index)
            frame.insert(position + 1, f"{name}_eth", eth)
        elif name in TIME_FIELDS and _all_ints(values):
            frame[name] = time_series(values, frame.index)
    if reputations and len(frame):
        providers = frame["provider"]
        score = {a: r.provider_score() for a, r in reputations.items()}
        frame["provider_score"] = [score.get(p, float("nan")) for p in providers]
        for field in ("provider_rating_count", "completed_as_provider", "terminations"):
            frame[field] = [getattr(reputations[p], field, None) for p in providers]
    return frame


_MONEY_COLUMNS = WEI_FIELDS | {"price_per_hour"}


def _is_money(name: str, values: Sequence[Any]) -> bool:
    return name in _MONEY_COLUMNS and _all_ints(values)


def _all_ints(values: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in values)


def _record(item: Any, kinds: dict[str, type[Enum]]) -> dict[str, Any]:
    from .models import MarketEvent

    if not dataclasses.is_dataclass(item) or isinstance(item, type):
        raise TypeError(
            f"to_dataframe takes gpuhub's listings, rentals, ratings, reputations, events or a "
            f"search result, not {type(item).__name__}"
        )
    row: dict[str, Any] = {}
    event_name = getattr(type(item), "name", None)
    if isinstance(event_name, str) and event_name:
        row["event"] = event_name
    for field in dataclasses.fields(item):
        value = getattr(item, field.name)
        if isinstance(item, MarketEvent) and field.name == "args":
            for arg, arg_value in value.items():
                row[arg] = _plain(arg, arg_value, kinds)
            continue
        row[field.name] = _plain(field.name, value, kinds)
    unit = getattr(item, "unit", None)
    price = getattr(item, "price", None)
    if isinstance(unit, Enum) and isinstance(price, int) and hasattr(unit, "seconds"):
        row["price_per_hour"] = price * 3600 // unit.seconds
    if hasattr(item, "provider_score"):
        row["provider_score"] = item.provider_score()
    return row


def _plain(name: str, value: Any, kinds: dict[str, type[Enum]]) -> Any:
    if isinstance(value, Enum):
        kinds.setdefault(name, type(value))
        return value
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value
