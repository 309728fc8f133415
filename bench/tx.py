"""Write throughput and requests per write: gpuhub next to plain web3, default and tuned, as JSON.

    python bench/tx.py [--writes 48] [--rounds 3] [--block-time-writes 0] [--skip-embedded]

Every write creates one listing, signed with a local key. Fair by construction:

- every contender writes on a **fresh anvil** (a long-lived anvil slows down as blocks pile up:
  the same client went from 161 to 28 tx/s between block 15 and block 3,165), with its keys
  funded and one warm-up write each (chain id, nonce and fee quote read, as in any long run);
- contenders run **interleaved in small slices** (``--writes`` each) for ``--rounds`` rounds,
  the order rotated every round, the load average printed beside every slice; the ratios are
  taken within each round and their median reported.

Contenders:

- ``gpuhub_sync``: GPUHubClient; ``gpuhub_async``: AsyncGPUHubClient over HTTP (coroutines);
- ``web3_default``: web3 as the tutorials write it: ``build_transaction`` (chain id, nonce, gas
  estimate and fees asked of the node on every write), sign, ``send_raw_transaction``,
  ``wait_for_transaction_receipt`` with its default 0.1 s poll;
- ``web3_tuned``: web3 as a careful engineer configures it: chain id and fees read once (and
  ``cache_allowed_requests``, so web3's own chain id checks are answered from its cache), nonces
  counted locally, ``eth_estimateGas`` per write (as gpuhub does), receipts polled every 5 ms;
- ``web3_sync_send``: ``web3_tuned`` sending with ``eth_sendRawTransactionSync`` (EIP-7966),
  which anvil answers with the receipt: the same send gpuhub uses where the node has it.

Modes: ``sequential`` (one account, one write at a time) and ``threads8`` (8 threads or
coroutines, each its own account). For each: tx/s, JSON-RPC requests per write and Python CPU
milliseconds per write (process time, all threads). With ``--block-time-writes N`` the same
runs again on anvil ``--block-time 1`` with N writes per slice. ``batch_gas`` compares 50
single creates with one batch of 50, and ``embedded`` times writes and event reads on the
embedded chain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3, HTTPProvider, Web3

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import load_average, report

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode

THREADS = 8
MODES = ("sequential", "threads8")
TERMS: dict[str, Any] = dict(
    gpu_model="NVIDIA RTX 4090", capacity=24, price=10**15, unit=PriceUnit.HOUR, max_duration=72
)
ARGS = ["NVIDIA RTX 4090", 24, 10**15, 1, 1, 72]


class Counter:
    """JSON-RPC requests counted across threads."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.count += n


class CountingHTTPProvider(HTTPProvider):
    """HTTPProvider that counts what it sends over the wire (not what its cache answers)."""

    def __init__(self, url: str, counter: Counter, *, cache: bool = False) -> None:
        super().__init__(url, request_kwargs={"timeout": 60}, cache_allowed_requests=cache)
        self.counter = counter

    def _make_request(self, method: Any, request_data: bytes) -> bytes:
        self.counter.add()
        return super()._make_request(method, request_data)

    def make_batch_request(self, batch: Any) -> Any:
        self.counter.add(len(batch))
        return super().make_batch_request(batch)


class CountingAsyncHTTPProvider(AsyncHTTPProvider):
    """AsyncHTTPProvider that counts what it sends."""

    def __init__(self, url: str, counter: Counter) -> None:
        super().__init__(url)
        self.counter = counter

    async def make_request(self, method: Any, params: Any) -> Any:
        self.counter.add()
        return await super().make_request(method, params)

    async def make_batch_request(self, batch: Any) -> Any:
        self.counter.add(len(batch))
        return await super().make_batch_request(batch)


def funded_keys(node: AnvilNode, n: int) -> list[Any]:
    """``n`` fresh local keys with 100 ETH each."""
    w3 = Web3(HTTPProvider(node.url))
    keys = [Account.create() for _ in range(n)]
    hashes = [
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": k.address, "value": 10**20})
        for k in keys
    ]
    for tx_hash in hashes:
        w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
    return keys


def figures(writes: int, seconds: float, requests_made: int, cpu: float) -> dict[str, Any]:
    return {
        "writes": writes,
        "seconds": round(seconds, 3),
        "tx_per_s": round(writes / seconds, 2),
        "requests_per_write": round(requests_made / writes, 2),
        "cpu_ms_per_write": round(cpu / writes * 1000, 3),
        "load_average": load_average(),
    }


def threaded(work: Callable[[Any], None], items: list[Any]) -> None:
    with ThreadPoolExecutor(len(items)) as pool:
        list(pool.map(work, items))


