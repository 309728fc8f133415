"""gpuhub.analytics on markets built for one case each, on SQLite and PostgreSQL: the numbers
worked out by hand from the events, the plots, the PNGs and the HTML tables."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from gpuhub import (
    GPUHubClient,
    MarketIndex,
    PriceUnit,
    RentalStatus,
    ValidationError,
    analytics,
)
from gpuhub import events as ev
from gpuhub.chain import embedded_web3

HOUR = 3600
DAY = 86400


@pytest.fixture
def market() -> GPUHubClient:
    """A fresh embedded marketplace, governed by its first account, with a 2.5 % fee."""
    w3 = embedded_web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    client.set_fee(250)
    return client


@pytest.fixture
def index(market: GPUHubClient, database_url: str) -> Iterator[MarketIndex]:
    """An index of ``market`` on SQLite or PostgreSQL (sync it after acting)."""
    with MarketIndex(market, database_url) as opened:
        yield opened


def provider(market: GPUHubClient) -> GPUHubClient:
    return market.with_account(market.accounts[1])


def renter(market: GPUHubClient) -> GPUHubClient:
    return market.with_account(market.accounts[2])


def row(result: analytics.Result, model: str) -> dict[str, Any]:
    frame = result.frame
    position = list(frame["model"]).index(model)
    return {c: frame[c].iloc[position] for c in frame.columns}


def block_time(market: GPUHubClient, event: ev.ContractEvent) -> int:
    return int(market.w3.eth.get_block(event.block_number)["timestamp"])


def created_at(market: GPUHubClient, listing_id: int) -> int:
    created = market.get_events(0, event_types=["ListingCreated"])
    return next(block_time(market, e) for e in created if e.listing_id == listing_id)  # type: ignore[attr-defined]


def ended(market: GPUHubClient) -> dict[int, tuple[ev.RentalEnded, int]]:
    events = market.get_events(0, event_types=["RentalEnded"])
    return {e.rental_id: (e, block_time(market, e)) for e in events}  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- edge cases


def test_empty_market(index: MarketIndex) -> None:
    """An index with no listings gives empty tables, zero totals and charts that say so."""
    index.sync()
    stats = analytics.market(index)
    assert len(stats) == 0
    assert {"model", "ask_median", "ask_median_eth", "utilization", "volume"} <= set(
        stats.frame.columns
    )
    assert len(analytics.price_history(index, "A100").frame) == 0
    assert len(analytics.utilization(index).frame) == 0
    someone = "0x" + "ab" * 20
    assert len(analytics.earnings(index, someone).frame) == 0
    report = analytics.provider_report(index, someone)
    assert (report.summary["listings"], report.summary["earned"]) == (0, 0)
    assert report.summary["rating"] is None
    for drawn in (stats.png(), report.png(), analytics.renter_report(index, someone).png()):
        assert drawn.startswith(b"\x89PNG\r\n\x1a\n")


def test_one_listing(market: GPUHubClient, index: MarketIndex) -> None:
    """One available listing: every asking percentile is its price, it was listed since it was
    created, and nothing was rented."""
    provider(market).create_listing(gpu_model="A100", capacity=80, price=10**15)
    market.chain.advance_time(HOUR)
    index.sync()
    stats = analytics.market(index, window="1d")
    got = row(stats, "A100")
    assert (got["listings"], got["available"], got["rented"]) == (1, 1, 0)
    for name in ("min", "p10", "p25", "median", "p75", "p90", "max", "mean"):
        assert got[f"ask_{name}"] == 10**15 * 60  # 10**15 wei per minute
        assert got[f"realized_{name}"] is None
    assert got["listed_seconds"] == stats.end - created_at(market, 0)
    assert (got["rented_seconds"], got["utilization"], got["rentals"]) == (0, 0.0, 0)
    assert (got["volume"], got["ratings"]) == (0, 0)
    assert math.isnan(got["rating"])


def test_rental_crossing_both_window_edges(market: GPUHubClient, index: MarketIndex) -> None:
    """A rental that started before the window and runs past its end counts the window's length
    in rented seconds, and is not among the rentals started in it."""
    provider(market).create_listing(
        gpu_model="H100", capacity=80, price=10**14, unit=PriceUnit.HOUR, max_duration=10
    )
    rental = renter(market).rent(0, 5)
    market.chain.advance_time(3 * HOUR)
    index.sync()
    end = rental.start + 2 * HOUR
    inside = analytics.market(index, window="1h", end=end)
    got = row(inside, "H100")
    assert (got["rented_seconds"], got["listed_seconds"], got["utilization"]) == (HOUR, HOUR, 1.0)
    assert (got["rentals"], got["realized_median"], got["rented"]) == (0, None, 1)
    around = row(analytics.market(index, window="3h", end=end), "H100")
    assert around["rented_seconds"] == 2 * HOUR
    assert around["listed_seconds"] == end - max(end - 3 * HOUR, created_at(market, 0))
    assert (around["rentals"], around["realized_median"]) == (1, 10**14)


def test_rentals_ended_early_and_settled(market: GPUHubClient, index: MarketIndex) -> None:
    """Ended by the renter, by the provider and settled: each one's billed, fee and refund as its
    RentalEnded event gave them, counted when it ended; completion is 2 of 3."""
    seller, buyer = provider(market), renter(market)
    for _ in range(3):
        seller.create_listing(gpu_model="L4", capacity=24, price=10**15, unit=PriceUnit.HOUR)
    for listing_id in range(3):
        buyer.rent(listing_id, 2)
    market.chain.advance_time(HOUR // 2)
    buyer.end_rental(0)
    seller.end_rental(1)
    market.chain.advance_time(2 * HOUR)
    market.settle(2)
    index.sync()
    facts = ended(market)
    assert {e.status for e, _ in facts.values()} == {
        RentalStatus.ENDED_BY_RENTER,
        RentalStatus.ENDED_BY_PROVIDER,
        RentalStatus.SETTLED,
    }
    by_rental = analytics.earnings(index, seller.address, by="rental").frame
    assert list(by_rental["rental_id"]) == [0, 1, 2]
    for position, rental_id in enumerate(by_rental["rental_id"]):
        event, _ = facts[rental_id]
        assert by_rental["billed"].iloc[position] == event.used
        assert by_rental["fees"].iloc[position] == event.fee
        assert by_rental["earned"].iloc[position] == event.provider_share
        assert by_rental["refunds"].iloc[position] == event.refund
    assert facts[2][0].refund == 0 and facts[2][0].used == 2 * 10**15
    report = analytics.provider_report(index, seller.address)
    assert (report.summary["completed"], report.summary["terminated"]) == (2, 1)
    assert report.summary["completion_rate"] == 2 / 3
    assert report.summary["earned"] == sum(e.provider_share for e, _ in facts.values())
    assert report.summary["fees"] == sum(e.fee for e, _ in facts.values())
    spent = analytics.renter_report(index, buyer.address)
    assert spent.summary["paid"] == 3 * 2 * 10**15
    assert spent.summary["billed"] + spent.summary["refunds"] == spent.summary["paid"]
    assert spent.summary["terminated"] == 1
    by_day = analytics.earnings(index, seller.address, by="day").frame
    assert sum(by_day["rentals"]) == 3
    assert sum(by_day["earned"]) == report.summary["earned"]


def test_listing_repriced_inside_the_window(market: GPUHubClient, index: MarketIndex) -> None:
    """Repricing splits the window: asking prices before it are the old price, after it the new
    one, and each rental keeps the price it started at."""
    seller, buyer = provider(market), renter(market)
    seller.create_listing(gpu_model="A10", capacity=24, price=10**15, unit=PriceUnit.HOUR)
    buyer.end_rental(buyer.rent(0, 1).rental_id)
    market.chain.advance_time(DAY)
    updated = seller.update_listing(
        0, gpu_model="A10", capacity=24, price=3 * 10**15, unit=PriceUnit.HOUR
    )
    assert updated.price == 3 * 10**15
    buyer.end_rental(buyer.rent(0, 1).rental_id)
    market.chain.advance_time(HOUR)
    index.sync()
    reprice = next(
        block_time(market, e) for e in market.get_events(0, event_types=["ListingUpdated"])
    )
    before = row(analytics.market(index, window="2d", end=reprice), "A10")
    assert (before["ask_min"], before["ask_max"], before["realized_max"]) == (10**15,) * 3
    now = row(analytics.market(index, window="2d"), "A10")
    assert (now["ask_min"], now["ask_max"]) == (3 * 10**15, 3 * 10**15)
    assert (now["realized_min"], now["realized_max"], now["rentals"]) == (10**15, 3 * 10**15, 2)
    assert now["realized_mean"] == 2 * 10**15
    history = analytics.price_history(index, "A10", by="hour", window="2d").frame
    asks = [v for v in history["ask_median"] if v is not None]
    assert asks[0] == 10**15 and asks[-1] == 3 * 10**15


def test_units_mixed(market: GPUHubClient, index: MarketIndex) -> None:
    """Per-minute, per-hour and per-day prices of one model are ordered by their exact price
    per day, and only the chosen value is rounded down to a whole wei per hour."""
    seller = provider(market)
    seller.create_listing(gpu_model="T4", capacity=16, price=1, unit=PriceUnit.MINUTE)  # 1440/day
    seller.create_listing(gpu_model="T4", capacity=16, price=61, unit=PriceUnit.HOUR)  # 1464/day
    seller.create_listing(gpu_model="T4", capacity=16, price=1466, unit=PriceUnit.DAY)
    seller.create_listing(gpu_model="K80", capacity=12, price=100, unit=PriceUnit.DAY)
    index.sync()
    stats = analytics.market(index)
    t4 = row(stats, "T4")
    assert (t4["ask_min"], t4["ask_p10"], t4["ask_median"], t4["ask_max"]) == (60, 60, 61, 61)
    assert t4["ask_mean"] == (1440 + 1464 + 1466) // (24 * 3) == 60
    assert row(stats, "K80")["ask_median"] == 4  # 100 wei a day is 4.17 wei an hour
    frame = stats.frame
    assert frame["ask_median"].dtype == object
    assert frame["ask_median_eth"].dtype == "float64"


def test_amounts_past_int64_stay_exact(market: GPUHubClient, index: MarketIndex) -> None:
    """Prices and volume past 2**64 wei are summed and ranked exactly on both databases."""
    seller, buyer = provider(market), renter(market)
    big = 2**70 + 12345
    seller.create_listing(gpu_model="B200", capacity=192, price=big, unit=PriceUnit.MINUTE)
    seller.create_listing(gpu_model="B200", capacity=192, price=big + 1, unit=PriceUnit.MINUTE)
    buyer.rent(0, 3)
    market.chain.advance_time(HOUR)
    market.settle(0)
    index.sync()
    got = row(analytics.market(index), "B200")
    assert got["volume"] == 3 * big
    assert got["ask_mean"] == (big * 1440 + (big + 1) * 1440) // 48
    earned = analytics.earnings(index, seller.address, by="listing").frame
    assert earned["billed"].iloc[0] == 3 * big
    assert earned["fees"].iloc[0] == 3 * big * 250 // 10_000


def test_periods_start_on_utc_boundaries(market: GPUHubClient, index: MarketIndex) -> None:
    """Days start at UTC midnight and weeks on Mondays; the first period is cut to the window."""
    provider(market).create_listing(gpu_model="A40", capacity=48, price=10**12)
    market.chain.advance_time(9 * DAY)
    index.sync()
    days = analytics.utilization(index, by="day", window="5d").frame
    starts = [t for t in days["period"]]
    assert starts[0].timestamp() == analytics.utilization(index, window="5d").start
    assert all((t.hour, t.minute, t.second) == (0, 0, 0) for t in starts[1:])
    weeks = analytics.utilization(index, by="week", window=None).frame
    assert all(t.weekday() == 0 and t.hour == 0 for t in weeks["period"])
    months = analytics.utilization(index, by="month", window=None).frame
    assert all(t.day == 1 for t in months["period"])
    assert sum(months["listed_seconds"]) == sum(weeks["listed_seconds"])


def test_ratings_weigh_what_was_billed(market: GPUHubClient, index: MarketIndex) -> None:
    """A model's rating is the mean of its providers' scores weighted by billed // 10**12 wei."""
    seller, buyer = provider(market), renter(market)
    seller.create_listing(gpu_model="V100", capacity=32, price=10**15, unit=PriceUnit.HOUR)
    seller.create_listing(gpu_model="V100", capacity=32, price=10**15, unit=PriceUnit.MINUTE)
    buyer.rent(0, 1)
    buyer.rent(1, 2)
    market.chain.advance_time(DAY)
    market.settle(0)
    market.settle(1)
    buyer.rate(0, 5)
    buyer.rate(1, 2)
    index.sync()
    got = row(analytics.market(index), "V100")
    w0, w1 = 10**15 // 10**12, 2 * 10**15 // 10**12
    assert got["ratings"] == 2
    assert got["rating"] == (5 * w0 + 2 * w1) / (w0 + w1)
    report = analytics.provider_report(index, seller.address)
    assert report.summary["rating"] == got["rating"]
    assert list(report.tables["ratings"]["weight"]) == [w0, w1]


