"""`gpuhub serve --workers 2` on PostgreSQL and anvil: one server for the module, each test
talking to both of its workers over connections of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy
from eth_account import Account
from typer.testing import CliRunner

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode, free_port
from gpuhub.cli import app
from gpuhub.cli._app import EXIT_USAGE

pytestmark = pytest.mark.anvil

ETH = 10**18
#: writes each worker makes at once in the nonce test.
WRITES_PER_WORKER = 6


@dataclass
class Workers:
    """The running server: its URL, the operator's address, a connection to each worker."""

    url: str
    operator: str
    market: GPUHubClient
    pids: list[int]
    #: one keep-alive connection per worker, by the worker's id in /health
    connections: dict[int, httpx.Client]


@pytest.fixture(scope="module")
def index_url(postgres_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the server's index."""
    name = f"gpuhub_workers_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield postgres_server.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as db:
        db.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def worker_connections(url: str, count: int) -> dict[int, httpx.Client]:
    """A connection to each of ``count`` workers: new connections until each worker has taken
    one (the kernel hands each to whichever worker accepts first)."""
    found: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []
    deadline = time.monotonic() + 60
    while len(found) < count:
        assert time.monotonic() < deadline, f"only workers {sorted(found)} took connections"
        connection = httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1))
        worker = connection.get("/health").json()["worker"]
        if worker in found:
            spare.append(connection)  # held open, so the next one is a new connection
        else:
            found[worker] = connection
    for connection in spare:
        connection.close()
    return found


@pytest.fixture(scope="module")
def workers(anvil_node: AnvilNode, index_url: str) -> Iterator[Workers]:
    """`gpuhub serve --workers 2 --index postgresql+psycopg://...` over anvil, signing with a
    fresh key holding 10 ETH."""
    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    operator = Account.create()
    sent = w3.eth.send_transaction(
        {"from": w3.eth.accounts[-1], "to": operator.address, "value": 10 * ETH}
    )
    w3.eth.wait_for_transaction_receipt(sent, timeout=30, poll_latency=0.01)  # anvil mines after
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUHUB_")}
    env["GPUHUB_PRIVATE_KEY"] = operator.key.hex()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gpuhub", "serve", "--rpc", anvil_node.url),
            *("--contract", market.contract_address, "--index", index_url),
            *("--workers", "2", "--port", str(port), "--json"),
            *("--allow-unauthenticated-writes", "--rate-limit", "none"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline()]
        while lines[-1] not in ("}\n", ""):  # the JSON document ends with a lone brace
            lines.append(server.stdout.readline())
        started = json.loads("".join(lines))
        url = started["url"]
        connections = worker_connections(url, 2)
        yield Workers(url, operator.address, market, started["workers"], connections)
        for connection in connections.values():
            connection.close()
    finally:
        server.terminate()
        server.wait(30)


def test_operator_writes_from_both_workers_take_distinct_nonces(workers: Workers) -> None:
    """Listings created at once through both workers all land, at consecutive nonces of the
    operator's account, none taken twice."""
    w3 = workers.market.w3
    first_block = w3.eth.block_number + 1
    first_nonce = w3.eth.get_transaction_count(workers.operator)
    jobs = [c for c in workers.connections.values() for _ in range(WRITES_PER_WORKER)]

    def create(connection: httpx.Client) -> httpx.Response:
        body = {"gpu_model": "NVIDIA L4", "capacity": 24, "price": "1000000000000"}
        return connection.post("/v1/listings", json=body)

    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(create, jobs))
    assert [a.status_code for a in answers] == [201] * len(jobs), [a.text for a in answers]
    assert len({a.json()["listing_id"] for a in answers}) == len(jobs)
    nonces = [
        tx["nonce"]
        for number in range(first_block, w3.eth.block_number + 1)
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]
        if tx["from"] == workers.operator
    ]
    assert sorted(nonces) == list(range(first_nonce, first_nonce + len(jobs)))


def test_a_listing_made_through_one_worker_is_found_through_the_other(workers: Workers) -> None:
    """A listing created through one worker is in the other's search as soon as the write is
    answered, with no block mined since."""
    (writer, through_writer), (reader, through_reader) = workers.connections.items()
    assert writer != reader
    body = {"gpu_model": "NVIDIA B200 workers", "capacity": 192, "price": "5000000000000"}
    made = through_writer.post("/v1/listings", json=body)
    assert made.status_code == 201, made.text
    head = workers.market.block_number()
    found = through_reader.get("/v1/listings", params={"q": 'model~"B200 workers"'}).json()
    assert [x["listing_id"] for x in found["items"]] == [made.json()["listing_id"]]
    assert found["source"] == "index"
    assert workers.market.block_number() == head


def test_a_reading_worker_reports_the_shared_index_healthy(workers: Workers) -> None:
    """Each worker's /health is ok and says the index is followed elsewhere, not by itself."""
    for pid, connection in workers.connections.items():
        health = connection.get("/health").json()
        assert (health["status"], health["worker"]) == ("ok", pid)
        assert health["worker"] in workers.pids
        assert health["index"]["following"] is False
        assert health["index"]["behind"] is False


@pytest.mark.parametrize(
    ("where", "said"),
    [
        (("--index", "market.db"), "postgresql+psycopg://"),
        (("--index", "postgresql+psycopg://u@127.0.0.1/db"), "--rpc URL"),
    ],
)
def test_several_workers_without_what_they_share_is_a_usage_error(
    where: tuple[str, str], said: str
) -> None:
    """--workers 2 without a PostgreSQL index, or on the embedded chain, exits with a usage
    error saying what to pass, before any chain or database is reached."""
    env = {"GPUHUB_RPC_URL": "", "GPUHUB_PRIVATE_KEY": "", "GPUHUB_CONTRACT": ""}
    args = ["serve", "--workers", "2", *where]
    if said != "--rpc URL":
        args += ["--rpc", "http://127.0.0.1:9"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == EXIT_USAGE, (result.stdout, result.stderr)
    assert "--workers" in result.stderr and said in result.stderr, result.stderr
