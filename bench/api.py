"""`gpuhub serve` over HTTP at 10,000 and 100,000 listings, with 1 and 16 clients, as JSON.

    python bench/api.py [--sizes 10000 100000] [--rounds 2] [--seconds 10]
                        [--baseline-src DIR] [--hostile]

For each size: a fresh anvil filled with market-shaped listings (bench/market.py), then each
contender in turn, ``--rounds`` times, the load average printed beside each figure:

- ``serve``: this checkout's `gpuhub serve --index FILE` (the file, so the benchmark can open
  the very index the server answers from and time the same searches in-process);
- with ``--baseline-src`` (another checkout's ``src/``): ``baseline``, its `gpuhub serve` as it
  starts by default, and ``baseline_index``, its `gpuhub serve --index FILE`.

Per contender, each request kind for at most ``--seconds`` (and ``--requests``):
- ``page``: GET /getgpulist?limit=100 and GET /v1/listings?q=...&limit=20 (a broad query), one
  client: p50/p99. A server that cannot page /getgpulist sends everything: that is its page.
- ``clients16``: the same two routes from 16 client threads: requests per second, p50/p99.
- ``full_list``: one GET /getgpulist of every listing: seconds, bytes, and the server's peak
  memory during it (VmHWM, reset just before through /proc/PID/clear_refs).
- ``search_overhead``: each market query (broad and narrow, with its match count) over HTTP
  and in-process on the same index file, taking turns in slices: p50/p99 and their ratio
  (target: at most 2). ``http_floor_bare_starlette_route`` beside it: the same client against
  uvicorn serving one bare Starlette route (a fixed 8 KiB answer), what HTTP costs here with
  nothing behind it.

Targets at 100,000 listings: p50 <= 20 ms for a page, peak memory <= 150 MB for a full
/getgpulist, and with 16 clients >= 10x the baseline's requests per second.

With ``--hostile``: GET /health p50/p99 while 4 clients post 63 KiB bodies of unclosed escaped
quotes (which once held the event loop for half a minute each). Target: p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import market
from harness import latency, load_average, peak_rss_mb, report, rss_mb, serve, source_env

from gpuhub import GPUHubClient, MarketIndex
from gpuhub.chain import AnvilNode

BROAD = market.QUERIES["broad_price"]
PAGE_ROUTES = {
    "getgpulist_limit_100": "/getgpulist?limit=100",
    "v1_listings_limit_20": "/v1/listings?" + urlencode({"q": BROAD, "limit": 20}),
}


class Http:
    """One keep-alive HTTP/1.1 connection (http.client: the lightest client to measure with)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)

    def get(self, path: str) -> bytes:
        try:
            self._connection.request("GET", path)
            answer = self._connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # the server closed a keep-alive connection left idle (uvicorn: after 5 s)
            self._connection.close()
            self._connection.request("GET", path)
            answer = self._connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"GET {path}: {answer.status} {body[:200]!r}")
        return body

    def post(self, path: str, body: bytes) -> int:
        headers = {"Content-Type": "application/json"}
        self._connection.request("POST", path, body=body, headers=headers)
        answer = self._connection.getresponse()
        answer.read()
        return answer.status

    def close(self) -> None:
        self._connection.close()


def bounded(call: Callable[[], Any], seconds: float, most: int, least: int = 3) -> list[float]:
    """Latencies of ``call`` run back to back for ``seconds`` (``least`` to ``most`` runs)."""
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    while len(samples) < most and (len(samples) < least or time.monotonic() < deadline):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def page(url: str, path: str, seconds: float, most: int) -> dict[str, Any]:
    http = Http(url)
    try:
        http.get(path)  # warm
        samples = bounded(lambda: http.get(path), seconds, most)
    finally:
        http.close()
    return {**latency(samples), "requests": len(samples), "load_average": load_average()}


def clients(url: str, path: str, count: int, seconds: float) -> dict[str, Any]:
    """``count`` threads, each its own connection, sending ``path`` for ``seconds``."""
    stop = time.monotonic() + seconds
    samples: list[list[float]] = [[] for _ in range(count)]

    def work(at: int) -> None:
        http = Http(url)
        try:
            while time.monotonic() < stop or not samples[at]:
                start = time.perf_counter()
                http.get(path)
                samples[at].append(time.perf_counter() - start)
        finally:
            http.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(work, range(count)))
    elapsed = time.perf_counter() - started
    every = [s for found in samples for s in found]
    return {
        "clients": count,
        "requests_per_s": round(len(every) / elapsed, 1),
        **latency(every),
        "requests": len(every),
        "load_average": load_average(),
    }