# ---------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window": "soon"}, "window"),
        ({"window": 0}, "window"),
        ({"window": 1.5}, "window"),
        ({"end": -1}, "end"),
        ({"end": "yesterday"}, "end"),
    ],
)
def test_bad_window_names_the_argument(
    index: MarketIndex, kwargs: dict[str, Any], field: str
) -> None:
    """A window or end that is not a duration or a moment is a ValidationError naming it."""
    with pytest.raises(ValidationError) as exc:
        analytics.market(index, **kwargs)
    assert exc.value.field == field


def test_bad_address_and_period_are_refused(index: MarketIndex) -> None:
    """An address that is not 20 hex bytes, or an unknown period, is refused before any SQL."""
    with pytest.raises(ValidationError) as exc:
        analytics.earnings(index, "0x+" + "1" * 39)
    assert exc.value.field == "provider"
    with pytest.raises(ValidationError) as exc:
        analytics.earnings(index, "0x" + "1" * 40, by="fortnight")
    assert exc.value.field == "by"


def test_an_end_past_the_year_9999_is_refused(index: MarketIndex) -> None:
    """Results show their window as dates, which end with the year 9999: a later end is refused
    by name, never an error from deep inside."""
    with pytest.raises(ValidationError, match="year 9999") as exc:
        analytics.market(index, end=253_402_300_800)
    assert exc.value.field == "end"
    assert analytics.market(index, end=253_402_300_799).end == 253_402_300_799


