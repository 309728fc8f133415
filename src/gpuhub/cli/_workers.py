"""``gpuhub serve --workers N``: several processes answering on one port, sharing one index.

The ``gpuhub serve`` process binds the socket, syncs the index and then keeps it in step with
the chain (its follower) while ``N`` worker
processes, started with multiprocessing's *spawn* (nothing of the parent's threads or
connections is copied), each build their own client and app over the same PostgreSQL index and
answer requests on the inherited socket with uvicorn. Workers read the index; after a write of
its own, a worker brings the index up to that write's block (the index's write lock makes that
safe beside the follower: a range already applied is skipped), so the next read through any
worker sees it.

Every worker sends from the operator's account: each send takes the account's lock in the
index's database (:meth:`gpuhub.index.MarketIndex.sender_lock`) and reads the node's pending
count under it, so the workers never take one nonce twice.

What a worker needs is a :class:`WorkerSpec`, handed to it through multiprocessing's pipe: the
signing key travels that way, never in the environment, a file or a command line.

uvicorn's own ``workers=`` needs the app as an import string built without arguments, and its
supervisor's constructor is not public API; this module is the small supervisor instead.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess
    from multiprocessing.synchronize import Event

    from ..client import GPUHubClient

log = logging.getLogger("gpuhub.api")

#: seconds a worker has to start answering before the server gives up on it.
START_TIMEOUT = 120.0
#: seconds a worker has to finish its requests when the server stops.
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker builds its client and app from (pickled to it; the key and the API key
    never shown)."""

    rpc_url: str = field(repr=False)
    contract: str
    #: the operator's private key (32 bytes), or the address of an account the node unlocks.
    account: bytes | str = field(repr=False)
    index_url: str = field(repr=False)
    #: keyword arguments of :func:`gpuhub.api.create_app` that are plain data.
    app_options: dict[str, Any] = field(repr=False, default_factory=dict)
    #: uvicorn's logging configuration.
    log_config: dict[str, Any] = field(repr=False, default_factory=dict)


def account_of(client: GPUHubClient) -> bytes | str:
    """What a worker signs with: the client's key, or the unlocked address it sends from."""
    local = client._ops.require_sender()._local
    if local is not None:
        return bytes(local.key)
    return str(client.address)


def worker_client(spec: WorkerSpec) -> GPUHubClient:
    """The worker's own client: the same node, marketplace and account as the server's."""
    from eth_account import Account
    from web3 import HTTPProvider, Web3

    from ..client import GPUHubClient

    w3 = Web3(HTTPProvider(spec.rpc_url, request_kwargs={"timeout": 30}))
    account = Account.from_key(spec.account) if isinstance(spec.account, bytes) else spec.account
    return GPUHubClient(w3, spec.contract, account=account)


def run_worker(spec: WorkerSpec, sock: socket.socket, ready: Event) -> None:
    """A worker process: its client, index and app, answering on ``sock`` until told to stop."""
    import uvicorn

    from ..api import create_app
    from ..index import MarketIndex

    client = worker_client(spec)
    index = MarketIndex(client, spec.index_url)
    client.share_nonces(index.sender_lock(str(client.address)))
    app = create_app(client, index=index, follow=False, **spec.app_options)
    app.state.worker = os.getpid()
    config = uvicorn.Config(app, log_config=spec.log_config or None, access_log=False)
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            ready.set()

    threading.Thread(target=announce, name="gpuhub-worker-ready", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        index.close()


@dataclass
class _Worker:
    process: SpawnProcess
    ready: Event
    started_at: float


class Supervisor:
    """Starts ``count`` workers on ``sock`` and keeps them running until :meth:`stop`: a worker
    that dies after it started answering is replaced; one that dies before stops the server."""

    def __init__(self, spec: WorkerSpec, sock: socket.socket, count: int) -> None:
        self._spec = spec
        self._sock = sock
        self._count = count
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._stop = threading.Event()
        self.failure: str | None = None

    def _start_one(self) -> _Worker:
        ready = self._context.Event()
        process = self._context.Process(
            target=run_worker,
            args=(self._spec, self._sock, ready),
            name="gpuhub-worker",
            daemon=False,
        )
        process.start()
        return _Worker(process, ready, time.monotonic())

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start every worker and wait until each answers.

        Raises:
            RuntimeError: a worker exited, or did not start answering in time.
        """
        self._workers = [self._start_one() for _ in range(self._count)]
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            while not worker.ready.wait(0.1):
                if not worker.process.is_alive():
                    self.stop()
                    raise RuntimeError(
                        f"a worker exited with code {worker.process.exitcode} before it "
                        "answered: see its messages above"
                    )
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"a worker did not start answering in {timeout:.0f} s")

    @property
    def pids(self) -> list[int]:
        """The workers' process ids."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def watch(self) -> None:
        """Replace workers that die until :meth:`stop` (or a signal) is called."""
        while not self._stop.wait(0.5):
            for at, worker in enumerate(self._workers):
                if worker.process.is_alive():
                    continue
                code = worker.process.exitcode
                _mark_dead(worker.process.pid)
                if not worker.ready.is_set():
                    self.failure = f"a worker exited with code {code} before it answered"
                    self._stop.set()
                    break
                log.warning(
                    "worker %s exited with code %s; starting another", worker.process.pid, code
                )
                self._workers[at] = self._start_one()
        self._terminate()

    def ask_stop(self) -> None:
        """Make :meth:`watch` stop the workers and return (safe from a signal handler)."""
        self._stop.set()

    def stop(self) -> None:
        """Ask the workers to finish (SIGTERM: uvicorn ends its requests first) and wait."""
        self._stop.set()
        self._terminate()

    def _terminate(self) -> None:
        for worker in self._workers:
            if worker.process.is_alive() and worker.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()


def _mark_dead(pid: int | None) -> None:
    """Let prometheus_client drop a dead worker's live gauges (counters are kept)."""
    if pid is None or not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def metrics_folder() -> Any:
    """A folder the workers' Prometheus counts are kept in ($PROMETHEUS_MULTIPROC_DIR, set for
    them), so any worker's ``/metrics`` answers the sum; a fresh private one unless set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield os.environ["PROMETHEUS_MULTIPROC_DIR"]
        return
    with tempfile.TemporaryDirectory(prefix="gpuhub-metrics-") as folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        try:
            yield folder
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts on (uvicorn's own binding: IPv4, IPv6)."""
    import uvicorn

    return uvicorn.Config(app="", host=host, port=port).bind_socket()
