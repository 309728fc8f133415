"""A sender's nonce lock across processes: a PostgreSQL advisory lock in the index's database.

The workers of ``gpuhub serve --workers N`` all send from the operator's account. Each takes
this lock around a send (:meth:`gpuhub.GPUHubClient.share_nonces`): a thread lock first, so one
thread of a process waits on the database at a time, then a transaction-level advisory lock,
held until the transaction handing the send over ends. PostgreSQL gives the lock back when a
holder's connection drops, so a worker that dies holding it does not stop the others.
"""

from __future__ import annotations

import hashlib
import threading

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from ..exceptions import MarketIndexError

#: seconds a send waits for another process's send from the same account.
SENDER_LOCK_TIMEOUT = 60.0


def sender_lock_key(address: str) -> int:
    """The advisory lock's key for ``address``: a signed 64-bit number (what PostgreSQL takes),
    apart from the index's own write lock."""
    digest = hashlib.sha256(b"gpuhub sender " + address.lower().encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SenderLock:
    """``acquire()`` and ``release()`` around one account's sends, across every process that
    shares the PostgreSQL database of ``engine``."""

    def __init__(
        self, engine: Engine, address: str, *, timeout: float = SENDER_LOCK_TIMEOUT
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise MarketIndexError(
                "sending from one account in several processes needs the index on PostgreSQL "
                f"(this one is on {engine.dialect.name}): use a postgresql+psycopg:// URL"
            )
        self.address = address
        self.key = sender_lock_key(address)
        self.timeout = timeout
        self._engine = engine
        self._local = threading.Lock()
        self._held: Connection | None = None

    def __repr__(self) -> str:
        return f"SenderLock({self.address}, held={self._held is not None})"

    def acquire(self) -> bool:
        """Wait for the account's lock (at most ``timeout`` seconds for another process).

        Raises:
            MarketIndexError: another process held it past the timeout, or the database failed.
        """
        self._local.acquire()
        try:
            db = self._engine.connect()
            try:
                timeout = f"{int(self.timeout * 1000)}ms"
                db.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": timeout})
                db.execute(select(func.pg_advisory_xact_lock(self.key)))
            except BaseException:
                db.close()
                raise
        except DBAPIError as err:
            self._local.release()
            raise MarketIndexError(
                f"the send lock of {self.address} in the index's database: "
                f"{type(err.orig).__name__} (another process has sent from it for over "
                f"{self.timeout:.0f} s, or the database is unreachable); try again"
            ) from None
        except BaseException:
            self._local.release()
            raise
        self._held = db
        return True

    def release(self) -> None:
        """Give the lock back (ending its transaction)."""
        db, self._held = self._held, None
        try:
            if db is not None:
                try:
                    db.rollback()
                finally:
                    db.close()
        except DBAPIError:
            pass  # the connection is gone, and PostgreSQL let the lock go with it
        finally:
            self._local.release()