def test_naive_datetime_is_refused(index: MarketIndex) -> None:
    """A datetime without a timezone is ambiguous, so it is refused."""
    import datetime

    with pytest.raises(ValidationError) as exc:
        analytics.market(index, end=datetime.datetime(2026, 1, 1))
    assert exc.value.field == "end"


# ---------------------------------------------------------------------- plots and tables


@pytest.fixture
def busy(market: GPUHubClient, index: MarketIndex) -> MarketIndex:
    """Two models, rentals ended each way, a rating."""
    seller, buyer = provider(market), renter(market)
    seller.create_listing(gpu_model="A100", capacity=80, price=10**15, unit=PriceUnit.HOUR)
    seller.create_listing(gpu_model="H100 <b>&", capacity=80, price=2 * 10**15)
    buyer.rent(0, 3)
    buyer.rent(1, 30)
    market.chain.advance_time(DAY)
    market.settle(0)
    buyer.end_rental(1)
    buyer.rate(0, 4, comment="<script>alert(1)</script>")
    index.sync()
    return index


def results(index: MarketIndex, market: GPUHubClient) -> list[Any]:
    seller, buyer = provider(market).address, renter(market).address
    return [
        analytics.market(index),
        analytics.price_history(index, "A100", by="hour", window="2d"),
        analytics.utilization(index, by="hour", window="2d"),
        analytics.earnings(index, seller, by="hour"),
        analytics.spending(index, buyer, by="day"),
        analytics.provider_report(index, seller),
        analytics.renter_report(index, buyer),
    ]


