"""The sender lock: an account's sends one at a time across processes sharing a PostgreSQL
index."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy

from gpuhub import MarketIndexError
from gpuhub.index import SenderLock

OPERATOR = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"


@pytest.fixture
def engines(postgres_server: str) -> Iterator[tuple[sqlalchemy.Engine, sqlalchemy.Engine]]:
    """Two engines on one PostgreSQL database, as two worker processes have."""
    first, second = (
        sqlalchemy.create_engine(postgres_server),
        sqlalchemy.create_engine(postgres_server),
    )
    yield first, second
    first.dispose()
    second.dispose()


def test_sender_lock_needs_postgresql() -> None:
    """On SQLite the lock is refused with a MarketIndexError that names PostgreSQL."""
    with pytest.raises(MarketIndexError, match="PostgreSQL"):
        SenderLock(sqlalchemy.create_engine("sqlite://"), OPERATOR)


def test_a_held_lock_keeps_another_process_out(
    engines: tuple[sqlalchemy.Engine, sqlalchemy.Engine],
) -> None:
    """While one process holds an account's lock, another's acquire times out with a
    MarketIndexError naming the account; once released, the other gets it."""
    mine, theirs = SenderLock(engines[0], OPERATOR), SenderLock(engines[1], OPERATOR, timeout=0.2)
    mine.acquire()
    try:
        with pytest.raises(MarketIndexError, match=OPERATOR):
            theirs.acquire()
    finally:
        mine.release()
    assert theirs.acquire()
    theirs.release()


def test_locks_of_two_accounts_are_apart(
    engines: tuple[sqlalchemy.Engine, sqlalchemy.Engine],
) -> None:
    """Another account's lock is not this one's: both are held at once."""
    other = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"
    mine, theirs = SenderLock(engines[0], OPERATOR), SenderLock(engines[1], other, timeout=0.2)
    mine.acquire()
    try:
        assert theirs.acquire()
        theirs.release()
    finally:
        mine.release()


def test_threads_of_one_process_wait_their_turn(
    engines: tuple[sqlalchemy.Engine, sqlalchemy.Engine],
) -> None:
    """Threads sharing one lock hold it one at a time, each on the database only while it
    holds it."""
    lock = SenderLock(engines[0], OPERATOR)
    inside: list[int] = []
    most = 0

    def hold() -> None:
        nonlocal most
        lock.acquire()
        try:
            inside.append(1)
            most = max(most, len(inside))
            time.sleep(0.01)
            inside.pop()
        finally:
            lock.release()

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    assert engines[0].pool.checkedout() == 0
