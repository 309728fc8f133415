"""Every statistic equals a brute-force computation over the contract's history, to the wei.

Random market activity on the embedded chain (listings in every unit, repricing, status changes,
rentals extended, ended early by either side and settled, ratings, a fee, time passing); at
random points two indexes (SQLite and PostgreSQL) sync and each analysis, over a random window
ending now or in the past, must equal ``_history``'s plain-Python recomputation from the events.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from _expect import PHASES
from _history import History, market, money, price_history, provider_summary, read, utilization
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from gpuhub import (
    ContractError,
    GPUHubClient,
    MarketIndex,
    PriceUnit,
    Rental,
    ValidationError,
    analytics,
)
from gpuhub.chain import embedded_web3

N_ACCOUNTS = 4
MODELS = st.sampled_from(["A100", "H100", "RTX 4090"])
PRICES = st.sampled_from([1, 7, 25, 10**12 + 3, 10**15, 2**65 + 1])
WINDOWS = st.sampled_from(["1h", "1d", "3d", 123_457, None])
refused = contextlib.suppress(ContractError, ValidationError)


class Market(RuleBasedStateMachine):
    """A small market living through a few days."""

    urls: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__()
        w3 = embedded_web3()
        root = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
        self.clients = [root.with_account(a) for a in root.accounts[:N_ACCOUNTS]]
        self.indexes = [MarketIndex.rebuild(root, url) for url in self.urls]
        self.checked = 0

    @property
    def chain(self) -> GPUHubClient:
        return self.clients[0]

    def owner(self, address: str) -> GPUHubClient:
        return next(c for c in self.clients if c.address == address)

    @rule(
        who=st.integers(0, N_ACCOUNTS - 1),
        model=MODELS,
        price=PRICES,
        unit=st.sampled_from(list(PriceUnit)),
    )
    def create(self, who: int, model: str, price: int, unit: PriceUnit) -> None:
        self.clients[who].create_listing(
            gpu_model=model, capacity=80, price=price, unit=unit, max_duration=3
        )

    @precondition(lambda self: self.chain.listing_count())
    @rule(data=st.data(), model=MODELS, price=PRICES, unit=st.sampled_from(list(PriceUnit)))
    def update(self, data: st.DataObject, model: str, price: int, unit: PriceUnit) -> None:
        listing = self.chain.get_listing(data.draw(st.integers(0, self.chain.listing_count() - 1)))
        with refused:
            self.owner(listing.provider).update_listing(
                listing.listing_id,
                gpu_model=model,
                capacity=80,
                price=price,
                unit=unit,
                max_duration=3,
            )

    @precondition(lambda self: self.chain.listing_count())
    @rule(data=st.data(), action=st.sampled_from(["fulfill_request", "mark_available", "remove"]))
    def change_status(self, data: st.DataObject, action: str) -> None:
        listing = self.chain.get_listing(data.draw(st.integers(0, self.chain.listing_count() - 1)))
        owner = self.owner(listing.provider)
        with refused:
            if action == "remove":
                owner.remove_listing(listing.listing_id)
            else:
                getattr(owner, action)(listing.listing_id)

    @precondition(lambda self: self.chain.listing_count())
    @rule(data=st.data(), who=st.integers(0, N_ACCOUNTS - 1), units=st.integers(1, 2))
    def rent(self, data: st.DataObject, who: int, units: int) -> None:
        available = [x for x in self.chain.list_listings() if x.is_available]
        if not available:
            return
        listing = data.draw(st.sampled_from(available))
        renter = self.clients[who]
        if renter.address == listing.provider:
            renter = self.clients[(who + 1) % N_ACCOUNTS]
        if listing.price * units > 10**21:
            return
        with refused:
            renter.rent(listing.listing_id, units)

    @precondition(lambda self: self.chain.listing_count())
    @rule(
        data=st.data(),
        seconds=st.integers(1, 3 * 86400),
        how=st.sampled_from(["renter", "provider", "settle", "extend"]),
        score=st.integers(1, 5),
    )
    def trade(self, data: st.DataObject, seconds: int, how: str, score: int) -> None:
        """A whole rental: rented, some time passes, ended one of the ways, rated."""
        self.rent(data, data.draw(st.integers(0, N_ACCOUNTS - 1)), data.draw(st.integers(1, 3)))
        self.chain.chain.advance_time(seconds)
        self.finish(data, how)
        self.rate(data, True, score)

    def rentals(self, active: bool) -> list[Rental]:
        return [r for r in self.chain.iter_rentals() if r.is_active == active]

    @precondition(lambda self: self.chain.rental_count())
    @rule(data=st.data(), how=st.sampled_from(["extend", "renter", "provider", "settle"]))
    def finish(self, data: st.DataObject, how: str) -> None:
        running = self.rentals(active=True)
        if not running:
            return
        rental = data.draw(st.sampled_from(running))
        with refused:
            if how == "extend":
                self.owner(rental.renter).extend_rental(rental.rental_id, 1)
            elif how == "renter":
                self.owner(rental.renter).end_rental(rental.rental_id)
            elif how == "provider":
                self.owner(rental.provider).end_rental(rental.rental_id)
            else:
                self.chain.chain.advance_time(max(0, rental.end - self.chain.chain.now()))
                self.chain.settle(rental.rental_id)

    @precondition(lambda self: self.chain.rental_count())
    @rule(data=st.data(), by_renter=st.booleans(), score=st.integers(1, 5))
    def rate(self, data: st.DataObject, by_renter: bool, score: int) -> None:
        ended = self.rentals(active=False)
        if not ended:
            return
        rental = data.draw(st.sampled_from(ended))
        rater = rental.renter if by_renter else rental.provider
        with refused:
            self.owner(rater).rate(rental.rental_id, score)

    @rule(bps=st.sampled_from([0, 250, 1000]))
    def fee(self, bps: int) -> None:
        self.chain.set_fee(bps)

    @rule(seconds=st.sampled_from([1, 59, 3599, 7200, 86399, 86400 + 3600]))
    def wait(self, seconds: int) -> None:
        self.chain.chain.advance_time(seconds)

    @precondition(lambda self: self.chain.rental_count())
    @rule(window=WINDOWS, back=st.integers(0, 2 * 86400), by=st.sampled_from(["day", "listing"]))
    def check(self, window: Any, back: int, by: str) -> None:
        history = read(self.chain)
        now = self.chain.chain.now() + 1
        end = max(now - back, (history.first or 0) + 1)
        for index in self.indexes:
            index.sync()
            compare(index, history, window, None if back == 0 else end, by)
        self.checked += 1

    def teardown(self) -> None:
        if self.chain.listing_count():
            history = read(self.chain)
            for index in self.indexes:
                index.sync()
                compare(index, history, None, None, "day")
        for index in self.indexes:
            index.close()


def compare(index: MarketIndex, history: History, window: Any, end: int | None, by: str) -> None:
    """Every analysis of ``index`` equals its brute-force value from ``history``."""
    stats = analytics.market(index, window=window, end=end)
    lo, hi = stats.start, stats.end
    expected = market(history, lo, hi)
    frame = stats.frame
    assert list(frame["model"]) == sorted(expected)
    for position, model in enumerate(frame["model"]):
        want = expected[model]
        got = {c: frame[c].iloc[position] for c in frame.columns}
        for column in (
            "listings",
            "available",
            "rented",
            "rentals",
            "listed_seconds",
            "rented_seconds",
            "volume",
            "ratings",
        ):
            assert got[column] == want[column], (model, column)
        assert _same(got["utilization"], want["utilization"]), model
        assert _same(got["rating"], want["rating"]), model
        for block in ("ask", "realized"):
            for name in ("min", "p10", "p25", "median", "p75", "p90", "max", "mean"):
                value = got[f"{block}_{name}"]
                assert value == (None if want[block] is None else want[block][name]), (
                    model,
                    block,
                    name,
                )
    for model in sorted({v[-1].model for v in history.versions.values()}):
        prices = analytics.price_history(index, model, by="day", window=window, end=end).frame
        want_prices = price_history(history, model, lo, hi)
        assert [int(t.timestamp()) for t in prices["period"]] == sorted(want_prices)
        for position, start in enumerate(sorted(want_prices)):
            want = want_prices[start]
            assert prices["listings"].iloc[position] == want["listings"]
            assert prices["rentals"].iloc[position] == want["rentals"]
            for block in ("ask", "realized"):
                for name in ("min", "median", "p90", "max", "mean"):
                    value = prices[f"{block}_{name}"].iloc[position]
                    assert value == (None if want[block] is None else want[block][name])
    use = analytics.utilization(index, by="day", window=window, end=end).frame
    got_use = {
        (int(t.timestamp()), m): (listed, rented)
        for t, m, listed, rented in zip(
            use["period"], use["model"], use["listed_seconds"], use["rented_seconds"], strict=True
        )
    }
    assert got_use == utilization(history, lo, hi)
    for client_address in {v[0].provider for v in history.versions.values()}:
        earned = analytics.earnings(index, client_address, by=by, window=window, end=end).frame
        key = "period" if by == "day" else "listing_id"
        got_money = {
            (int(k.timestamp()) if by == "day" else int(k)): (n, b, f, r)
            for k, n, b, f, r in zip(
                earned[key],
                earned["rentals"],
                earned["billed"],
                earned["fees"],
                earned["refunds"],
                strict=True,
            )
            if n
        }
        assert got_money == money(history, "provider", client_address, lo, hi, by)
        assert list(earned["earned"]) == [
            b - f for b, f in zip(earned["billed"], earned["fees"], strict=True)
        ]
        report = analytics.provider_report(index, client_address, window=window, end=end)
        want_summary = provider_summary(history, client_address, lo, hi)
        for name, value in want_summary.items():
            assert _same(report.summary[name], value), (client_address, name)
    for renter in {r.renter for r in history.rentals.values()}:
        spent = analytics.spending(index, renter, by=by, window=window, end=end).frame
        key = "period" if by == "day" else "listing_id"
        got_spent = {
            (int(k.timestamp()) if by == "day" else int(k)): (n, b, f, r)
            for k, n, b, f, r in zip(
                spent[key],
                spent["rentals"],
                spent["billed"],
                spent["fees"],
                spent["refunds"],
                strict=True,
            )
            if n
        }
        assert got_spent == money(history, "renter", renter, lo, hi, by)


def _same(got: Any, want: Any) -> bool:
    """Equal, reading NaN and None alike (a ratio of nothing)."""
    if want is None:
        return got is None or got != got
    return bool(got == want)


@pytest.fixture
def index_urls(tmp_path: pytest.TempPathFactory, postgres_server: str) -> Iterator[list[str]]:
    """One SQLite file and one PostgreSQL database, rebuilt by each example."""
    import sqlalchemy

    name = "gpuhub_property_analytics"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        db.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield [f"sqlite:///{tmp_path}/index.db", postgres_server.rsplit("/", 1)[0] + "/" + name]
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_statistics_equal_brute_force(index_urls: list[str]) -> None:
    """For random market histories, every statistic equals the brute force, on both databases."""
    Market.urls = index_urls
    run_state_machine_as_test(
        Market,
        settings=settings(
            max_examples=10,
            stateful_step_count=40,
            deadline=None,
            phases=PHASES,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
