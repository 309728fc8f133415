"""Write throughput and requests per write: gpuhub next to plain web3 and bare JSON-RPC, as JSON.

    python bench/tx.py [--writes 100] [--interval-writes 6]

Every write creates one listing, signed with a local key. Side by side in one run, on a fresh
anvil with automine and on one with ``--block-time 1``:

- ``gpuhub_sync``: GPUHubClient; ``gpuhub_async``: AsyncGPUHubClient (coroutines, not threads);
  ``gpuhub_async_ws``: AsyncGPUHubClient over ws://, awaiting receipts on new heads (its
  ``receipt_requests_per_write`` counts eth_getTransactionReceipt alone);
- ``web3_default``: plain web3 (build_transaction, sign, send_raw_transaction,
  wait_for_transaction_receipt with its default 0.1 s poll); ``web3_tuned``: the same, 5 ms poll;
- ``bare_jsonrpc``: one requests.Session, calldata and fees computed once, nonces counted here;
  per write eth_estimateGas, eth_sendRawTransaction and eth_getTransactionReceipt every 5 ms.

Modes: ``sequential`` (one account, one write at a time), ``threads8`` (8 threads or coroutines,
each its own account), ``pipelined`` (send all with wait=False, then wait for all). For each:
writes, seconds, tx/s, JSON-RPC requests per write (each batch entry counted) and Python CPU
milliseconds per write (process time, all threads). ``ratios`` divides gpuhub's figures by the
baselines the targets name. ``batch_gas`` compares 50 single creates with one batch of 50, and
``embedded`` times writes and event reads on the embedded chain.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3, HTTPProvider, Web3, WebSocketProvider

from gpuhub import GPUHubClient, PriceUnit
from gpuhub._abi import marketplace
from gpuhub.aio import AsyncGPUHubClient
from gpuhub.chain import AnvilNode

THREADS = 8
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
    """HTTPProvider that counts what it sends."""

    def __init__(self, url: str, counter: Counter) -> None:
        super().__init__(url, request_kwargs={"timeout": 60})
        self.counter = counter

    def make_request(self, method: Any, params: Any) -> Any:
        self.counter.add()
        return super().make_request(method, params)

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


class CountingWebSocketProvider(WebSocketProvider):
    """WebSocketProvider that counts what it sends, and receipt requests apart."""

    def __init__(self, url: str, counter: Counter, receipts: Counter) -> None:
        super().__init__(url)
        self.counter = counter
        self.receipts = receipts

    async def make_request(self, method: Any, params: Any) -> Any:
        self.counter.add()
        if method == "eth_getTransactionReceipt":
            self.receipts.add()
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


def figures(writes: int, seconds: float, requests_made: int, cpu: float) -> dict[str, float]:
    return {
        "writes": writes,
        "seconds": round(seconds, 3),
        "tx_per_s": round(writes / seconds, 2),
        "requests_per_write": round(requests_made / writes, 2),
        "cpu_ms_per_write": round(cpu / writes * 1000, 3),
    }


def timed(run: Callable[[], int], counter: Counter) -> dict[str, float]:
    counter.count = 0
    wall, cpu = time.perf_counter(), time.process_time()
    writes = run()
    return figures(writes, time.perf_counter() - wall, counter.count, time.process_time() - cpu)


# ---------------------------------------------------------------------- the contenders


def gpuhub_sync(node: AnvilNode, address: str, writes: int, mode: str) -> dict[str, float]:
    counter = Counter()
    keys = funded_keys(node, THREADS if mode == "threads8" else 1)
    clients = [
        GPUHubClient(Web3(CountingHTTPProvider(node.url, counter)), address, account=k)
        for k in keys
    ]
    for client in clients:  # warm: chain id, nonce and fee quote read once, as any long run has
        client.create_listing(**TERMS)

    def sequential() -> int:
        for _ in range(writes):
            clients[0].create_listing(**TERMS)
        return writes

    def threads8() -> int:
        each = writes // THREADS

        def work(client: GPUHubClient) -> None:
            for _ in range(each):
                client.create_listing(**TERMS)

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(work, clients))
        return each * THREADS

    def pipelined() -> int:
        pending = [clients[0].create_listing(**TERMS, wait=False) for _ in range(writes)]
        for tx in pending:
            tx.result()
        return writes

    return timed(
        {"sequential": sequential, "threads8": threads8, "pipelined": pipelined}[mode], counter
    )


def gpuhub_async(
    node: AnvilNode, address: str, writes: int, mode: str, ws: bool = False
) -> dict[str, float]:
    counter, receipts = Counter(), Counter()
    keys = funded_keys(node, THREADS if mode == "threads8" else 1)

    async def main() -> dict[str, float]:
        if ws:
            url = node.url.replace("http://", "ws://")
            w3: AsyncWeb3[Any] = await AsyncWeb3(CountingWebSocketProvider(url, counter, receipts))
        else:
            w3 = AsyncWeb3(CountingAsyncHTTPProvider(node.url, counter))
        base = AsyncGPUHubClient(w3, address)
        clients = [base.with_account(k) for k in keys]
        for client in clients:
            await client.create_listing(**TERMS)
        counter.count = receipts.count = 0
        wall, cpu = time.perf_counter(), time.process_time()
        if mode == "sequential":
            for _ in range(writes):
                await clients[0].create_listing(**TERMS)
            done = writes
        elif mode == "threads8":
            each = writes // THREADS

            async def work(client: AsyncGPUHubClient) -> None:
                for _ in range(each):
                    await client.create_listing(**TERMS)

            await asyncio.gather(*(work(c) for c in clients))
            done = each * THREADS
        else:
            pending = [await clients[0].create_listing(**TERMS, wait=False) for _ in range(writes)]
            await asyncio.gather(*(p.result() for p in pending))  # type: ignore[union-attr]
            done = writes
        result = figures(done, time.perf_counter() - wall, counter.count, time.process_time() - cpu)
        if ws:
            result["receipt_requests_per_write"] = round(receipts.count / done, 2)
        await w3.provider.disconnect()
        return result

    return asyncio.run(main())


def plain_web3(
    node: AnvilNode, address: str, writes: int, mode: str, poll: float | None
) -> dict[str, float]:
    counter = Counter()
    keys = funded_keys(node, THREADS if mode == "threads8" else 1)
    w3 = Web3(CountingHTTPProvider(node.url, counter))
    contract = w3.eth.contract(address=address, abi=marketplace_abi())
    wait_kwargs = {} if poll is None else {"poll_latency": poll}

    def send(key: Any, nonce: int | None = None) -> Any:
        fields: dict[str, Any] = {"from": key.address}
        fields["nonce"] = (
            w3.eth.get_transaction_count(key.address, "pending") if nonce is None else nonce
        )
        tx = contract.functions.createListing(*ARGS).build_transaction(fields)
        return w3.eth.send_raw_transaction(key.sign_transaction(tx).raw_transaction)

    def write(key: Any) -> None:
        w3.eth.wait_for_transaction_receipt(send(key), **wait_kwargs)

    for key in keys:
        write(key)

    def sequential() -> int:
        for _ in range(writes):
            write(keys[0])
        return writes

    def threads8() -> int:
        each = writes // THREADS

        def work(key: Any) -> None:
            for _ in range(each):
                write(key)

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(work, keys))
        return each * THREADS

    def pipelined() -> int:
        first = w3.eth.get_transaction_count(keys[0].address)
        hashes = [send(keys[0], first + i) for i in range(writes)]
        for tx_hash in hashes:
            w3.eth.wait_for_transaction_receipt(tx_hash, **wait_kwargs)
        return writes

    return timed(
        {"sequential": sequential, "threads8": threads8, "pipelined": pipelined}[mode], counter
    )


def bare_jsonrpc(node: AnvilNode, address: str, writes: int, mode: str) -> dict[str, float]:
    counter = Counter()
    keys = funded_keys(node, THREADS if mode == "threads8" else 1)
    local = threading.local()
    ids = itertools.count()

    def rpc(method: str, params: list[Any]) -> Any:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        counter.add()
        body = {"jsonrpc": "2.0", "id": next(ids), "method": method, "params": params}
        answer = session.post(node.url, json=body, timeout=60).json()
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    data = marketplace().functions["createListing"].calldata(ARGS)
    chain_id = int(rpc("eth_chainId", []), 16)
    price = int(rpc("eth_gasPrice", []), 16)
    nonces = {
        k.address: int(rpc("eth_getTransactionCount", [k.address, "pending"]), 16) for k in keys
    }

    def send(key: Any) -> str:
        call = {"from": key.address, "to": address, "data": data}
        gas = int(rpc("eth_estimateGas", [call]), 16) * 6 // 5 + 50_000
        tx = {
            "to": address,
            "data": data,
            "value": 0,
            "gas": gas,
            "maxFeePerGas": 2 * price,
            "maxPriorityFeePerGas": 10**9,
            "nonce": nonces[key.address],
            "chainId": chain_id,
        }
        nonces[key.address] += 1
        raw = "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()
        return str(rpc("eth_sendRawTransaction", [raw]))

    def receipt(tx_hash: str) -> None:
        while rpc("eth_getTransactionReceipt", [tx_hash]) is None:
            time.sleep(0.005)

    def sequential() -> int:
        for _ in range(writes):
            receipt(send(keys[0]))
        return writes

    def threads8() -> int:
        each = writes // THREADS

        def work(key: Any) -> None:
            for _ in range(each):
                receipt(send(key))

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(work, keys))
        return each * THREADS

    def pipelined() -> int:
        for tx_hash in [send(keys[0]) for _ in range(writes)]:
            receipt(tx_hash)
        return writes

    return timed(
        {"sequential": sequential, "threads8": threads8, "pipelined": pipelined}[mode], counter
    )


def marketplace_abi() -> list[dict[str, Any]]:
    from gpuhub._artifact import abi

    return abi()


# ---------------------------------------------------------------------- runs


def chain_run(extra_args: tuple[str, ...], writes: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with AnvilNode(accounts=2, extra_args=extra_args) as node:
        address = GPUHubClient.deploy(node.web3()).contract_address
        contenders: dict[str, Callable[[str], dict[str, float]]] = {
            "gpuhub_sync": lambda mode: gpuhub_sync(node, address, writes, mode),
            "gpuhub_async": lambda mode: gpuhub_async(node, address, writes, mode),
            "gpuhub_async_ws": lambda mode: gpuhub_async(node, address, writes, mode, ws=True),
            "web3_default": lambda mode: plain_web3(node, address, writes, mode, None),
            "web3_tuned": lambda mode: plain_web3(node, address, writes, mode, 0.005),
            "bare_jsonrpc": lambda mode: bare_jsonrpc(node, address, writes, mode),
        }
        for mode in ("sequential", "threads8", "pipelined"):
            results[mode] = {name: run(mode) for name, run in contenders.items()}
    return results


def ratios(run: dict[str, Any]) -> dict[str, float]:
    def r(mode: str, who: str, against: str, key: str = "tx_per_s") -> float:
        return round(run[mode][who][key] / run[mode][against][key], 2)

    return {
        "sequential_vs_web3_tuned": r("sequential", "gpuhub_sync", "web3_tuned"),
        "threads8_vs_web3_tuned": r("threads8", "gpuhub_sync", "web3_tuned"),
        "pipelined_vs_bare": r("pipelined", "gpuhub_sync", "bare_jsonrpc"),
        "cpu_per_write_vs_bare": r("sequential", "gpuhub_sync", "bare_jsonrpc", "cpu_ms_per_write"),
        "async_sequential_vs_web3_tuned": r("sequential", "gpuhub_async", "web3_tuned"),
        "async_threads8_vs_web3_tuned": r("threads8", "gpuhub_async", "web3_tuned"),
    }


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
    parser.add_argument("--writes", type=int, default=96, help="writes per case on automine")
    parser.add_argument(
        "--interval-writes", type=int, default=8, help="writes per case with --block-time 1"
    )
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    automine = chain_run((), args.writes)
    interval = chain_run(("--block-time", "1"), args.interval_writes)
    report: dict[str, Any] = {
        "automine": automine,
        "automine_ratios": ratios(automine),
        "block_time_1s": interval,
        "block_time_1s_ratios": ratios(interval),
        "batch_gas": batch_gas(),
    }
    if not args.skip_embedded:
        report["embedded"] = embedded(100, (250, 500))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
