"""HTTP API throughput and latency against `gpuhub serve` (uvicorn) on 127.0.0.1, over anvil.

    python bench/api.py [--listings 1000] [--requests 300] [--concurrency 8]

Prints JSON: requests per second and p50/p99 latency for GET /getgpulist over all listings and
POST /getgpudetailsbyid, sequential (latency) and concurrent (throughput). Target: p50 <= 50 ms
for the list over 1,000 listings.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
from list_gpus import fill


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    name: str,
    call: Callable[[httpx.Client], httpx.Response],
    url: str,
    requests: int,
    concurrency: int,
) -> dict[str, object]:
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(5):  # warm up
            call(http)
        latencies = []
        for _ in range(requests):
            start = time.perf_counter()
            answer = call(http)
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text

    def worker(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for _ in range(n):
                assert call(http).status_code == 200

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, [requests // concurrency] * concurrency))
    elapsed = time.perf_counter() - start
    return {
        "route": name,
        "sequential": {
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "rps": round(requests / sum(latencies), 1),
        },
        "concurrent": {
            "threads": concurrency,
            "rps": round((requests // concurrency) * concurrency / elapsed, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with AnvilNode(extra_args=("--gas-limit", "1000000000", "--prune-history", "100")) as node:
        client = GPUHubClient.deploy(node.web3())
        fill(client, args.listings)
        port = free_port()
        env = {**os.environ, "GPUHUB_API_KEY": "bench"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gpuhub",
                "serve",
                "--rpc",
                node.url,
                "--contract",
                client.contract_address,
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("gpuhub serve did not start")
                time.sleep(0.1)
            results = [
                measure(
                    "GET /getgpulist",
                    lambda h: h.get("/getgpulist"),
                    url,
                    args.requests,
                    args.concurrency,
                ),
                measure(
                    "POST /getgpudetailsbyid",
                    lambda h: h.post("/getgpudetailsbyid", json={"listingID": 7}),
                    url,
                    args.requests,
                    args.concurrency,
                ),
            ]
        finally:
            server.terminate()
            server.wait(10)
    print(
        json.dumps(
            {
                "server": "gpuhub serve (uvicorn, 1 worker) on 127.0.0.1",
                "chain": "anvil",
                "listings": args.listings,
                "results": results,
                "target": {"route": "GET /getgpulist", "p50_ms_max": 50},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
