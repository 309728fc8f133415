"""BlockClock: when a client asks for a receipt, without a chain."""

from __future__ import annotations

import pytest

from gpuhub._transactions import BlockClock


def test_unknown_chain_retries_in_milliseconds() -> None:
    """Before anything is learned, a missed receipt is asked for again 2 ms later, then 4 ms."""
    clock = BlockClock()
    assert not clock.interval_mining
    assert (clock.retry_delay(0), clock.retry_delay(1)) == (0.002, 0.004)


def test_evenly_spaced_blocks_mean_interval_mining() -> None:
    """Timestamps one second apart make a one-second interval chain."""
    clock = BlockClock()
    clock.learn([10, 11, 12, 13, 14])
    assert clock.interval_mining and clock.block_time == 1.0


def test_time_travel_is_not_a_block_time() -> None:
    """Unevenly spaced timestamps (a dev chain moved forward two hours) are not interval mining."""
    clock = BlockClock()
    clock.learn([10, 11, 7211, 7212, 7213])
    assert clock.learned and not clock.interval_mining


def test_interval_chain_waits_for_the_next_block() -> None:
    """With a block every second anchored at t=100, a send at 100.3 waits until just past 101."""
    clock = BlockClock(block_time=1.0)
    clock.anchor = 100.0
    assert clock.first_delay(100.3, 100.3) == pytest.approx(0.72)


def test_block_already_come_asks_at_once() -> None:
    """A pending result read after the block that holds it has come is asked for at once."""
    clock = BlockClock(block_time=1.0)
    clock.anchor = 100.0
    assert clock.first_delay(100.3, 101.5) == 0.0


def test_retries_come_a_quarter_block_apart() -> None:
    """After a miss on a 12 s chain, the client asks again every 3 s, not every few ms."""
    assert BlockClock(block_time=12.0).retry_delay(0) == 3.0


def test_a_miss_re_anchors_and_a_hit_keeps_the_anchor() -> None:
    """A late block moves the anchor to when it was seen; an on-time one leaves it alone."""
    clock = BlockClock(block_time=1.0)
    clock.anchor = 100.0
    clock.seen(True, 101.05)
    assert clock.anchor == 100.0
    clock.seen(False, 102.3)
    assert clock.anchor == 102.3


def test_receipts_at_once_turn_an_interval_chain_instant() -> None:
    """Three receipts in a row there at the send mean the chain mines on arrival after all."""
    clock = BlockClock(block_time=1.0)
    for _ in range(3):
        clock.at_once(True)
    assert not clock.interval_mining


def test_poll_interval_fixes_the_pace() -> None:
    """A given poll interval is used for every retry, whatever the block time."""
    clock = BlockClock(block_time=1.0, poll_interval=0.25)
    assert (clock.interval_mining, clock.retry_delay(3)) == (False, 0.25)