def test_every_plot_has_data_and_labelled_axes(busy: MarketIndex, market: GPUHubClient) -> None:
    """Each result draws a Figure whose axes are labelled (with units) and hold data."""
    from matplotlib.figure import Figure

    for result in results(busy, market):
        figure = result.plot()
        assert isinstance(figure, Figure), result
        for ax in figure.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), (result, ax)
            drawn = len(ax.lines) + len(ax.patches) + len(ax.collections)
            assert drawn > 0, (result, ax.get_title())


def test_png_answers_are_real_pngs(busy: MarketIndex, market: GPUHubClient) -> None:
    """Each result's png() decodes as an image of the figure's size."""
    from matplotlib.image import imread

    for result in results(busy, market):
        image = imread(io.BytesIO(result.png()), format="png")
        assert image.shape[0] > 100 and image.shape[1] > 100, result


def test_html_reprs_are_valid_html(busy: MarketIndex, market: GPUHubClient) -> None:
    """Results, reports, models, search results and errors render as well-formed HTML tables
    whose chain text is escaped."""
    import gpuhub

    shown: list[Any] = [
        *results(busy, market),
        *market.list_listings(),
        *market.rentals(),
        *market.ratings(),
        market.reputation(provider(market).address),
        market.search("sort=price"),
        gpuhub.ListingNotFound(7),
        *market.get_events(0)[-3:],
    ]
    for thing in shown:
        markup = thing._repr_html_()
        tree = ET.fromstring(f"<div>{markup}</div>")  # well-formed, or this raises
        assert tree.find(".//table") is not None, thing
        assert "<script>" not in markup and "<b>" not in markup, thing


