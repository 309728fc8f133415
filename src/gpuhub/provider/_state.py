"""The provider agent's memory: one SQLite file (stdlib ``sqlite3``, WAL), readable by its owner
only, since it keeps the connection details handed to renters.

It holds the last block whose events were processed, the GPU UUID -> listing map that
``publish`` keeps, and one row per rental served: where its hooks stand. Each change is
committed before the action it records is considered done, so a restart resumes exactly where
the last run stopped: a hook that finished is never run again for the same rental.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..exceptions import GPUHubError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gpus (
    uuid TEXT PRIMARY KEY,
    listing_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    capacity INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rentals (
    rental_id INTEGER PRIMARY KEY,
    listing_id INTEGER NOT NULL,
    gpu_uuid TEXT NOT NULL,
    renter TEXT NOT NULL,
    end_time INTEGER NOT NULL,
    request_key BLOB,
    ssh_key TEXT,
    start TEXT NOT NULL,
    start_attempts INTEGER NOT NULL,
    details TEXT,
    granted_key BLOB,
    closed TEXT,
    stop TEXT NOT NULL,
    stop_attempts INTEGER NOT NULL,
    retry_at REAL NOT NULL
);
"""


class StateMismatch(GPUHubError):
    """The state file belongs to another chain, marketplace or provider account."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RentalRecord:
    """What the agent knows and has done about one rental of its listings."""

    rental_id: int
    listing_id: int
    #: the GPU the rental is on.
    gpu_uuid: str
    renter: str
    #: the rental's end time (Unix seconds); extensions move it.
    end_time: int
    #: the public key of the renter's latest valid access request; None: none yet.
    request_key: bytes | None = None
    #: the SSH key of that request, canonical; None: none sent.
    ssh_key: str | None = None
    #: the start hook: "waiting" (for an access request), "due", "done", "failed" (gave up).
    start: str = "waiting"
    start_attempts: int = 0
    #: what the start hook printed, handed to the renter.
    details: str | None = None
    #: the request key the last grant was encrypted to.
    granted_key: bytes | None = None
    #: why the rental is over: "ended_by_renter", "ended_by_provider", "settled", "expired",
    #: "dropped" (the block that started it was reorganised away); None while it runs.
    closed: str | None = None
    #: the stop hook: "none" (not needed yet), "due", "done", "failed" (gave up).
    stop: str = "none"
    stop_attempts: int = 0
    #: wall-clock time before which the pending hook is not retried.
    retry_at: float = 0.0


_COLUMNS = tuple(f.name for f in fields(RentalRecord))


class AgentState:
    """The agent's state file.

    Args:
        path: the SQLite file; created (mode 0600) with its folder if missing.
        chain_id: the chain the file serves; a file made for another chain, marketplace or
            provider is refused (:class:`StateMismatch`), so two markets never share hooks'
            bookkeeping.
        marketplace: the marketplace's address.
        provider: the provider account's address.
    """

    def __init__(self, path: str | Path, *, chain_id: int, marketplace: str, provider: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # Created private before SQLite writes anything into it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        identity = {
            "schema": str(SCHEMA_VERSION),
            "chain_id": str(chain_id),
            "marketplace": marketplace.lower(),
            "provider": provider.lower(),
        }
        stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        for key, value in identity.items():
            if key in stored and stored[key] != value:
                self._db.close()
                raise StateMismatch(
                    f"{self.path} was made for {key} {stored[key]}, not {value}: give this "
                    "marketplace or account a state file of its own (--state PATH)"
                )
        with self._write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", identity.items()
            )

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ progress

    @property
    def last_block(self) -> int | None:
        """The last block whose events were processed; None before the first run."""
        rows = self._read("SELECT value FROM meta WHERE key = 'last_block'")
        return int(rows[0][0]) if rows else None

    def set_last_block(self, block: int) -> None:
        """Record that every event up to ``block`` was processed; the first call also makes it
        the first block the agent reads events from (:attr:`first_block`)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('last_block', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(block),),
            )
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('first_block', ?)", (str(block),)
            )

    @property
    def first_block(self) -> int:
        """The block the agent's history starts at (0 before anything was recorded)."""
        rows = self._read("SELECT value FROM meta WHERE key = 'first_block'")
        return int(rows[0][0]) if rows else 0

    # ------------------------------------------------------------------ GPUs

    def listings(self) -> dict[str, int]:
        """GPU UUID -> its listing id."""
        return dict(self._read("SELECT uuid, listing_id FROM gpus ORDER BY listing_id"))

    def gpu_of(self, listing_id: int) -> str | None:
        """The GPU a listing of this agent offers; None: not one of its listings."""
        rows = self._read("SELECT uuid FROM gpus WHERE listing_id = ?", (listing_id,))
        return str(rows[0][0]) if rows else None

    def set_listing(self, uuid: str, listing_id: int, *, name: str, capacity: int) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO gpus (uuid, listing_id, name, capacity) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (uuid) DO UPDATE SET listing_id = excluded.listing_id, "
                "name = excluded.name, capacity = excluded.capacity",
                (uuid, listing_id, name, capacity),
            )

    def forget_gpu(self, uuid: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM gpus WHERE uuid = ?", (uuid,))

    # ------------------------------------------------------------------ rentals

    def rental(self, rental_id: int) -> RentalRecord | None:
        rows = self._read(
            f"SELECT {', '.join(_COLUMNS)} FROM rentals WHERE rental_id = ?", (rental_id,)
        )
        return _record(rows[0]) if rows else None

    def rentals(self, *, finished: bool = False) -> list[RentalRecord]:
        """The rentals still running or owed a stop hook (every one with ``finished``)."""
        where = "" if finished else "WHERE closed IS NULL OR stop = 'due'"
        rows = self._read(f"SELECT {', '.join(_COLUMNS)} FROM rentals {where} ORDER BY rental_id")
        return [_record(r) for r in rows]

    def add_rental(self, record: RentalRecord) -> bool:
        """Record a rental first seen; False when it was known already (left as it is)."""
        with self._write() as db:
            cursor = db.execute(
                f"INSERT OR IGNORE INTO rentals ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
                _row(record),
            )
            return cursor.rowcount == 1

    def save(self, record: RentalRecord, **changes: Any) -> RentalRecord:
        """``record`` with ``changes``, written; returns the new record."""
        updated = replace(record, **changes)
        with self._write() as db:
            db.execute(
                f"UPDATE rentals SET {', '.join(f'{c} = ?' for c in _COLUMNS[1:])} "
                "WHERE rental_id = ?",
                (*_row(updated)[1:], updated.rental_id),
            )
        return updated


def _row(record: RentalRecord) -> tuple[Any, ...]:
    return tuple(getattr(record, c) for c in _COLUMNS)


def _record(row: tuple[Any, ...]) -> RentalRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    for key in ("request_key", "granted_key"):
        if values[key] is not None:
            values[key] = bytes(values[key])
    return RentalRecord(**values)
