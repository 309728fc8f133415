"""Shared fixtures: real chains only (the embedded eth-tester chain and an anvil node)."""

from __future__ import annotations

import glob
import json
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode, embedded_web3, find_anvil, free_port


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    """One anvil node on 127.0.0.1 for the whole session (a fresh node each run).

    anvil writes every block's state it moves out of memory to disk, each a copy of the whole
    state (8 MB late in a session): a whole session reached 16 GB, left behind in
    ~/.foundry/anvil/tmp when the node was stopped. The tests read only recent blocks, so at most
    a hundred states go to disk, in a folder of the session's own that is removed at its end.
    """
    find_anvil()  # fails with an actionable message when `npm ci` was not run
    cache = tempfile.mkdtemp(prefix="gpuhub-anvil-")
    args = ("--max-persisted-states", "100", "--cache-path", cache)
    try:
        with AnvilNode(accounts=20, extra_args=args) as node:
            yield node
    finally:
        shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(params=["embedded", "anvil"])
def chain_name(request: pytest.FixtureRequest) -> str:
    """The chain a test runs on; integration tests run on both."""
    name: str = request.param
    if name == "anvil":
        request.applymarker(pytest.mark.anvil)
    return name


@pytest.fixture
def client(chain_name: str, request: pytest.FixtureRequest) -> GPUHubClient:
    """A client for a freshly deployed marketplace, sending as the chain's first account, which
    holds governance directly (as a multisig would; test_governance.py covers the governor)."""
    if chain_name == "anvil":
        node: AnvilNode = request.getfixturevalue("anvil_node")
        w3 = node.web3()
    else:
        w3 = embedded_web3()
    return GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])


@pytest.fixture
def stranger(client: GPUHubClient) -> GPUHubClient:
    """The same marketplace, sending as an account that owns nothing."""
    return client.with_account(client.accounts[9])


def _postgres_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        pytest.fail(
            f"PostgreSQL's {name} not found: apt-get install postgresql-15 (or postgresql), "
            "or set GPUHUB_TEST_POSTGRES_URL to a server the tests may create databases on"
        )
    return found


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its commands as the postgres user then."""
    if os.geteuid() != 0:
        return []
    if subprocess.run(["id", "-u", "postgres"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the session: $GPUHUB_TEST_POSTGRES_URL, else a fresh one.

    The fresh one runs from a temporary data directory on a free port of 127.0.0.1, as the
    postgres user when the tests run as root.
    """
    url = os.environ.get("GPUHUB_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    runner = _as_postgres_user()
    # Not under pytest's own temporary folder, which the postgres user cannot enter.
    root = pathlib.Path(tempfile.mkdtemp(prefix="gpuhub-postgres-"))
    data = root / "data"
    if runner:
        shutil.chown(root, user="postgres")
    port = free_port()
    subprocess.run(
        [
            *runner,
            _postgres_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "gpuhub",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
            "--locale=C",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    subprocess.run(
        [
            *runner,
            _postgres_bin("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://gpuhub@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*runner, _postgres_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[str]:
    """An empty database for one test: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.db'}"
        return
    import sqlalchemy

    server: str = request.getfixturevalue("postgres_server")
    name = f"gpuhub_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield server.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers from a script, then 204, and records all."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        #: answers to give, in order: an HTTP status, or a float = seconds to stall first
        self.script: list[int | float] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                answer = receiver.script.pop(0) if receiver.script else 204
                if isinstance(answer, float):
                    time.sleep(answer)
                    answer = 204
                self.send_response(answer)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self) -> list[str]:
        return [h["webhook-id"] for h, _ in self.received]

    def payloads(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running webhook receiver on 127.0.0.1 (stop and start it to simulate an outage)."""
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    """Another running webhook receiver on 127.0.0.1."""
    r = Receiver().start()
    yield r
    r.stop()


class RawReceiver:
    """A hostile webhook receiver: a TCP server on 127.0.0.1 that reads each request and answers
    with raw bytes, not necessarily HTTP.

    ``answer`` is sent as is; with ``trickle`` it is sent one byte every ``trickle`` seconds
    (repeated until the client hangs up); ``reset`` closes the connection with a TCP reset
    instead of answering. ``requests`` holds the first bytes of each request received.
    """

    def __init__(
        self, answer: bytes = b"", *, trickle: float | None = None, reset: bool = False
    ) -> None:
        self.answer = answer
        self.trickle = trickle
        self.reset = reset
        self.requests: list[bytes] = []
        #: connections accepted and not closed yet.
        self.open_connections = 0
        self._count = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._stopped = threading.Event()

    def start(self) -> RawReceiver:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self._count:
            self.open_connections += 1
        try:
            conn.settimeout(5)
            self.requests.append(conn.recv(65_536))
            if self.reset:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if self.trickle is None:
                conn.sendall(self.answer)
                return
            while not self._stopped.is_set():
                for byte in self.answer:
                    conn.sendall(bytes([byte]))
                    if self._stopped.wait(self.trickle):
                        return
        except OSError:
            pass
        finally:
            conn.close()
            with self._count:
                self.open_connections -= 1


@pytest.fixture
def raw_receiver() -> Iterator[Callable[..., RawReceiver]]:
    """Starts hostile receivers: ``raw_receiver(answer, trickle=..., reset=...)``; every one is
    stopped after the test."""
    started: list[RawReceiver] = []

    def start(answer: bytes = b"", **options: Any) -> RawReceiver:
        started.append(RawReceiver(answer, **options).start())
        return started[-1]

    yield start
    for r in started:
        r.stop()


NVIDIA_SMI_OUTPUTS = pathlib.Path(__file__).parent / "data" / "nvidia-smi"


@pytest.fixture
def fake_nvidia_smi(tmp_path: pathlib.Path) -> Callable[..., str]:
    """Makes an ``nvidia-smi`` script that prints one of tests/data/nvidia-smi's outputs and
    exits with ``status``, as the real command does on a machine with those GPUs."""

    def make(output: str, status: int = 0) -> str:
        script = tmp_path / "bin" / "nvidia-smi"
        script.parent.mkdir(exist_ok=True)
        source = NVIDIA_SMI_OUTPUTS / output
        script.write_text(f"#!/bin/sh\ncat '{source}'\nexit {status}\n")
        script.chmod(0o755)
        return str(script)

    return make