def timed(
    counter: Counter, writes: int, mode: str, write: Callable[[Any], None], keys: list[Any]
) -> dict[str, Any]:
    """``writes`` writes (split over the 8 keys in threads8), timed."""
    counter.count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    if mode == "sequential":
        for _ in range(writes):
            write(keys[0])
        done = writes
    else:
        each = writes // THREADS

        def work(key: Any) -> None:
            for _ in range(each):
                write(key)

        threaded(work, keys)
        done = each * THREADS
    return figures(done, time.perf_counter() - wall, counter.count, time.process_time() - cpu)


# ---------------------------------------------------------------------- the contenders


def gpuhub_sync(node: AnvilNode, address: str, writes: int, mode: str) -> dict[str, Any]:
    counter = Counter()
    keys = funded_keys(node, THREADS if mode == "threads8" else 1)
    clients = {
        k.address: GPUHubClient(Web3(CountingHTTPProvider(node.url, counter)), address, account=k)
        for k in keys
    }
    for client in clients.values():
        client.create_listing(**TERMS)
    return timed(
        counter, writes, mode, lambda key: clients[key.address].create_listing(**TERMS), keys
    )


def gpuhub_async(node: AnvilNode, address: str, writes: int, mode: str) -> dict[str, Any]:
    counter = Counter()
    keys = funded_keys(node, THREADS if mode == "threads8" else 1)

    async def main() -> dict[str, Any]:
        w3 = AsyncWeb3(CountingAsyncHTTPProvider(node.url, counter))
        base = AsyncGPUHubClient(w3, address)
        clients = [base.with_account(k) for k in keys]
        for client in clients:
            await client.create_listing(**TERMS)
        counter.count = 0
        wall, cpu = time.perf_counter(), time.process_time()
        if mode == "sequential":
            for _ in range(writes):
                await clients[0].create_listing(**TERMS)
            done = writes
        else:
            each = writes // THREADS

            async def work(client: AsyncGPUHubClient) -> None:
                for _ in range(each):
                    await client.create_listing(**TERMS)

            await asyncio.gather(*(work(c) for c in clients))
            done = each * THREADS
        elapsed, used = time.perf_counter() - wall, time.process_time() - cpu
        return figures(done, elapsed, counter.count, used)

    return asyncio.run(main())


def web3_default(node: AnvilNode, address: str, writes: int, mode: str) -> dict[str, Any]:
    counter = Counter()
    keys = funded_keys(node, THREADS if mode == "threads8" else 1)
    w3 = Web3(CountingHTTPProvider(node.url, counter))
    contract = w3.eth.contract(address=address, abi=marketplace_abi())

    def write(key: Any) -> None:
        fields = {
            "from": key.address,
            "nonce": w3.eth.get_transaction_count(key.address, "pending"),
        }
        tx = contract.functions.createListing(*ARGS).build_transaction(fields)  # type: ignore[arg-type]
        tx_hash = w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction)
        w3.eth.wait_for_transaction_receipt(tx_hash)

    for key in keys:
        write(key)
    return timed(counter, writes, mode, write, keys)


def web3_tuned(
    node: AnvilNode, address: str, writes: int, mode: str, sync_send: bool = False
) -> dict[str, Any]:
    counter = Counter()
    keys = funded_keys(node, THREADS if mode == "threads8" else 1)
    # cache_allowed_requests: web3 answers its own eth_chainId checks from a cache
    w3 = Web3(CountingHTTPProvider(node.url, counter, cache=True))
    contract = w3.eth.contract(address=address, abi=marketplace_abi())
    data = contract.encode_abi("createListing", args=ARGS)
    chain_id = w3.eth.chain_id
    tip = w3.eth.max_priority_fee
    fees = {"maxFeePerGas": 2 * w3.eth.gas_price + tip, "maxPriorityFeePerGas": tip}
    nonces = {k.address: w3.eth.get_transaction_count(k.address, "pending") for k in keys}

    def write(key: Any) -> None:
        call = {"from": key.address, "to": address, "data": data}
        gas = w3.eth.estimate_gas(call)  # type: ignore[arg-type]
        tx = {**call, "value": 0, "gas": gas, "chainId": chain_id, "nonce": nonces[key.address]}
        nonces[key.address] += 1
        raw = key.sign_transaction({**tx, **fees}).raw_transaction
        if sync_send:
            answer = w3.provider.make_request("eth_sendRawTransactionSync", ["0x" + raw.hex()])  # type: ignore[arg-type]
            assert "result" in answer, answer
        else:
            w3.eth.wait_for_transaction_receipt(
                w3.eth.send_raw_transaction(raw), poll_latency=0.005
            )

    for key in keys:
        write(key)
    return timed(counter, writes, mode, write, keys)


def marketplace_abi() -> list[dict[str, Any]]:
    from gpuhub._artifact import abi

    return abi()


