"""New blocks as they arrive, for services that follow the chain: one thread per node.

:class:`Heads` learns of each new block from a ``newHeads`` subscription over a WebSocket
(``eth_subscribe``) where the node offers one, and otherwise by asking for the head number,
paced by the chain's block time (:func:`gpuhub.watch.pace`; dev chains, which mine a block per
transaction, every :data:`DEV_INTERVAL` seconds). Followers register a callback, so nothing
else polls: an idle server asks the node nothing over a subscription, and one short question
per interval without one.

The WebSocket is read with ``websockets``' blocking client (web3 depends on it). A node's
messages are bounded in size, and anything that is not a block header announcement (a bad
frame, a JSON-RPC error, a closed connection) ends the subscription: it is made again after a
backoff, asking for the head meanwhile, so a lost notification delays a follower by one
interval at most.

Example::

    heads = Heads(client, ws_url="ws://127.0.0.1:8545").start()
    heads.subscribe(lambda number: print("block", number))
    ...
    heads.stop()
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._json import MAX_ANSWER_DEPTH, json_depth, structure
from .chain import DEV_CHAIN_IDS
from .exceptions import GPUHubError
from .watch import backoff_delays, pace

if TYPE_CHECKING:
    from .client import GPUHubClient

#: seconds between head checks on dev chains without a subscription (they mine on demand, so
#: there is no block time to pace by; the server's own writes are waited for explicitly).
DEV_INTERVAL = 0.5
#: the largest message read from a node's WebSocket (a block header is about 1 KiB).
MAX_MESSAGE_BYTES = 1 << 20
#: seconds to open the WebSocket and get the subscription's id.
CONNECT_TIMEOUT = 5.0


def ws_url_for(http_url: str) -> str | None:
    """The WebSocket URL a node at ``http_url`` likely serves on the same port (anvil, reth and
    geth with ``--ws`` on the HTTP port do); None for other schemes."""
    parts = urlsplit(http_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme)
    return None if scheme is None else parts._replace(scheme=scheme).geturl()


class Heads:
    """The chain's head as it moves, announced to every subscribed callback.

    Args:
        client: the node to follow.
        ws_url: a WebSocket endpoint of the same node, for a ``newHeads`` subscription; None,
            or one that refuses at the start, means polling.
        interval: seconds between polls without a subscription (default: paced by the block
            time; :data:`DEV_INTERVAL` on dev chains).
    """

    def __init__(
        self, client: GPUHubClient, *, ws_url: str | None = None, interval: float | None = None
    ) -> None:
        self._client = client
        self._ws_url = ws_url
        self._interval = interval
        self._callbacks: list[Callable[[int], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socket: Any = None
        self._thread: threading.Thread | None = None
        #: the newest block number seen (None before the first).
        self.latest: int | None = None
        #: "subscription" while new heads come over the WebSocket, else "polling".
        self.mode = "polling"
        #: the class of the latest error reading the node (retried), and its Unix time.
        self.last_error: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"Heads(mode={self.mode!r}, latest={self.latest})"

    def subscribe(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(number)`` (on this object's thread) for each new head."""
        with self._lock:
            self._callbacks.append(callback)

    def start(self) -> Heads:
        """Start following (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gpuhub-heads", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following and wait for the thread."""
        self._stop.set()
        socket = self._socket
        if socket is not None:
            socket.close()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """True while the thread follows the chain."""
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        interval = self._poll_interval()
        subscribed_once = False
        delays = backoff_delays(0.5, 30.0)
        while not self._stop.is_set():
            if self._ws_url is not None:
                if self._subscription(self._ws_url):
                    subscribed_once = True
                    delays = backoff_delays(0.5, 30.0)
                elif not subscribed_once:
                    self._ws_url = None  # no subscription here: poll from now on
                    continue
                if self._stop.is_set():
                    return
                # between subscriptions: a poll, so a block announced meanwhile is not missed
                self._poll_once()
                self._stop.wait(next(delays))
                continue
            self._poll_once()
            self._stop.wait(interval)

    def _poll_interval(self) -> float:
        if self._interval is not None:
            return self._interval
        if self._client.chain_id in DEV_CHAIN_IDS:
            return DEV_INTERVAL
        while not self._stop.is_set():
            try:
                return self._client._run(pace(self._client._ops))
            except GPUHubError as err:
                self._note(err)
                self._stop.wait(1.0)
        return DEV_INTERVAL

    def _poll_once(self) -> None:
        try:
            self._seen(self._client.block_number())
        except GPUHubError as err:
            self._note(err)

    def _subscription(self, url: str) -> bool:
        """Read new heads from ``url`` until the connection ends; False if it never
        subscribed."""
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        subscribed = False
        try:
            with connect(
                url, open_timeout=CONNECT_TIMEOUT, max_size=MAX_MESSAGE_BYTES, compression=None
            ) as socket:
                self._socket = socket
                if self._stop.is_set():
                    return False
                request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe"}
                socket.send(json.dumps({**request, "params": ["newHeads"]}))
                answer = _parse(socket.recv(timeout=CONNECT_TIMEOUT))
                if not isinstance(answer, dict) or not isinstance(answer.get("result"), str):
                    raise ValueError("the node refused eth_subscribe")
                subscribed = True
                self.mode = "subscription"
                self._poll_once()  # the head before the first announcement
                while not self._stop.is_set():
                    self._seen(_head_number(_parse(socket.recv())))
        except (OSError, TimeoutError, WebSocketException, ValueError, TypeError) as err:
            if not self._stop.is_set():
                self._note(err)
        finally:
            self._socket = None
            self.mode = "polling"
        return subscribed

    def _seen(self, number: int) -> None:
        if self.latest is not None and number <= self.latest:
            return
        self.latest = number
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(number)

    def _note(self, err: BaseException) -> None:
        self.last_error = (type(err).__name__, time.time())


def _parse(message: str | bytes) -> Any:
    """A node's WebSocket message as JSON, measured first (see ``gpuhub._json``)."""
    data = message.encode() if isinstance(message, str) else message
    if json_depth(structure(data), limit=MAX_ANSWER_DEPTH) > MAX_ANSWER_DEPTH:
        raise ValueError("the node's message nests too deep")
    return json.loads(data)


def _head_number(message: Any) -> int:
    """The block number of a ``newHeads`` notification; ValueError for anything else."""
    try:
        number = message["params"]["result"]["number"]
        if isinstance(number, str) and number.startswith("0x") and len(number) <= 18:
            return int(number, 16)
    except (KeyError, TypeError) as err:
        raise ValueError("not a newHeads notification") from err
    raise ValueError("not a newHeads notification")