def full_list(url: str, process: Any) -> dict[str, Any]:
    """One GET /getgpulist of every listing, with the server's peak memory during it."""
    before = rss_mb(process)
    Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # peak RSS := current RSS
    http = Http(url)
    try:
        start = time.perf_counter()
        body = http.get("/getgpulist")
        seconds = time.perf_counter() - start
    finally:
        http.close()
    return {
        "seconds": round(seconds, 3),
        "bytes": len(body),
        "listings": body.count(b'"listingID"'),
        "server_rss_before_mb": before,
        "server_peak_rss_mb": peak_rss_mb(process),
        "load_average": load_average(),
    }


def search_overhead(
    url: str,
    node_url: str,
    contract: str,
    index_url: str,
    src: str | None,
    seconds: float,
    most: int,
) -> dict[str, Any]:
    """Each market query over HTTP and in-process on the same index file (in a worker process
    that imports the contender's gpuhub), interleaved in slices of ``SLICE`` searches so both
    see the same moments of the machine's load: p50/p99 and their ratio."""
    command = [sys.executable, __file__, "--time-index", index_url, "--rpc", node_url]
    worker = subprocess.Popen(
        [*command, "--contract", contract],
        env=source_env(src),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdin is not None and worker.stdout is not None
    results: dict[str, Any] = {}
    http = Http(url)
    try:
        for name, query in market.QUERIES.items():
            path = "/v1/listings?" + urlencode({"q": query})
            found = json.loads(http.get(path))
            local: list[float] = []
            remote: list[float] = []
            deadline = time.monotonic() + seconds
            while len(remote) < most and (len(remote) < 3 * SLICE or time.monotonic() < deadline):
                worker.stdin.write(query + "\n")
                worker.stdin.flush()
                local += json.loads(worker.stdout.readline())
                remote += bounded(lambda p=path: http.get(p), 0, SLICE, SLICE)  # type: ignore[misc]
            in_process, over_http = latency(local), latency(remote)
            results[name] = {
                "query": query,
                "matches_answered": found["total"],
                "total_exact": found.get("total_exact", True),
                "in_process": in_process,
                "http": over_http,
                "ratio_p50": round(over_http["p50_ms"] / in_process["p50_ms"], 2),
                "ratio_p99": round(over_http["p99_ms"] / in_process["p99_ms"], 2),
                "load_average": load_average(),
            }
    finally:
        http.close()
        worker.stdin.close()
        worker.wait(30)
    return results


#: searches per slice when HTTP and in-process take turns.
SLICE = 20


def bare_server(port: int) -> None:
    """``--bare-server PORT``: uvicorn serving one Starlette route that answers a fixed 8 KiB
    JSON body: what HTTP itself costs on this stack, with nothing behind it."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    body = json.dumps({"items": ["x" * 100] * 80}).encode()

    async def answer(_: Any) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/bare", answer)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def http_floor(seconds: float, most: int) -> dict[str, Any]:
    """p50/p99 of GET on a bare route (``bare_server``), measured like the searches."""
    from gpuhub.chain import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--bare-server", str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http = Http(f"http://127.0.0.1:{port}")
                http.get("/bare")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        samples = bounded(lambda: http.get("/bare"), seconds, most)
        http.close()
    finally:
        server.terminate()
        server.wait(10)
    return {**latency(samples), "load_average": load_average()}


def time_index(args: argparse.Namespace) -> None:
    """``--time-index``: for each query read from stdin, SLICE searches in-process on the index
    file, their latencies (seconds) printed as one JSON line."""
    from web3 import HTTPProvider, Web3

    client = GPUHubClient(Web3(HTTPProvider(args.rpc)), args.contract)
    with MarketIndex(client, args.time_index) as index:
        for line in sys.stdin:
            query = line.strip()
            index.search(query)
            samples = bounded(lambda q=query: index.search(q), 0, SLICE, SLICE)  # type: ignore[misc]
            print(json.dumps(samples), flush=True)


#: a body whose depth check once took quadratic time: 63 KiB of escaped quotes, never closed.
HOSTILE_BODY = b'{"maxPrice": "' + b'\\"' * (63 * 512)


def under_hostile_bodies(url: str, attackers: int, samples: int) -> dict[str, Any]:
    """/health latency while ``attackers`` clients post HOSTILE_BODY back to back."""
    stop = threading.Event()
    answered = [0] * attackers

    def attack(at: int) -> None:
        http = Http(url)
        try:
            while not stop.is_set():
                assert http.post("/getgpulist", HOSTILE_BODY) == 422
                answered[at] += 1
        finally:
            http.close()

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(attackers)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    started = time.perf_counter()
    http = Http(url)
    try:
        latencies = bounded(lambda: http.get("/health"), 60, samples, samples)
    finally:
        http.close()
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "route": "GET /health",
        "while": f"{attackers} clients post {len(HOSTILE_BODY)} bytes of unclosed escaped quotes",
        **latency(latencies),
        "hostile_answered_per_s": round(sum(answered) / elapsed, 1),
        "load_average": load_average(),
    }


def contender(
    node: AnvilNode,
    client: GPUHubClient,
    *,
    src: str | None,
    index_file: Path | None,
    seconds: float,
    most: int,
    hostile: bool,
) -> dict[str, Any]:
    args: tuple[str, ...] = () if index_file is None else ("--index", str(index_file))
    if src is None:
        args += ("--rate-limit", "none")  # one address sends every request here
    started = time.perf_counter()
    with serve(node.url, client.contract_address, src=src, args=args) as (url, process):
        result: dict[str, Any] = {"ready_s": round(time.perf_counter() - started, 1)}
        result["page"] = {name: page(url, p, seconds, most) for name, p in PAGE_ROUTES.items()}
        result["clients16"] = {
            name: clients(url, p, 16, seconds) for name, p in PAGE_ROUTES.items()
        }
        result["full_list"] = full_list(url, process)
        if index_file is not None:
            result["search_overhead"] = search_overhead(
                url,
                node.url,
                client.contract_address,
                f"sqlite:///{index_file}",
                src,
                seconds,
                most,
            )
        if hostile:
            result["under_hostile_bodies"] = under_hostile_bodies(url, 4, 100)
    return result


def size_run(size: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    extra = ("--gas-limit", "1000000000", "--prune-history", "100")
    with AnvilNode(accounts=50, extra_args=extra) as node:
        client = GPUHubClient.deploy(node.web3())
        start = time.perf_counter()
        market.fill_chain(client, size)
        fill_s = time.perf_counter() - start
        contenders: dict[str, tuple[str | None, bool]] = {"serve": (None, True)}
        if args.baseline_src:
            contenders["baseline"] = (args.baseline_src, False)
            contenders["baseline_index"] = (args.baseline_src, True)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
        for round_ in range(args.rounds):
            for name, (src, with_index) in contenders.items():
                index_file = folder / f"{name}-{size}-{round_}.db" if with_index else None
                runs[name].append(
                    contender(
                        node,
                        client,
                        src=src,
                        index_file=index_file,
                        seconds=args.seconds,
                        most=args.requests,
                        hostile=args.hostile,
                    )
                )
    return {
        "listings": size,
        "fill_s": round(fill_s, 1),
        "http_floor_bare_starlette_route": http_floor(args.seconds, args.requests),
        "contenders": runs,
        "summary": summary(runs),
    }


def summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The median over rounds of each contender's headline figures."""

    def median(name: str, pick: Callable[[dict[str, Any]], float]) -> float:
        return round(statistics.median(pick(r) for r in runs[name]), 3)

    found: dict[str, Any] = {}
    for name, rounds in runs.items():
        figures: dict[str, Any] = {}
        for route in PAGE_ROUTES:
            figures[f"{route}_p50_ms"] = median(name, lambda r, x=route: r["page"][x]["p50_ms"])
            figures[f"{route}_p99_ms"] = median(name, lambda r, x=route: r["page"][x]["p99_ms"])
            figures[f"{route}_16_clients_rps"] = median(
                name, lambda r, x=route: r["clients16"][x]["requests_per_s"]
            )
        figures["full_list_s"] = median(name, lambda r: r["full_list"]["seconds"])
        figures["full_list_peak_rss_mb"] = median(
            name, lambda r: r["full_list"]["server_peak_rss_mb"]
        )
        if "search_overhead" in rounds[0]:
            for query in market.QUERIES:
                for key in ("ratio_p50", "ratio_p99"):
                    figures[f"{query}_http_{key}"] = median(
                        name, lambda r, q=query, k=key: r["search_overhead"][q][k]
                    )
        found[name] = figures
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement, at most")
    parser.add_argument("--requests", type=int, default=300, help="per measurement, at most")
    parser.add_argument("--baseline-src", help="another checkout's src/ folder to measure beside")
    parser.add_argument("--hostile", action="store_true")
    parser.add_argument("--time-index", help=argparse.SUPPRESS)
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rpc", help=argparse.SUPPRESS)
    parser.add_argument("--contract", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_index:
        time_index(args)
        return
    if args.bare_server:
        bare_server(args.bare_server)
        return
    folder = Path(tempfile.mkdtemp(prefix="gpuhub-bench-api-"))
    sizes = [size_run(size, args, folder) for size in args.sizes]
    print(
        json.dumps(
            report(
                "api",
                {
                    "server": "gpuhub serve (uvicorn, 1 worker) on 127.0.0.1, anvil",
                    "sizes": sizes,
                    "target": {
                        "page_p50_ms_max": 20,
                        "full_list_peak_rss_mb_max": 150,
                        "clients16_rps_min_vs_baseline": 10,
                        "search_http_ratio_max": 2,
                        "health_p99_ms_max_under_hostile_bodies": 250,
                    },
                },
            ),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