def test_text_is_short_and_readable(busy: MarketIndex, market: GPUHubClient) -> None:
    """Models and search results print as one short line with ETH, dates and enum names."""
    listing = market.get_listing(0)
    assert repr(listing) == f"<{listing}>"
    assert "0.001 ETH/hour" in str(listing) and "AVAILABLE" in str(listing)
    rental = market.get_rental(0)
    assert "SETTLED" in str(rental) and "UTC" in str(rental) and "ETH" in str(rental)
    assert repr(PriceUnit.HOUR) == "PriceUnit.HOUR"
    for _ in range(40):
        provider(market).create_listing(gpu_model="x" * 64, capacity=1, price=1)
    found = market.search("limit=100")
    assert len(repr(found)) < 200 and "42 of 42 listings" in repr(found)
    for result in results(busy, market):
        assert len(repr(result)) < 200, result
        assert str(result).startswith(result.caption())


@pytest.mark.anvil
def test_reorganised_history_equals_a_fresh_index(
    anvil_node: Any, database_url: str, tmp_path: Any
) -> None:
    """After a reorganisation replaces rentals, ratings and a repricing, the index's statistics
    equal those of an index built afresh from the new branch."""
    w3 = anvil_node.web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    seller, buyer = client.with_account(client.accounts[1]), client.with_account(client.accounts[2])
    seller.create_listing(gpu_model="A100", capacity=80, price=10**15, unit=PriceUnit.HOUR)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    buyer.rent(0, 2)
    client.chain.advance_time(HOUR)
    buyer.end_rental(0)
    buyer.rate(0, 5)
    seller.update_listing(0, gpu_model="H100", capacity=80, price=9 * 10**15)
    with MarketIndex(client, database_url) as index:
        index.sync()
        old_head = client.block_number()
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        for each in (client, seller, buyer):
            each._conn.nonces.clear()
        buyer.rent(0, 1)
        client.chain.advance_time(2 * HOUR)
        client.settle(0)
        buyer.rate(0, 2)
        while client.block_number() < old_head + 1:
            client.chain.mine()
        index.sync()
        with MarketIndex(client, f"sqlite:///{tmp_path / 'fresh.db'}") as fresh:
            fresh.sync()
            for window in ("1d", None):
                assert (
                    analytics.market(index, window=window).to_records()
                    == analytics.market(fresh, window=window).to_records()
                )
            mine = analytics.provider_report(index, seller.address)
            assert mine.summary == analytics.provider_report(fresh, seller.address).summary
    assert mine.summary["rating"] == 2.0


def test_a_sync_between_the_readers_makes_them_read_again(
    market: GPUHubClient, index: MarketIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a sync commits between market()'s two readers, both read again, so the answer is
    of one state of the index."""
    import threading

    from gpuhub.analytics import _queries

    seller = provider(market)
    seller.create_listing(gpu_model="A100", capacity=80, price=10**15)
    index.sync()
    seller.create_listing(gpu_model="A100", capacity=80, price=2 * 10**15)
    real_state = _queries.state
    readers: list[str] = []
    lock = threading.Lock()

    def state(db: Any) -> Any:
        with lock:
            readers.append(threading.current_thread().name)
            if len(readers) == 2:  # the first try's second reader: a sync commits first
                index.sync()
        return real_state(db)

    monkeypatch.setattr(_queries, "state", state)
    stats = analytics.market(index)
    assert len(readers) == 4
    monkeypatch.setattr(_queries, "state", real_state)
    assert stats.to_records() == analytics.market(index, end=stats.end).to_records()
