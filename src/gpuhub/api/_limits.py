"""Request limits applied before any route runs: body size and JSON nesting depth.

Both guard the process, not just the route. A body is read at most ``max_body_bytes`` far (a
larger one is answered 413 without reading the rest), and a JSON body nested deeper than
``max_json_depth`` is answered 422 before the JSON parser sees it (see ``gpuhub._json``: the C
parser would overflow the C stack, a segmentation fault that kills the server).

The depth is measured by ``_json.json_depth``, one pass over the bytes that tracks strings and
escapes, so its cost is linear in the body's size whatever the body holds (a regex that skipped
strings took quadratic time on an unclosed string of escaped quotes: one 63 KiB body held the
event loop for half a minute). Bodies past ``INLINE_SCAN_BYTES`` are measured in a worker
thread, at most ``SCAN_THREADS`` at a time, so the event loop keeps answering other requests
meanwhile.
"""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from .._json import json_depth

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: default largest request body, in bytes (the biggest legitimate body is a few hundred bytes).
MAX_BODY_BYTES = 64 * 1024
#: default deepest JSON nesting accepted (the deepest legitimate body has depth 1).
MAX_JSON_DEPTH = 32

#: bodies up to this size are measured on the event loop (a fraction of a millisecond).
INLINE_SCAN_BYTES = 4 * 1024
#: larger bodies measured at once, each in a worker thread; more wait their turn.
SCAN_THREADS = 2


class RequestLimits:
    """ASGI middleware that enforces :data:`MAX_BODY_BYTES` and :data:`MAX_JSON_DEPTH`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_json_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        # Made on first use: an anyio limiter belongs to the event loop that runs the app.
        self._scanners: anyio.CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send, 413, "PayloadTooLarge", self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(send, 413, "PayloadTooLarge", self._too_large())
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and await self._depth(body) > self.max_json_depth:
            await self._refuse(
                send,
                422,
                "ValidationError",
                f"the JSON body nests deeper than {self.max_json_depth} levels; send a flat "
                "object as the route's schema shows",
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _depth(self, body: bytes) -> int:
        """``json_depth`` of ``body``: large bodies in a bounded pool of worker threads."""
        if len(body) <= INLINE_SCAN_BYTES:
            return json_depth(body, limit=self.max_json_depth)
        if self._scanners is None:
            self._scanners = anyio.CapacityLimiter(SCAN_THREADS)
        return await anyio.to_thread.run_sync(
            lambda: json_depth(body, limit=self.max_json_depth), limiter=self._scanners
        )

    def _too_large(self) -> str:
        return (
            f"the request body is larger than {self.max_body_bytes} bytes; send less (the "
            "server's limit is set by create_app(max_body_bytes=...))"
        )

    @staticmethod
    async def _refuse(send: Send, status: int, name: str, message: str) -> None:
        payload = json.dumps({"error": name, "message": message, "fields": {}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
