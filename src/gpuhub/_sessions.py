"""A lock of its own for each web3 HTTP provider's session cache.

web3's ``HTTPSessionManager`` guards its cache of HTTP sessions with one ``threading.Lock``
held on the class, so shared by every HTTP provider in the process, sync and async. The async
providers take it through ``async_lock``, which acquires it in a thread pool; a request cancelled
while it waits there (a timeout, a task cancelled, ``asyncio.run`` ending) releases a lock it
never held and leaves the pool's thread to acquire it for nobody: every HTTP provider of the
process then blocks for good on its next new session (web3.py issue 3867). A server that cancels
one slow request must not stop every other client, so each provider the clients use gets its own
lock: a plain one for sync providers (whose ``with`` block is sound), and for async ones a lock
with nothing to wait for. Their cache is keyed by the event loop that uses it, so only that
loop's thread touches an entry; at worst two requests of one loop replacing a closed session at
the same moment each open one, and the one not kept is closed when it is collected.
"""

from __future__ import annotations

import threading
from typing import Any


class _LoopOwnedLock:
    """The lock ``async_lock`` asks for, with nothing to wait for: acquiring never blocks, so no
    cancelled wait can leave it held."""

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        pass

    def locked(self) -> bool:
        return False

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *exc: object) -> None:
        pass


def own_session_lock(provider: Any) -> None:
    """Give ``provider``'s session cache a lock of its own (see the module); others are left."""
    manager = getattr(provider, "_request_session_manager", None)
    if manager is None or "_lock" in vars(manager):
        return
    manager._lock = _LoopOwnedLock() if getattr(provider, "is_async", False) else threading.Lock()
