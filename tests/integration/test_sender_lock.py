"""The sender lock: an account's sends one at a time across processes sharing a PostgreSQL
index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy
from eth_account import Account

from gpuhub import GPUHubClient, MarketIndexError
from gpuhub.chain import AnvilNode
from gpuhub.index import SenderLock

ETH = 10**18
OPERATOR = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"


@pytest.fixture
def engines(postgres_server: str) -> Iterator[tuple[sqlalchemy.Engine, sqlalchemy.Engine]]:
    """Two engines on one PostgreSQL database, as two worker processes have."""
    first, second = (
        sqlalchemy.create_engine(postgres_server),
        sqlalchemy.create_engine(postgres_server),
    )
    yield first, second
    first.dispose()
    second.dispose()


def test_sender_lock_needs_postgresql() -> None:
    """On SQLite the lock is refused with a MarketIndexError that names PostgreSQL."""
    with pytest.raises(MarketIndexError, match="PostgreSQL"):
        SenderLock(sqlalchemy.create_engine("sqlite://"), OPERATOR)


def test_a_held_lock_keeps_another_process_out(
    engines: tuple[sqlalchemy.Engine, sqlalchemy.Engine],
) -> None:
    """While one process holds an account's lock, another's acquire times out with a
    MarketIndexError naming the account; once released, the other gets it."""
    mine, theirs = SenderLock(engines[0], OPERATOR), SenderLock(engines[1], OPERATOR, timeout=0.2)
    mine.acquire()
    try:
        with pytest.raises(MarketIndexError, match=OPERATOR):
            theirs.acquire()
    finally:
        mine.release()
    assert theirs.acquire()
    theirs.release()


def test_locks_of_two_accounts_are_apart(
    engines: tuple[sqlalchemy.Engine, sqlalchemy.Engine],
) -> None:
    """Another account's lock is not this one's: both are held at once."""
    other = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"
    mine, theirs = SenderLock(engines[0], OPERATOR), SenderLock(engines[1], other, timeout=0.2)
    mine.acquire()
    try:
        assert theirs.acquire()
        theirs.release()
    finally:
        mine.release()


def test_threads_of_one_process_wait_their_turn(
    engines: tuple[sqlalchemy.Engine, sqlalchemy.Engine],
) -> None:
    """Threads sharing one lock hold it one at a time, each on the database only while it
    holds it."""
    lock = SenderLock(engines[0], OPERATOR)
    inside: list[int] = []
    most = 0

    def hold() -> None:
        nonlocal most
        lock.acquire()
        try:
            inside.append(1)
            most = max(most, len(inside))
            time.sleep(0.01)
            inside.pop()
        finally:
            lock.release()

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    assert engines[0].pool.checkedout() == 0


#: one process sending from the operator's key: ``count`` listings from as many threads at once,
#: after a line on stdin (so both processes start together); prints the listings' ids.
SENDER = """
import json, os, sys
from concurrent.futures import ThreadPoolExecutor
import sqlalchemy
from eth_account import Account
from web3 import HTTPProvider, Web3
from gpuhub import GPUHubClient
from gpuhub.index import SenderLock

rpc, contract, database, count = sys.argv[1:5]
key = Account.from_key(os.environ["KEY"])
client = GPUHubClient(Web3(HTTPProvider(rpc)), contract, account=key)
client.share_nonces(SenderLock(sqlalchemy.create_engine(database), client.address))
print("ready", flush=True)
sys.stdin.readline()

def make(_):
    return client.create_listing(gpu_model="NVIDIA L4", capacity=24, price=10**12).listing_id

with ThreadPoolExecutor(int(count)) as pool:
    print(json.dumps(list(pool.map(make, range(int(count))))), flush=True)
"""


@pytest.mark.anvil
def test_two_processes_sending_from_one_account_take_distinct_nonces(
    anvil_node: AnvilNode, postgres_server: str
) -> None:
    """Two processes sending from one key at once, each from six threads, sharing the account's
    lock: every listing lands, at consecutive nonces, none taken twice."""
    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    operator = Account.create()
    sent = w3.eth.send_transaction(
        {"from": w3.eth.accounts[-1], "to": operator.address, "value": ETH}
    )
    w3.eth.wait_for_transaction_receipt(sent, timeout=30, poll_latency=0.01)  # anvil mines after
    first_block = w3.eth.block_number + 1
    args = [anvil_node.url, market.contract_address, postgres_server, "6"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SENDER, *args],
            env={**os.environ, "KEY": operator.key.hex()},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        made = [process.communicate(timeout=120)[0] for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [p.returncode for p in processes] == [0, 0], made
    ids = [i for out in made for i in json.loads(out)]
    assert len(set(ids)) == 12
    nonces = [
        tx["nonce"]
        for number in range(first_block, w3.eth.block_number + 1)
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]
        if tx["from"] == operator.address
    ]
    assert sorted(nonces) == list(range(12))
