"""Reputation's averages and Bayesian score, the rating checks, and Rated logs (no chain)."""

from __future__ import annotations

import pytest

from gpuhub import Rating, Reputation, Role, ValidationError, _core

ADDRESS = "0x" + "ab" * 20


def provider_rep(count: int, total: int) -> Reputation:
    """A reputation with ``count`` provider ratings summing to ``total``."""
    return Reputation(
        address=ADDRESS,
        provider_rating_count=count,
        provider_rating_sum=total,
        renter_rating_count=0,
        renter_rating_sum=0,
        completed_as_provider=count,
        completed_as_renter=0,
        terminations=0,
    )


def test_bayesian_score_puts_many_good_ratings_above_one_perfect() -> None:
    """At the defaults, one 5.0 rating ranks below fifty ratings averaging 4.8."""
    one_perfect = provider_rep(1, 5)
    fifty_good = provider_rep(50, 240)
    assert fifty_good.provider_average == 4.8
    assert one_perfect.provider_score() < fifty_good.provider_score()


def test_bayesian_score_formula() -> None:
    """provider_score is (v/(v+m))*R + (m/(v+m))*C."""
    rep = provider_rep(4, 18)
    v, r, m, c = 4, 4.5, 6, 2.0
    expected = v / (v + m) * r + m / (v + m) * c
    assert rep.provider_score(prior_mean=c, prior_weight=m) == pytest.approx(expected)


def test_bayesian_score_without_ratings_is_the_prior() -> None:
    """With no ratings the score is the prior mean, and the averages are None."""
    rep = provider_rep(0, 0)
    assert rep.provider_score() == 3.0
    assert rep.provider_score(prior_mean=4.0, prior_weight=0) == 4.0
    assert rep.provider_average is None and rep.renter_average is None


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
    ]
    with pytest.raises(AttributeError):
        provider_rep(1, 5).terminations = 3  # type: ignore[misc]


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

    from gpuhub import _abi

    data = encode(["uint8", "uint256", "uint256", "bytes"], [1, 4, 123, b"ok \xff"])
    topics = [b"\0" * 32, (9).to_bytes(32), bytes(12) + b"\x11" * 20, bytes(12) + b"\x22" * 20]
    rating = Rating.from_event(_abi.marketplace().events["Rated"].args(topics, data), 77)
    assert (rating.rental_id, rating.role, rating.score, rating.billed) == (
        9,
        Role.PROVIDER,
        4,
        123,
    )
    assert rating.comment == "ok \ufffd"
    assert rating.rater.lower() == "0x" + "11" * 20 and rating.ratee.lower() == "0x" + "22" * 20
    assert rating.block_number == 77
