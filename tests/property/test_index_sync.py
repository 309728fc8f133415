"""The index equals the contract after random market activity and syncs at random points.

Two indexes follow one embedded chain, one on SQLite and one on PostgreSQL; each syncs when a
rule says so, and after a final sync both hold every listing, rental, rating and reputation
the contract does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import ClassVar

import pytest
from _expect import PHASES
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from gpuhub import ContractError, GPUHubClient, MarketIndex, PriceUnit, ValidationError

N_ACCOUNTS = 4
PRICES = st.sampled_from([1, 7, 10**15, 2**63 - 1, 2**63, 2**63 + 1, 2**95])
MODELS = st.sampled_from(["RTX 4090", "A100", "Ünïcode ß", "H100 SXM 80GB", "x" * 64])
refused = contextlib.suppress(ContractError, ValidationError)


class IndexedMarket(RuleBasedStateMachine):
    """Listings, updates, status changes, rentals, extensions, ends, settlements and ratings."""

    urls: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__()
        root = GPUHubClient.local()
        self.clients = [root.with_account(a) for a in root.accounts[:N_ACCOUNTS]]
        self.indexes = [MarketIndex.rebuild(root, url) for url in self.urls]

    @property
    def chain(self) -> GPUHubClient:
        return self.clients[0]

    def listing_count(self) -> int:
        return self.chain.listing_count()

    def rental_count(self) -> int:
        return self.chain.rental_count()

    @rule(
        who=st.integers(0, N_ACCOUNTS - 1),
        model=MODELS,
        capacity=st.integers(1, 80),
        price=PRICES,
        unit=st.sampled_from(list(PriceUnit)),
    )
    def create(self, who: int, model: str, capacity: int, price: int, unit: PriceUnit) -> None:
        self.clients[who].create_listing(
            gpu_model=model, capacity=capacity, price=price, unit=unit, max_duration=30
        )

    @precondition(lambda self: self.listing_count())
    @rule(data=st.data(), model=MODELS, price=PRICES, unit=st.sampled_from(list(PriceUnit)))
    def update(self, data: st.DataObject, model: str, price: int, unit: PriceUnit) -> None:
        listing = self.chain.get_listing(data.draw(st.integers(0, self.listing_count() - 1)))
        owner = next(c for c in self.clients if c.address == listing.provider)
        with refused:
            owner.update_listing(
                listing.listing_id,
                gpu_model=model,
                capacity=9,
                price=price,
                unit=unit,
                max_duration=20,
            )

    @precondition(lambda self: self.listing_count())
    @rule(data=st.data(), action=st.sampled_from(["fulfill_request", "mark_available", "remove"]))
    def change_status(self, data: st.DataObject, action: str) -> None:
        listing = self.chain.get_listing(data.draw(st.integers(0, self.listing_count() - 1)))
        owner = next(c for c in self.clients if c.address == listing.provider)
        with refused:
            if action == "remove":
                owner.remove_listing(listing.listing_id)
            else:
                getattr(owner, action)(listing.listing_id)

    @precondition(lambda self: self.listing_count())
    @rule(data=st.data(), who=st.integers(0, N_ACCOUNTS - 1), units=st.integers(1, 3))
    def rent(self, data: st.DataObject, who: int, units: int) -> None:
        listing = self.chain.get_listing(data.draw(st.integers(0, self.listing_count() - 1)))
        if listing.price * units > 10**21:  # more than the account holds
            return
        with refused:
            self.clients[who].rent(listing.listing_id, units)

    @precondition(lambda self: self.rental_count())
    @rule(data=st.data(), how=st.sampled_from(["extend", "renter", "provider", "settle"]))
    def finish(self, data: st.DataObject, how: str) -> None:
        rental = self.chain.get_rental(data.draw(st.integers(0, self.rental_count() - 1)))
        renter = next(c for c in self.clients if c.address == rental.renter)
        provider = next(c for c in self.clients if c.address == rental.provider)
        with refused:
            if how == "extend":
                renter.extend_rental(rental.rental_id, 1)
            elif how == "renter":
                renter.end_rental(rental.rental_id)
            elif how == "provider":
                provider.end_rental(rental.rental_id)
            else:
                self.chain.chain.advance_time(max(0, rental.end - self.chain.chain.now()))
                self.chain.settle(rental.rental_id)

    @precondition(lambda self: self.rental_count())
    @rule(data=st.data(), by_renter=st.booleans(), score=st.integers(1, 5))
    def rate(self, data: st.DataObject, by_renter: bool, score: int) -> None:
        rental = self.chain.get_rental(data.draw(st.integers(0, self.rental_count() - 1)))
        rater = rental.renter if by_renter else rental.provider
        with refused:
            next(c for c in self.clients if c.address == rater).rate(
                rental.rental_id, score, comment=f"score {score}"
            )

    @rule(seconds=st.integers(1, 3 * 86400))
    def wait(self, seconds: int) -> None:
        self.chain.chain.advance_time(seconds)

    @rule(which=st.integers(0, 1))
    def sync(self, which: int) -> None:
        index = self.indexes[which % len(self.indexes)]
        assert index.sync() == self.chain.block_number()

    def teardown(self) -> None:
        chain = self.chain
        listings, rentals, ratings = (
            chain.list_listings(),
            list(chain.iter_rentals()),
            chain.ratings(),
        )
        for index in self.indexes:
            index.sync()
            assert index.list_listings() == listings
            assert index.list_rentals() == rentals
            assert index.list_ratings() == ratings
            for client in self.clients:
                assert index.reputation(client.address) == chain.reputation(client.address)
            index.close()


@pytest.fixture
def index_urls(tmp_path: pytest.TempPathFactory, postgres_server: str) -> Iterator[list[str]]:
    """One SQLite file and one PostgreSQL database, rebuilt by each example."""
    import sqlalchemy

    name = "gpuhub_property_sync"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        db.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield [f"sqlite:///{tmp_path}/index.db", postgres_server.rsplit("/", 1)[0] + "/" + name]
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_index_equals_contract(index_urls: list[str]) -> None:
    """After random activity and syncs, both indexes equal the contract."""
    IndexedMarket.urls = index_urls
    run_state_machine_as_test(
        IndexedMarket,
        settings=settings(
            max_examples=10,
            stateful_step_count=25,
            deadline=None,
            phases=PHASES,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
