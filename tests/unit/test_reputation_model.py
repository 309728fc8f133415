"""Reputation's averages and weighted score, the rating checks, and Rated logs (no chain)."""

from __future__ import annotations

import pytest

from gpuhub import Rating, Reputation, Role, ValidationError, _core
from gpuhub.models import RATING_WEIGHT_UNIT

ADDRESS = "0x" + "ab" * 20
ETH_UNITS = 10**18 // RATING_WEIGHT_UNIT  # weight units in one ether


def provider_rep(ratings: list[tuple[int, int]]) -> Reputation:
    """A reputation with one provider rating per ``(score, weight)``."""
    return Reputation(
        address=ADDRESS,
        provider_rating_count=len(ratings),
        provider_rating_sum=sum(score for score, _ in ratings),
        renter_rating_count=0,
        renter_rating_sum=0,
        completed_as_provider=len(ratings),
        completed_as_renter=0,
        terminations=0,
        provider_rating_weight=sum(weight for _, weight in ratings),
        provider_rating_weighted_sum=sum(score * weight for score, weight in ratings),
        renter_rating_weight=0,
        renter_rating_weighted_sum=0,
    )


def test_score_puts_well_paid_good_ratings_above_one_perfect() -> None:
    """At the defaults, one 5-star rental of 0.01 ETH ranks below fifty 4.8-star ones of as much."""
    one_perfect = provider_rep([(5, ETH_UNITS // 100)])
    fifty_good = provider_rep([(5, ETH_UNITS // 100)] * 40 + [(4, ETH_UNITS // 100)] * 10)
    assert fifty_good.provider_average == 4.8
    assert one_perfect.provider_score() == 4.0
    assert one_perfect.provider_score() < fifty_good.provider_score()


def test_score_formula() -> None:
    """provider_score is (weighted sum + m * C) / (weight + m)."""
    rep = provider_rep([(5, 300), (2, 100)])
    m, c = 600, 2.0
    assert rep.provider_score(prior_mean=c, prior_weight=m) == (1_700 + m * c) / (400 + m)


def test_ratings_of_rentals_billed_for_seconds_weigh_nothing() -> None:
    """Eleven one-star ratings of rentals that billed under 10**12 wei each leave the score as
    the paid ratings put it."""
    paid = [(5, ETH_UNITS // 20), (4, ETH_UNITS // 20)]
    bombed = provider_rep(paid + [(1, 0)] * 11)
    assert bombed.provider_average is not None and bombed.provider_average < 2
    assert bombed.provider_score() == provider_rep(paid).provider_score()


def test_score_without_weight_is_the_prior() -> None:
    """With no weight the score is the prior mean, and the averages are None without ratings."""
    assert provider_rep([]).provider_score() == 3.0
    assert provider_rep([]).provider_score(prior_mean=4.0, prior_weight=0) == 4.0
    assert provider_rep([(1, 0)]).provider_score() == 3.0
    assert provider_rep([]).provider_average is None and provider_rep([]).renter_average is None


@pytest.mark.parametrize("weight", [-1, 2.5, True])
def test_prior_weight_is_whole_weight_units(weight: object) -> None:
    """The prior weight is a whole number of weight units >= 0."""
    with pytest.raises(ValueError, match="prior_weight"):
        provider_rep([]).provider_score(prior_weight=weight)  # type: ignore[arg-type]


def test_reputation_is_frozen_with_exactly_its_fields() -> None:
    """Reputation is frozen and has exactly the fields the contract counts."""
    assert list(Reputation.__dataclass_fields__) == [
        "address",
        "provider_rating_count",
        "provider_rating_sum",
        "renter_rating_count",
        "renter_rating_sum",
        "completed_as_provider",
        "completed_as_renter",
        "terminations",
        "provider_rating_weight",
        "provider_rating_weighted_sum",
        "renter_rating_weight",
        "renter_rating_weighted_sum",
    ]
    with pytest.raises(AttributeError):
        provider_rep([(5, 1)]).terminations = 3  # type: ignore[misc]


@pytest.mark.parametrize("score", [0, 6, -1, True, "5", 4.0, None])
def test_check_score_refuses(score: object) -> None:
    """Only the integers 1..5 are scores."""
    with pytest.raises(ValidationError):
        _core.check_score(score)


def test_check_comment_counts_utf8_bytes() -> None:
    """The comment limit is 280 bytes of UTF-8, not 280 characters."""
    assert _core.check_comment("€" * 93) == "€" * 93  # 279 bytes
    with pytest.raises(ValidationError, match="281"):
        _core.check_comment("€" * 93 + "xx")
    with pytest.raises(ValidationError):
        _core.check_comment(b"bytes")


def test_rated_log_with_bad_utf8_decodes() -> None:
    """A Rated log whose comment is not UTF-8 (the contract checks only its length) still reads."""
    from eth_abi.abi import encode

    from gpuhub.events import default_decoder

    decoder = default_decoder()
    data = encode(["uint8", "uint256", "uint256", "bytes"], [1, 4, 123, b"ok \xff"])
    topic0 = bytes.fromhex(decoder.topics["Rated"][2:])
    topics = [topic0, (9).to_bytes(32), bytes(12) + b"\x11" * 20, bytes(12) + b"\x22" * 20]
    args = decoder.args_of("Rated", topics, data)
    assert args is not None
    rating = Rating.from_event(args, 77)
    assert (rating.rental_id, rating.role, rating.score, rating.billed) == (
        9,
        Role.PROVIDER,
        4,
        123,
    )
    assert rating.comment == "ok \ufffd"
    assert rating.rater.lower() == "0x" + "11" * 20 and rating.ratee.lower() == "0x" + "22" * 20
    assert rating.block_number == 77
