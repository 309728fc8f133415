"""Chain times as text: every message that shows a timestamp reads it the same way, and a dev
chain's clock moved past the year 9999 prints as its timestamp instead of failing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gpuhub import alerts, governance
from gpuhub._display import when
from gpuhub.cli._output import when as cli_when

PAST_9999 = 300_000_000_000  # the year 11476
SHOWERS = [when, cli_when, alerts._utc, governance._utc]


@pytest.mark.parametrize("show", SHOWERS)
def test_a_time_reads_as_utc(show: Callable[[int], str]) -> None:
    """1,800,000,000 is 2027-01-15 08:00:00 UTC in every message."""
    assert "2027-01-15 08:00:00 UTC" in show(1_800_000_000)


@pytest.mark.parametrize("show", SHOWERS)
def test_a_time_past_the_year_9999_prints_its_timestamp(show: Callable[[int], str]) -> None:
    """A governance deadline or a rental's end past what Python's dates hold (a dev chain moved
    that far) is written as the timestamp: the alert or the error message still reaches the user."""
    assert f"timestamp {PAST_9999}, past the year 9999" in show(PAST_9999)