CONTENDERS: dict[str, Callable[[AnvilNode, str, int, str], dict[str, Any]]] = {
    "gpuhub_sync": gpuhub_sync,
    "gpuhub_async": gpuhub_async,
    "web3_default": web3_default,
    "web3_tuned": web3_tuned,
    "web3_sync_send": lambda node, address, writes, mode: web3_tuned(
        node, address, writes, mode, sync_send=True
    ),
}
BASELINES = ("web3_default", "web3_tuned", "web3_sync_send")


# ---------------------------------------------------------------------- runs


def slice_on_fresh_node(
    name: str, mode: str, writes: int, extra_args: tuple[str, ...]
) -> dict[str, Any]:
    with AnvilNode(accounts=2, extra_args=extra_args) as node:
        address = GPUHubClient.deploy(node.web3()).contract_address
        return CONTENDERS[name](node, address, writes, mode)


def interleaved(writes: int, rounds: int, extra_args: tuple[str, ...]) -> dict[str, Any]:
    """Every contender in every mode, a fresh node per slice, ``rounds`` rotated rounds."""
    names = list(CONTENDERS)
    slices: dict[str, dict[str, list[dict[str, Any]]]] = {
        mode: {name: [] for name in names} for mode in MODES
    }
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for mode in MODES:
            for name in order:
                slices[mode][name].append(slice_on_fresh_node(name, mode, writes, extra_args))
    result: dict[str, Any] = {}
    for mode in MODES:
        result[mode] = {
            name: {
                "median_tx_per_s": statistics.median(s["tx_per_s"] for s in found),
                "median_requests_per_write": statistics.median(
                    s["requests_per_write"] for s in found
                ),
                "median_cpu_ms_per_write": statistics.median(s["cpu_ms_per_write"] for s in found),
                "slices": found,
            }
            for name, found in slices[mode].items()
        }
    result["ratios"] = {
        f"{mode}_{who}_vs_{against}": round(
            statistics.median(
                mine["tx_per_s"] / theirs["tx_per_s"]
                for mine, theirs in zip(slices[mode][who], slices[mode][against], strict=True)
            ),
            2,
        )
        for mode in MODES
        for who in ("gpuhub_sync", "gpuhub_async")
        for against in BASELINES
    }
    return result


def batch_gas(n: int = 50) -> dict[str, Any]:
    with AnvilNode(accounts=2) as node:
        client = GPUHubClient.deploy(node.web3())
        client.create_listing(**TERMS)  # the first listing initialises the counters
        w3 = client.w3
        singles = []
        for _ in range(n):
            client.create_listing(**TERMS)
            block = w3.eth.get_block("latest")
            singles.append(w3.eth.get_transaction_receipt(block["transactions"][-1])["gasUsed"])
        batch = client.batch()
        for _ in range(n):
            batch.create_listing(**TERMS)
        batch.send()
        block = w3.eth.get_block("latest")
        total = w3.eth.get_transaction_receipt(block["transactions"][-1])["gasUsed"]
    single = sum(singles) // n
    return {
        "listings": n,
        "single_create_gas": single,
        "batch_total_gas": total,
        "batch_gas_per_listing": total // n,
        "saved_per_listing": single - total // n,
        "signatures": {"singles": n, "batch": 1},
    }


def embedded(writes: int, blocks: tuple[int, ...]) -> dict[str, Any]:
    client = GPUHubClient.local()
    wall = time.perf_counter()
    for _ in range(writes):
        client.create_listing(**TERMS)
    per_s = writes / (time.perf_counter() - wall)
    tester = client.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    reads: dict[str, Any] = {}
    for size in blocks:
        while client.block_number() < size:
            client.create_listing(**TERMS)
        fresh = GPUHubClient(client.w3, client.contract_address)
        wall = time.perf_counter()
        events = fresh.get_events(0)
        first = time.perf_counter() - wall
        wall = time.perf_counter()
        fresh.get_events(0)
        again = time.perf_counter() - wall
        wall = time.perf_counter()
        raw = list(tester.get_logs(from_block=0, address=client.contract_address))
        tester_s = time.perf_counter() - wall
        reads[str(size)] = {
            "events": len(events),
            "get_events_first_s": round(first, 3),
            "get_events_again_s": round(again, 3),
            "eth_tester_get_logs_s": round(tester_s, 3),
            "eth_tester_logs": len(raw),
        }
    return {"writes": writes, "create_tx_per_s": round(per_s, 1), "event_reads": reads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=48, help="writes per slice (automine)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--block-time-writes",
        type=int,
        default=0,
        help="also run on anvil --block-time 1, this many writes per slice",
    )
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    found: dict[str, Any] = {
        "automine": interleaved(args.writes, args.rounds, ()),
        "batch_gas": batch_gas(),
    }
    if args.block_time_writes:
        found["block_time_1s"] = interleaved(
            args.block_time_writes, args.rounds, ("--block-time", "1")
        )
    if not args.skip_embedded:
        found["embedded"] = embedded(100, (250, 500))
    print(json.dumps(report("tx", found), indent=2))


if __name__ == "__main__":
    main()
