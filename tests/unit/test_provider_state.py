"""The agent's state file: private, tied to one market and account, and durable across reopens."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gpuhub.provider._state import AgentState, RentalRecord, StateMismatch

MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def open_state(path: Path, **overrides: object) -> AgentState:
    identity: dict[str, object] = {"chain_id": 31337, "marketplace": MARKET, "provider": PROVIDER}
    identity.update(overrides)
    return AgentState(path, **identity)  # type: ignore[arg-type]


def record(rental_id: int = 3) -> RentalRecord:
    return RentalRecord(
        rental_id=rental_id, listing_id=1, gpu_uuid="GPU-1", renter="0xabc", end_time=100
    )


def test_file_is_private(tmp_path: Path) -> None:
    """The state file (it keeps connection details) is readable by its owner only."""
    open_state(tmp_path / "agent" / "state.db").close()
    mode = stat.S_IMODE((tmp_path / "agent" / "state.db").stat().st_mode)
    assert mode == 0o600


def test_other_market_refused(tmp_path: Path) -> None:
    """A state file made for one marketplace is refused for another, naming both."""
    open_state(tmp_path / "s.db").close()
    other = "0x" + "12" * 20
    with pytest.raises(StateMismatch, match=f"marketplace {MARKET.lower()}, not {other}"):
        open_state(tmp_path / "s.db", marketplace=other)


def test_progress_survives_reopen(tmp_path: Path) -> None:
    """The last processed block and the GPU listings are there after a restart."""
    state = open_state(tmp_path / "s.db")
    assert state.last_block is None
    state.set_last_block(42)
    state.set_listing("GPU-1", 5, name="NVIDIA H100 80GB HBM3", capacity=80)
    state.close()
    state = open_state(tmp_path / "s.db")
    assert (state.last_block, state.listings(), state.gpu_of(5)) == (42, {"GPU-1": 5}, "GPU-1")


def test_rental_added_once(tmp_path: Path) -> None:
    """A rental seen twice (events replayed after a restart) is recorded once, unchanged."""
    state = open_state(tmp_path / "s.db")
    assert state.add_rental(record())
    saved = state.save(record(), start="done", details="ssh -p 2222 u@h", start_attempts=1)
    assert not state.add_rental(record())
    assert state.rental(3) == saved


def test_open_rentals(tmp_path: Path) -> None:
    """Rentals still running or owed a stop hook are open; finished ones are not."""
    state = open_state(tmp_path / "s.db")
    for rental_id, changes in [
        (1, {}),
        (2, {"closed": "settled", "stop": "due"}),
        (3, {"closed": "settled", "stop": "done"}),
        (4, {"closed": "ended_by_renter", "stop": "none"}),
    ]:
        state.add_rental(record(rental_id))
        state.save(record(rental_id), **changes)
    assert [r.rental_id for r in state.rentals()] == [1, 2]
    assert [r.rental_id for r in state.rentals(finished=True)] == [1, 2, 3, 4]
