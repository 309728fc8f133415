"""gpuhub.to_dataframe, the percentile rule and the readable forms of models (no chain)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpuhub
from gpuhub import (
    Listing,
    ListingStatus,
    PriceUnit,
    Rating,
    Rental,
    RentalStatus,
    Reputation,
    Role,
    ValidationError,
)
from gpuhub import events as ev
from gpuhub.analytics import percentile
from gpuhub.search import Query, SearchResult

PROVIDER = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"
RENTER = "0x6813Eb9362372EEF6200f3b1dbC3f819671cBA69"


def listing(listing_id: int, price: int, unit: PriceUnit = PriceUnit.HOUR) -> Listing:
    return Listing(
        listing_id=listing_id,
        provider=PROVIDER,
        gpu_model="NVIDIA H100",
        capacity=80,
        price=price,
        unit=unit,
        min_duration=1,
        max_duration=10,
        status=ListingStatus.AVAILABLE,
    )


def reputation(address: str) -> Reputation:
    return Reputation(
        address=address,
        provider_rating_count=2,
        provider_rating_sum=9,
        renter_rating_count=0,
        renter_rating_sum=0,
        completed_as_provider=3,
        completed_as_renter=0,
        terminations=1,
        provider_rating_weight=5_000,
        provider_rating_weighted_sum=22_000,
        renter_rating_weight=0,
        renter_rating_weighted_sum=0,
    )


def test_listings_keep_wei_exact_beside_eth() -> None:
    """Prices past 2**64 stay exact Python ints in an object column, with float ETH beside."""
    frame = gpuhub.to_dataframe([listing(0, 2**200 + 1), listing(1, 5 * 10**14, PriceUnit.DAY)])
    assert frame["price"].dtype == object
    assert list(frame["price"]) == [2**200 + 1, 5 * 10**14]
    assert frame["price_eth"].dtype == "float64"
    assert frame["price_eth"].iloc[1] == 0.0005
    assert list(frame["price_per_hour"]) == [2**200 + 1, 5 * 10**14 // 24]
    assert frame["price"].sum() == 2**200 + 1 + 5 * 10**14


def test_enums_are_named_categories_in_contract_order() -> None:
    """Units and statuses are categorical by name, their categories in Solidity order."""
    frame = gpuhub.to_dataframe([listing(0, 1, PriceUnit.DAY), listing(1, 1, PriceUnit.MINUTE)])
    assert list(frame["unit"]) == ["DAY", "MINUTE"]
    assert list(frame["unit"].cat.categories) == ["MINUTE", "HOUR", "DAY"]
    assert list(frame.sort_values("unit")["listing_id"]) == [1, 0]


def test_rental_times_are_utc_timestamps() -> None:
    """A rental's start and end become timezone-aware UTC timestamps."""
    rental = Rental(
        rental_id=3,
        listing_id=0,
        renter=RENTER,
        provider=PROVIDER,
        start=1_764_000_000,
        end=1_764_003_600,
        price=10**15,
        unit=PriceUnit.HOUR,
        paid=10**15,
        fee_bps=250,
        status=RentalStatus.SETTLED,
    )
    frame = gpuhub.to_dataframe([rental])
    assert str(frame["start"].dt.tz) == "UTC"
    assert int(frame["end"].iloc[0].timestamp()) == 1_764_003_600
    assert frame["status"].iloc[0] == "SETTLED"
    assert frame["paid"].iloc[0] == 10**15


def test_events_of_several_kinds_share_one_frame() -> None:
    """Typed events of different kinds give one frame, with an ``event`` column and gaps."""
    where = {"block_number": 5, "block_hash": "0x" + "00" * 32, "tx_hash": "0x" + "11" * 32}
    created = ev.ListingStatusChanged(
        **where, log_index=0, listing_id=1, status=ListingStatus.REMOVED
    )
    rated = ev.Rated(
        **where,
        log_index=1,
        rental_id=2,
        rater=RENTER,
        ratee=PROVIDER,
        role=Role.PROVIDER,
        score=4,
        billed=2**70,
        comment="ok",
    )
    frame = gpuhub.to_dataframe([created, rated])
    assert list(frame["event"]) == ["ListingStatusChanged", "Rated"]
    assert frame["billed"].iloc[1] == 2**70 and frame["billed"].iloc[0] is None
    assert list(frame["role"].cat.categories) == ["RENTER", "PROVIDER"]


def test_search_result_rows_carry_provider_reputation() -> None:
    """A search result's frame has each row's provider score and counts."""
    result = SearchResult(
        listings=[listing(0, 10**15), listing(1, 2 * 10**15)],
        total=7,
        reputations={PROVIDER: reputation(PROVIDER)},
        query=Query.parse("sort=price"),
    )
    frame = gpuhub.to_dataframe(result)
    assert list(frame["provider_score"]) == [reputation(PROVIDER).provider_score()] * 2
    assert list(frame["terminations"]) == [1, 1]


def test_other_objects_are_refused() -> None:
    """Anything but gpuhub's models, events or a search result is a TypeError saying what
    is taken."""
    with pytest.raises(TypeError, match="listings, rentals"):
        gpuhub.to_dataframe([{"price": 1}])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 2**256 - 1), min_size=1, max_size=40), st.integers(0, 100))
def test_percentile_is_numpy_inverted_cdf(values: list[int], percent: int) -> None:
    """The nearest-rank percentile is one of the values: numpy's inverted_cdf rule."""
    expected = np.percentile(np.array(values, dtype=object), percent, method="inverted_cdf")
    assert percentile(values, percent) == expected
    assert percentile(values, percent) in values


def test_percentile_refuses_nonsense() -> None:
    """No values, or a percent outside 0..100, is a ValidationError."""
    with pytest.raises(ValidationError) as exc:
        percentile([], 50)
    assert exc.value.field == "values"
    with pytest.raises(ValidationError) as exc:
        percentile([1], 101)
    assert exc.value.field == "percent"


def test_model_text_names_units_and_dates() -> None:
    """A rating and a reputation read as one line with ETH and names, never raw enums."""
    rating = Rating(
        rental_id=1,
        rater=RENTER,
        ratee=PROVIDER,
        role=Role.PROVIDER,
        score=5,
        billed=25 * 10**14,
        comment="",
        block_number=9,
    )
    assert str(rating) == (
        "Rating of rental #1: 5/5 for the provider 0x2B5A…D6cF from 0x6813…BA69, billed 0.0025 ETH"
    )
    assert str(reputation(PROVIDER)).startswith("Reputation of 0x2B5A…D6cF: as provider 2")
    assert "Role." not in repr(rating) and "<Role" not in repr(rating)
