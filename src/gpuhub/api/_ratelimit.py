"""Requests per client, limited with the ``limits`` library: 429 with ``Retry-After`` past it.

A client is its IP address as the server sees it (behind a reverse proxy, run uvicorn with
``--forwarded-allow-ips`` so that it is the proxy's ``X-Forwarded-For``, see deploy.md); IPv6
addresses count per /64, the block one host usually holds, so a host cannot dodge the limit by
walking its own addresses. Every route counts, static files and ``/metrics`` too: one page load
is a handful of requests, far below any sensible limit.

Counts live in the storage the URI names: ``memory://`` (the default) in each worker process,
so with ``--workers N`` a client may make N times the limit; ``redis://host`` (or memcached,
MongoDB: any storage ``limits`` knows) shares them across workers and servers. Windows slide
(``limits``' sliding-window counter: two counters per client, no per-request records, so a
flood of clients costs little memory).
"""

import ipaddress
import json
import math
import time
from typing import Any

from limits import RateLimitItem, parse_many

from ._limits import ASGIApp, Receive, Scope, Send


def parse_rate_limit(text: str) -> list[RateLimitItem]:
    """``"20/second;600/minute"`` as ``limits`` items; ValidationError when it does not parse."""
    from ..exceptions import ValidationError

    try:
        items = list(parse_many(text))
    except ValueError as err:
        raise ValidationError(
            "rate_limit", f"{text!r} is no rate limit: write it as '20/second;600/minute'"
        ) from err
    if not items:
        raise ValidationError("rate_limit", "is empty: write it as '20/second;600/minute'")
    return items


class RateLimit:
    """ASGI middleware: each client's requests counted against ``items``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        items: list[RateLimitItem],
        storage_uri: str = "memory://",
        on_limited: Any = None,
    ) -> None:
        self.app = app
        self.items = items
        self.storage_uri = storage_uri
        self.on_limited = on_limited
        # Made on first use, inside the event loop that runs the app (the async storages
        # belong to it).
        self._limiter: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limiter = self._get_limiter()
        key = client_key(scope)
        for item in self.items:
            if not await limiter.hit(item, key):
                stats = await limiter.get_window_stats(item, key)
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                if self.on_limited is not None:
                    self.on_limited()
                await _refuse(send, item, retry)
                return
        await self.app(scope, receive, send)

    def _get_limiter(self) -> Any:
        if self._limiter is None:
            from limits.aio.strategies import SlidingWindowCounterRateLimiter
            from limits.storage import storage_from_string

            uri = self.storage_uri
            self._limiter = SlidingWindowCounterRateLimiter(
                storage_from_string(uri if uri.startswith("async+") else "async+" + uri)
            )
        return self._limiter


def client_key(scope: Scope) -> str:
    """Who a request comes from: its IP address, IPv6 addresses by their /64."""
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


async def _refuse(send: Send, item: RateLimitItem, retry: int) -> None:
    payload = json.dumps(
        {
            "error": "RateLimited",
            "message": f"more than {item} from this client; try again in {retry} s",
            "fields": {"limit": str(item), "retry_after": retry},
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"retry-after", str(retry).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
