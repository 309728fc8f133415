"""Random queries give the same answer from SQLite, PostgreSQL and the chain, and match a filter
written out by hand.

One market with listings in every unit and status, prices past 2**63 wei, non-ASCII models and
providers with different reputations is built once; hypothesis then draws queries over it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
from _expect import PHASES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuhub import (
    GPUHubClient,
    Listing,
    ListingStatus,
    MarketIndex,
    PriceUnit,
    Reputation,
)
from gpuhub.search import FIELDS, Kind, Query, SortKey, Term, Time

MODELS = ["RTX 4090", "rtx 4080 super", "A100 80GB", "H100", "Ünïcode ß", "l4", "MI300X"]
PRICES = [1, 60, 3600, 10**15, 24 * 10**15, 2**63 - 1, 2**63, 2**63 + 1, 2**95]


@dataclass
class Market:
    client: GPUHubClient
    indexes: list[MarketIndex]
    listings: list[Listing]
    reputations: dict[str, Reputation]


@pytest.fixture(scope="module")
def market(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    """Thirty listings from four providers with different track records, indexed twice."""
    import sqlalchemy

    client = GPUHubClient.local()
    providers = [client.with_account(a) for a in client.accounts[:4]]
    renter = client.with_account(client.accounts[5])
    for i in range(30):
        providers[i % 4].create_listing(
            gpu_model=MODELS[i % len(MODELS)],
            capacity=[8, 16, 24, 48, 80][i % 5],
            price=PRICES[i % len(PRICES)],
            unit=list(PriceUnit)[i % 3],
            min_duration=1 + i % 3,
            max_duration=10 + (i % 4) * 10,
        )
    for listing_id, score, by_provider in [
        (2, 5, False),
        (3, 1, True),
        (5, 4, False),
        (6, 2, False),
    ]:
        rental = renter.rent(listing_id, 1 + listing_id % 3)
        provider = next(p for p in providers if p.address == rental.provider)
        client.chain.advance_time(30)  # billed from nothing to 4.6 ETH: ratings of every weight
        (provider if by_provider else renter).end_rental(rental.rental_id)
        renter.rate(rental.rental_id, score)
    renter.rent(9, 2)
    providers[1].fulfill_request(13)
    providers[3].remove_listing(15)

    name = "gpuhub_property_search"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        db.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    urls = [
        f"sqlite:///{tmp_path_factory.mktemp('search')}/index.db",
        postgres_server.rsplit("/", 1)[0] + "/" + name,
    ]
    indexes = [MarketIndex(client, url) for url in urls]
    for index in indexes:
        index.sync()
    listings = client.list_listings()
    reputations = {p.address: client.reputation(p.address) for p in providers}
    yield Market(client, indexes, listings, reputations)
    for index in indexes:
        index.close()
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


# ---------------------------------------------------------------------------------- queries

#: numbers past what SQL integers hold, which every numeric field must compare as Python does.
HUGE = [2**31, 2**63 - 1, 2**63, 2**64, 10**70]
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(st.integers(0, 31), st.sampled_from(HUGE)),
    "provider": st.sampled_from(["0x" + "ab" * 20, "7e5f4552091a69125d5dfcb7b8c2659029395bdf"]),
    "model": st.sampled_from([*MODELS, "4090", "RTX", "ß", "SS", "%", "_", "x"]),
    "capacity": st.sampled_from([7, 8, 16, 24, 25, 80, *HUGE]),
    "price": st.sampled_from([p + d for p in PRICES for d in (-1, 0, 1)] + [10**77]),
    "unit": st.sampled_from(list(PriceUnit)),
    "price_per_hour": st.sampled_from([1, 2, 60, 3600, 10**15, 6 * 10**16, 2**63, 2**95 // 24]),
    "min_duration": st.one_of(
        st.integers(0, 4),
        st.sampled_from(HUGE),
        st.sampled_from([Time(Fraction(s)) for s in (60, 3600, 7200, 86400, 2**63, 10**70)]),
    ),
    "max_duration": st.one_of(
        st.integers(9, 41),
        st.sampled_from(HUGE),
        st.sampled_from([Time(Fraction(s)) for s in (600, 36000, 864000, 2**64)]),
    ),
    "max_hours": st.sampled_from(
        [Time(Fraction(s)) for s in (600, 36000, 86400, 1728000, 5400, 2**63, 10**70)]
    ),
    "status": st.sampled_from([*ListingStatus, None]),
    "rating": st.sampled_from(
        [Fraction(n, 10) for n in range(20, 41, 3)] + [Fraction(3), Fraction(2**63), Fraction(6)]
    ),
    "ratings": st.one_of(st.integers(0, 2), st.sampled_from(HUGE)),
    "completed": st.one_of(st.integers(0, 2), st.sampled_from(HUGE)),
    "terminations": st.one_of(st.integers(0, 1), st.sampled_from(HUGE)),
}
OPS = {
    Kind.TEXT: ["=", "!=", "~"],
    Kind.ADDRESS: ["!=", "~"],
    Kind.UNIT: ["=", "!="],
    Kind.STATUS: ["=", "!="],
}


@st.composite
def terms(draw: st.DrawFn) -> Term:
    name = draw(st.sampled_from(sorted(FIELDS)))
    kind = FIELDS[name].kind
    values = VALUES[name]
    if name == "status":
        value = draw(values)
        if value is None:
            return Term(name, "=", None)
        op = draw(st.sampled_from(["=", "!=", "in", "notin"]))
        if op in ("in", "notin"):
            return Term(
                name, op, tuple(draw(st.lists(st.sampled_from(list(ListingStatus)), max_size=3)))
            )
        return Term(name, op, value)
    op = draw(st.sampled_from([*OPS.get(kind, ["=", "!=", "<", "<=", ">", ">="]), "in", "notin"]))
    if kind is Kind.ADDRESS and op in ("in", "notin", "="):
        op = "~"
    if kind is Kind.ADDRESS and op == "!=":
        return Term(name, op, "0x" + "ab" * 20)
    if op in ("in", "notin"):
        return Term(name, op, tuple(draw(st.lists(values, max_size=3))))
    return Term(name, op, draw(values))


queries = st.builds(
    Query,
    st.lists(terms(), max_size=4).map(tuple),
    st.lists(st.builds(SortKey, st.sampled_from(sorted(FIELDS)), st.booleans()), max_size=3).map(
        tuple
    ),
    st.one_of(st.none(), st.integers(0, 12), st.just(2**63)),
    st.one_of(st.integers(0, 5), st.just(2**64)),
)


# ---------------------------------------------------------------------------------- by hand


def by_hand(listing: Listing, term: Term, reputation: Reputation) -> bool:
    """The term's meaning, written out field by field without the evaluator's helpers."""
    if term.op in ("in", "notin"):
        hit = any(by_hand(listing, Term(term.field, "=", v), reputation) for v in term.value)
        return hit if term.op == "in" else not hit
    seconds = listing.unit.seconds
    value: Any
    bound: Any = term.value
    match term.field:
        case "id":
            value = listing.listing_id
        case "provider":
            value = listing.provider.lower()
        case "model":
            value = listing.gpu_model
            if term.op == "~":
                return bound.casefold() in value.casefold()
        case "capacity" | "price" | "unit" | "status":
            value = getattr(listing, term.field)
            if term.field == "status" and bound is None:
                return True
        case "price_per_hour":
            value = Fraction(listing.price * 3600, seconds)
        case "min_duration" | "max_duration":
            value = getattr(listing, term.field)
            if isinstance(bound, Time):
                value, bound = value * seconds, bound.seconds
        case "max_hours":
            value, bound = listing.max_duration * seconds, bound.seconds
        case "rating":
            # The weighted mean with 10,000 units of prior at 3, as a float; whole numbers
            # below 2**53 divide exactly as the databases' doubles do.
            value = (reputation.provider_rating_weighted_sum + 30_000) / (
                reputation.provider_rating_weight + 10_000
            )
            bound = float(bound)
        case "ratings":
            value = reputation.provider_rating_count
        case "completed":
            value = reputation.completed_as_provider
        case "terminations":
            value = reputation.terminations
    if term.op == "~":
        return str(bound).lower() in str(value).lower()
    return {
        "=": value == bound,
        "!=": value != bound,
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
    }[term.op]


@settings(
    max_examples=80, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.too_slow]
)
@given(query=queries)
def test_every_evaluator_agrees(market: Market, query: Query) -> None:
    """SQLite, PostgreSQL and the chain return the same page, and the hand filter the same set."""
    text = str(query)
    assert Query.parse(text) == query
    chain = market.client.search(text)
    for index in market.indexes:
        found = index.search(text)
        assert [x.listing_id for x in found.listings] == [x.listing_id for x in chain.listings]
        assert found.total == chain.total
    expected = {
        x.listing_id
        for x in market.listings
        if all(by_hand(x, t, market.reputations[x.provider]) for t in query.filters())
    }
    assert chain.total == len(expected)
    if query.limit is None and query.offset == 0:
        assert {x.listing_id for x in chain.listings} == expected
