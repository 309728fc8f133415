"""Event latency on anvil: block mined -> event in watch, in SSE (GET /events), at a webhook.

    python bench/latency.py [--samples 50] [--transactions 1000] [--sse-poll 0.05]

Prints JSON: p50/p99 milliseconds from `evm_mine` returning to the event reaching a
`client.watch()` iterator (default pacing), an SSE client of `GET /events` (uvicorn, app
`event_poll_interval` = --sse-poll), a webhook receiver (http.server) fed by a
WebhookDispatcher, and `AsyncGPUHubClient.watch()` over HTTP polling and over a WebSocket
(eth_subscribe to new heads); then events per second through `client.watch()` while
--transactions transactions land.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.api import create_app
from gpuhub.chain import AnvilNode, free_port
from gpuhub.events import ListingCreated
from gpuhub.watch import DEV_POLL_INTERVAL
from gpuhub.webhooks import Outbox, WebhookDispatcher


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(latencies: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in latencies]
    return {"p50_ms": round(percentile(ms, 0.5), 2), "p99_ms": round(percentile(ms, 0.99), 2)}


class Arrivals:
    """Arrival times of listing ids, per consumer."""

    def __init__(self) -> None:
        self.times: dict[str, dict[int, float]] = {}
        self.lock = threading.Lock()

    def seen(self, consumer: str, listing_id: int) -> None:
        now = time.perf_counter()
        with self.lock:
            self.times.setdefault(consumer, {}).setdefault(listing_id, now)

    def has(self, consumer: str, listing_id: int) -> bool:
        with self.lock:
            return listing_id in self.times.get(consumer, {})


def serve(app: Any) -> uvicorn.Server:
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def receiver(arrivals: Arrivals) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            if body["type"] == "ListingCreated":
                arrivals.seen("webhook", body["data"]["args"]["listingId"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--transactions", type=int, default=1000)
    parser.add_argument("--sse-poll", type=float, default=0.05)
    args = parser.parse_args()
    arrivals = Arrivals()
    with AnvilNode(extra_args=("--gas-limit", "1000000000")) as node:
        w3 = node.web3()
        client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
        provider = w3.provider

        watch = client.watch(ListingCreated)

        def follow_watch() -> None:
            for event in watch:
                arrivals.seen("watch", event.listing_id)  # type: ignore[attr-defined]

        threading.Thread(target=follow_watch, daemon=True).start()

        server = serve(create_app(client, event_poll_interval=args.sse_poll))
        sse_url = f"http://127.0.0.1:{server.config.port}/events"

        def follow_sse() -> None:
            query = {"event": "ListingCreated"}
            with httpx.stream("GET", sse_url, params=query, timeout=None) as stream:
                name = ""
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]  # "error" once the node is gone at the end
                    elif line.startswith("data: ") and name == "ListingCreated":
                        arrivals.seen("sse", json.loads(line[6:])["args"]["listingId"])

        threading.Thread(target=follow_sse, daemon=True).start()

        def follow_async(kind: str, provider_of: Any) -> None:
            import asyncio

            from web3 import AsyncWeb3

            from gpuhub.aio import AsyncGPUHubClient

            async def consume() -> None:
                w3 = AsyncWeb3(provider_of())
                if kind == "async_watch_ws":
                    await w3.provider.connect()
                aclient = AsyncGPUHubClient(w3, client.contract_address)
                async for event in aclient.watch(ListingCreated):
                    arrivals.seen(kind, event.listing_id)  # type: ignore[attr-defined]

            asyncio.run(consume())

        from web3 import AsyncHTTPProvider, WebSocketProvider

        ws_url = node.url.replace("http://", "ws://")
        for kind, make in (
            ("async_watch_http", lambda: AsyncHTTPProvider(node.url)),
            ("async_watch_ws", lambda: WebSocketProvider(ws_url)),
        ):
            threading.Thread(target=follow_async, args=(kind, make), daemon=True).start()

        hooks = receiver(arrivals)
        outbox = Outbox(allow_private=True)  # the receiver runs on 127.0.0.1
        outbox.add_endpoint(next(hooks), event_types=["ListingCreated"])
        dispatcher = WebhookDispatcher(client, outbox).start()
        time.sleep(1.0)  # every consumer has polled once and holds its starting block

        consumers = ("watch", "sse", "webhook", "async_watch_http", "async_watch_ws")
        mined: dict[int, float] = {}
        provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        for i in range(args.samples):
            pending = client.create_listing(
                gpu_model="bench",
                capacity=8,
                price=10**12,
                unit=PriceUnit.HOUR,
                wait=False,
                gas=200_000,
            )
            provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            mined[i] = time.perf_counter()
            pending.result(timeout=30)
            deadline = time.monotonic() + 10
            while not all(arrivals.has(c, i) for c in consumers):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"listing {i} did not reach every consumer")
                time.sleep(0.001)
            time.sleep(0.05)  # let pollers settle so samples do not overlap
        provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        latency = {
            c: summary([arrivals.times[c][i] - mined[i] for i in range(args.samples)])
            for c in consumers
        }
        dispatcher.stop()

        # throughput: events through watch while transactions land
        first = args.samples
        count = args.transactions
        start = time.perf_counter()
        senders = [client.with_account(a) for a in client.accounts[1:5]]

        def send(sender: GPUHubClient, n: int) -> None:
            pending = [
                sender.create_listing(
                    gpu_model="load",
                    capacity=8,
                    price=10**12,
                    unit=PriceUnit.HOUR,
                    gas=200_000,
                    wait=False,
                )
                for _ in range(n)
            ]
            for tx in pending:
                tx.result(timeout=120)

        threads = [threading.Thread(target=send, args=(s, count // len(senders))) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent = time.perf_counter()
        while len(arrivals.times["watch"]) < first + count:
            time.sleep(0.001)
        done = time.perf_counter()
        watch.close()
        server.should_exit = True
        print(
            json.dumps(
                {
                    "chain": "anvil",
                    "samples": args.samples,
                    "watch_poll_interval_s": DEV_POLL_INTERVAL,
                    "sse_poll_interval_s": args.sse_poll,
                    "latency_block_mined_to_event": latency,
                    "throughput": {
                        "transactions": count,
                        "send_s": round(sent - start, 3),
                        "last_event_in_watch_s": round(done - start, 3),
                        "watch_events_per_s": round(count / (done - start), 1),
                        "watch_lag_after_last_send_ms": round((done - sent) * 1000, 1),
                    },
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
