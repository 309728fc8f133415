"""list_gpus over 100, 1,000 and 10,000 listings on anvil and on the embedded chain, as JSON.

    python bench/list_gpus.py [--sizes 100 1000 10000] [--repeat 3] [--skip-embedded]

On anvil, next to one eth_call per listing (as the original GPUHub server did). Target: 10,000
listings listed and filtered in <= 1 s, >= 50x faster than one eth_call each.

On the embedded chain (filled by batches of 100 creates), list_gpus reads the contract's storage:
``list_gpus_first_s`` is the first read after the fill (every trie node decoded),
``list_gpus_s`` the median of ``--repeat`` reads after that (then one more write, and
``list_gpus_after_write_s``), beside ``evm_view_s``: the same pages run as ``getListings``
calls by py-evm, the way every read went before.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from gpuhub import GPUHubClient, Listing, PriceUnit
from gpuhub.chain import AnvilNode


def fill(client: GPUHubClient, upto: int, batch: int = 500) -> None:
    """Create listings until there are ``upto``, ``batch`` transactions per mined block."""
    provider = client.w3.provider
    provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        start = client.listing_count()
        for first in range(start, upto, batch):
            pending = [
                client.create_listing(
                    gpu_model=f"NVIDIA RTX {4000 + i % 100}",
                    capacity=8 + i % 73,
                    price=10**12 + i * 10**9,
                    unit=PriceUnit(i % 3),
                    max_duration=100,
                    wait=False,
                    gas=150_000,
                )
                for i in range(first, min(first + batch, upto))
            ]
            provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            for tx in pending:
                tx.result(timeout=120)
    finally:
        provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def fill_embedded(client: GPUHubClient, upto: int, batch: int = 100) -> None:
    """Create listings until there are ``upto``, ``batch`` per transaction (one multicall)."""
    for first in range(client.listing_count(), upto, batch):
        creates = client.batch()
        for i in range(first, min(first + batch, upto)):
            creates.create_listing(
                gpu_model=f"NVIDIA RTX {4000 + i % 100}",
                capacity=8 + i % 73,
                price=10**12 + i * 10**9,
                unit=PriceUnit(i % 3),
                max_duration=100,
            )
        creates.send()


def evm_view(client: GPUHubClient) -> list[Listing]:
    """list_gpus's pages run by the EVM (getListings calls), as before storage reads."""
    from eth_utils.address import to_checksum_address

    from gpuhub import _core

    pages = client._run(client._ops.pages("listingCount", "getListings", 500))
    found = [x for page in pages for x in _core.decode_listing_page(page, to_checksum_address)]
    return _core.filter_listings(
        found, max_price=10**13, min_capacity=24, available_only=True, price_unit=None
    )


def embedded(sizes: list[int], repeat: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    client = GPUHubClient.local()
    for size in sorted(sizes):
        start = time.perf_counter()
        fill_embedded(client, size)
        fill_s = time.perf_counter() - start
        query = lambda: client.list_gpus(max_price=10**13, min_capacity=24)  # noqa: E731
        first_s, first = timed(query, 1)
        warm_s, warm = timed(query, repeat)
        view_s, view = timed(lambda: evm_view(client), 1)
        assert first == warm == view, "storage reads and the EVM view must agree"
        client.create_listing(gpu_model="A100", capacity=80, price=10**12)
        after_s, _ = timed(query, 1)
        rows.append(
            {
                "listings": size,
                "matches": len(warm),  # type: ignore[arg-type]
                "list_gpus_first_s": round(first_s, 4),
                "list_gpus_s": round(warm_s, 4),
                "list_gpus_after_write_s": round(after_s, 4),
                "evm_view_s": round(view_s, 4),
                "speedup_vs_evm_view": round(view_s / warm_s, 1),
                "fill_s": round(fill_s, 2),
            }
        )
    return rows


def one_call_each(client: GPUHubClient, count: int) -> list[Listing]:
    """The original server's way: getListing(i) for every id, then filter."""
    found = [client.get_listing(i) for i in range(count)]
    return [x for x in found if x.is_available and x.capacity >= 24 and x.price <= 10**13]


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    rows = []
    with AnvilNode(extra_args=("--gas-limit", "1000000000", "--prune-history", "100")) as node:
        client = GPUHubClient.deploy(node.web3())
        for size in sorted(args.sizes):
            start = time.perf_counter()
            fill(client, size)
            fill_s = time.perf_counter() - start
            paged_s, paged = timed(
                lambda: client.list_gpus(max_price=10**13, min_capacity=24), args.repeat
            )
            each_s, each = timed(lambda: one_call_each(client, size), 1)  # noqa: B023
            assert paged == each, "both ways must find the same listings"
            rows.append(
                {
                    "listings": size,
                    "matches": len(paged),  # type: ignore[arg-type]
                    "list_gpus_s": round(paged_s, 4),
                    "one_call_each_s": round(each_s, 4),
                    "speedup": round(each_s / paged_s, 1),
                    "fill_s": round(fill_s, 2),
                }
            )
    report: dict[str, object] = {
        "chain": "anvil",
        "page_size": 500,
        "results": rows,
        "target": {"listings": 10000, "max_s": 1.0, "min_speedup": 50},
    }
    if not args.skip_embedded:
        report["embedded"] = embedded(args.sizes, args.repeat)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
