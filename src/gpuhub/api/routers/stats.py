"""REST: market statistics and a provider's earnings from the server's index, as JSON or as a
PNG chart (``?format=png``); each route is one ``gpuhub.analytics`` call.

The statistics need the server's index (``gpuhub serve --index URL``) and the ``analytics``
extra; without them these routes answer 404 and 501, naming what is missing.
"""

import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..._core import check_address
from ..._display import LAST_SECOND
from ...exceptions import MissingDependency
from .. import _schemas as s
from .._deps import READ_ERRORS, Denied, address_path, error_response

router = APIRouter(tags=["stats"])

Format = Annotated[
    Literal["json", "png"], Query(description="`json` (default), or `png`: the chart")
]
WindowText = Annotated[
    str | None,
    Query(
        max_length=32,
        description="how far back: `30d`, `12h`, `2w` ... (default: 30d; earnings: all time)",
    ),
]
End = Annotated[
    int | None,
    Query(
        ge=0,
        le=LAST_SECOND,
        description="the window's end, Unix seconds up to the year 9999 (default: the index's)",
    ),
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    200: {"content": {"image/png": {}}, "description": "JSON, or the chart with format=png"},
    404: {"model": s.ErrorOut, "description": "the server has no index"},
    501: {"model": s.ErrorOut, "description": "the server lacks the analytics extra"},
}


class Window(BaseModel):
    start: str = Field(description="the window's start, ISO 8601 UTC (inclusive)")
    end: str = Field(description="its end (exclusive)")


class ModelsPage(BaseModel):
    window: Window
    models: list[dict[str, Any]] = Field(
        description="one object per GPU model: listings, available and rented now; asking and "
        "paid prices per hour (ask_*, realized_*: min, p10, p25, median, p75, p90, max, mean); "
        "rentals, listed_seconds, rented_seconds, utilization, volume, ratings, rating. Wei as "
        "decimal strings"
    )


class PricesPage(BaseModel):
    model: str
    window: Window
    periods: list[dict[str, Any]] = Field(
        description="per period: listings and ask_* over the listings available at its end, "
        "rentals and realized_* over the rentals started in it; wei per hour as strings"
    )


class EarningsPage(BaseModel):
    provider: str
    window: Window
    rows: list[dict[str, Any]] = Field(
        description="per period (or listing, rental): rentals that ended in it, billed, fees, "
        "earned, refunds (wei as strings)"
    )


def _analytics(request: Request) -> tuple[Any, Any]:
    """The analytics module and the server's index, or the error response saying what lacks."""
    index = getattr(request.app.state, "index", None)
    if index is None:
        raise Denied(
            error_response(
                404,
                "NoIndex",
                "statistics are read from an index, and this server has none: start it with "
                "gpuhub serve --index URL",
            )
        )
    try:
        from ... import analytics
    except MissingDependency as err:
        raise Denied(error_response(501, "MissingDependency", str(err))) from None
    return analytics, index


def _answer(request: Request, result: Any, format: str, page: BaseModel) -> Any:
    if format != "png":
        return page
    # Charts are drawn one at a time: matplotlib's text layout shares caches between figures.
    lock: threading.Lock = request.app.state.chart_lock
    with lock:
        image = result.png()
    return Response(content=image, media_type="image/png")


def _window(result: Any) -> Window:
    start, end = result.window
    return Window(start=start.isoformat(), end=end.isoformat())


@router.get(
    "/v1/stats/models",
    response_model=ModelsPage,
    responses=_ERRORS,
)
def market_stats(
    request: Request,
    window: WindowText = None,
    end: End = None,
    format: Format = "json",
) -> Any:
    """The market by GPU model now and over the window (see `gpuhub.analytics.market`)."""
    analytics, index = _analytics(request)
    result = analytics.market(index, window=window or "30d", end=end)
    page = ModelsPage(window=_window(result), models=result.to_records())
    return _answer(request, result, format, page)


@router.get(
    "/v1/stats/models/{model}/prices",
    response_model=PricesPage,
    responses=_ERRORS,
)
def price_history(
    request: Request,
    model: Annotated[str, Path(min_length=1, max_length=64, description="the GPU model, exactly")],
    by: Annotated[Literal["hour", "day", "week", "month"], Query()] = "day",
    window: WindowText = None,
    end: End = None,
    format: Format = "json",
) -> Any:
    """Asking and paid prices per hour of one GPU model, per period."""
    analytics, index = _analytics(request)
    result = analytics.price_history(index, model, by=by, window=window or "30d", end=end)
    page = PricesPage(model=model, window=_window(result), periods=result.to_records())
    return _answer(request, result, format, page)


@router.get(
    "/v1/accounts/{address}/earnings",
    response_model=EarningsPage,
    responses=_ERRORS,
)
def earnings(
    request: Request,
    address: Annotated[str, address_path()],
    by: Annotated[Literal["hour", "day", "week", "month", "listing", "rental"], Query()] = "day",
    window: WindowText = None,
    end: End = None,
    format: Format = "json",
) -> Any:
    """What a provider's rentals billed, per period, listing or rental, counted when each
    ended: billed, fees, earned, refunds."""
    provider = check_address("address", address)
    analytics, index = _analytics(request)
    result = analytics.earnings(index, provider, by=by, window=window, end=end)
    page = EarningsPage(provider=result.subject, window=_window(result), rows=result.to_records())
    return _answer(request, result, format, page)
