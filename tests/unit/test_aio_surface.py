"""The async client's public surface is the sync client's, signature by signature."""

from __future__ import annotations

import inspect
from typing import Any

from gpuhub.aio import AsyncGPUHubClient, AsyncListingBatch
from gpuhub.client import GPUHubClient, SyncListingBatch
from gpuhub.governance import AsyncGovernance, Governance

#: sync properties that talk to the node; their async twins are coroutine methods.
IO_PROPERTIES = {"accounts"}
#: methods that do no I/O (they build objects), the same plain functions in both clients.
NO_IO = frozenset({"with_account", "batch"})
#: sync methods with no async twin yet, each named here so the gap stays visible.
#: share_nonces: the lock it takes (MarketIndex.sender_lock) blocks; an async twin needs a lock
#: whose acquire is awaited.
SYNC_ONLY: frozenset[str] = frozenset({"share_nonces"})


def public(cls: type) -> dict[str, Any]:
    return {
        name: inspect.getattr_static(cls, name) for name in dir(cls) if not name.startswith("_")
    }


def shape(fn: Any) -> list[tuple[str, Any, Any]]:
    """Parameter names, kinds and defaults (annotations differ: Pending vs AsyncPending)."""
    if isinstance(fn, classmethod | staticmethod):
        fn = fn.__func__
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def is_awaitable_method(fn: Any) -> bool:
    if isinstance(fn, classmethod | staticmethod):
        fn = fn.__func__
    return inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)


def surface_differences(
    sync: type,
    aio: type,
    no_io: frozenset[str] = NO_IO,
    io_properties: frozenset[str] = frozenset(IO_PROPERTIES),
) -> list[str]:
    """What keeps ``aio`` from being the awaited twin of ``sync``, one line per problem."""
    problems = []
    sync_names, aio_names = public(sync), public(aio)
    for name, member in sorted(sync_names.items()):
        twin = aio_names.get(name)
        if twin is None and name in SYNC_ONLY:
            continue
        if twin is None:
            problems.append(f"{aio.__name__} has no twin of {name}")
        elif isinstance(member, property):
            if name in io_properties:
                if not is_awaitable_method(twin):
                    problems.append(f"{name}: expected a coroutine method")
            elif not isinstance(twin, property):
                problems.append(f"{name}: expected a property")
        elif shape(member) != shape(twin):
            problems.append(f"{name}: parameters differ: {shape(member)} != {shape(twin)}")
        elif name not in no_io and not is_awaitable_method(twin):
            problems.append(f"{name}: the twin is not awaitable")
    problems.extend(
        f"{aio.__name__}.{name} has no sync original"
        for name in sorted(aio_names.keys() - sync_names)
    )
    return problems


def test_async_client_twins_every_sync_method() -> None:
    """Every public GPUHubClient method has an awaitable twin with the same parameters."""
    assert surface_differences(GPUHubClient, AsyncGPUHubClient) == []


def test_async_batch_twins_the_sync_batch() -> None:
    """The async batch has the sync batch's methods, with send awaited."""
    builders = frozenset(
        {"create_listing", "update_listing", "fulfill_request", "mark_available", "remove_listing"}
    )
    assert surface_differences(SyncListingBatch, AsyncListingBatch, builders) == []


def test_async_governance_twins_the_sync_governance() -> None:
    """Every Governance method has an awaitable twin; its addresses are awaited, since the
    async governor is looked up on first use."""
    addresses = frozenset({"address", "timelock", "votes_address"})
    assert surface_differences(Governance, AsyncGovernance, io_properties=addresses) == []


def test_a_missing_twin_is_named() -> None:
    """A method added to the sync client without a twin is reported by name."""

    class Grown(GPUHubClient):
        def forecast(self, *, from_block: int = 0) -> None:
            """A new operation without an async twin."""

    assert surface_differences(Grown, AsyncGPUHubClient) == [
        "AsyncGPUHubClient has no twin of forecast"
    ]
