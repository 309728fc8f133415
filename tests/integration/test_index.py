"""MarketIndex on both chains and both databases: it mirrors the contract and answers queries."""

from __future__ import annotations

import contextlib
import gc
import http.server
import json
import pathlib
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy
from web3 import HTTPProvider, Web3

from gpuhub import (
    GPUHubClient,
    MarketIndex,
    MarketIndexError,
    PriceUnit,
    Query,
    ValidationError,
)
from gpuhub.chain import AnvilNode
from gpuhub.index import SCHEMA_VERSION, _sql
from gpuhub.index._index import _snapshot

ETH = 10**18


@pytest.fixture
def index(client: GPUHubClient, database_url: str) -> Iterator[MarketIndex]:
    """An empty index of the test's marketplace, on SQLite or PostgreSQL."""
    with MarketIndex(client, database_url) as found:
        yield found


def trade(client: GPUHubClient) -> None:
    """Listings in every unit and status, rentals ended every way, one extended."""
    renter = client.with_account(client.accounts[1])
    for i, unit in enumerate([PriceUnit.MINUTE, PriceUnit.HOUR, PriceUnit.DAY] * 2):
        client.create_listing(
            gpu_model=f"RTX 40{i}0",
            capacity=8 * (i + 1),
            price=(i + 1) * 10**15,
            unit=unit,
            max_duration=100 * (i + 1),
        )
    client.update_listing(
        0, gpu_model="H100 SXM", capacity=80, price=30 * ETH, unit=PriceUnit.DAY, max_duration=90
    )
    client.fulfill_request(1)
    client.remove_listing(5)
    first = renter.rent(2, 2)
    renter.extend_rental(first.rental_id, 1)
    client.chain.advance_time(3600)  # billed enough that its rating weighs
    renter.end_rental(first.rental_id)
    second = renter.rent(3, 1)
    client.end_rental(second.rental_id)
    third = renter.rent(4, 1)
    client.chain.advance_time(2 * 86400)
    client.settle(third.rental_id)
    renter.rate(first.rental_id, 5, comment="fast")
    renter.rate(second.rental_id, 2, comment="cut short \u00e9")
    client.rate(third.rental_id, 4)
    other = client.with_account(client.accounts[2])
    other.create_listing(gpu_model="L4", capacity=24, price=10**14)
    rented = renter.rent(6, 1)
    renter.end_rental(rented.rental_id)
    renter.rate(rented.rental_id, 3)
    renter.rent(0, 1)


def assert_mirrors(index: MarketIndex, client: GPUHubClient) -> None:
    assert index.list_listings() == client.list_listings()
    assert index.list_rentals() == list(client.iter_rentals())
    for account in client.accounts[:4]:
        assert index.reputation(account) == client.reputation(account)
    assert index.list_ratings() == client.ratings()


def test_index_mirrors_the_contract(client: GPUHubClient, index: MarketIndex) -> None:
    """After a sync the index holds every listing, rental and termination the contract does."""
    trade(client)
    assert index.sync() == client.block_number()
    assert_mirrors(index, client)


def test_sync_resumes_where_it_stopped(client: GPUHubClient, index: MarketIndex) -> None:
    """A second sync applies only the new blocks and the index still mirrors the contract."""
    client.create_listing(gpu_model="A100", capacity=40, price=10**15)
    index.sync()
    trade(client)
    index.sync()
    assert_mirrors(index, client)


def test_index_search_agrees_with_client_search(client: GPUHubClient, index: MarketIndex) -> None:
    """The index and the chain evaluator return the same page and total for a query."""
    trade(client)
    index.sync()
    for query in (
        "model~rtx sort=-price_per_hour",
        "status=any sort=model,-id",
        "price_per_hour<=0.002eth capacity>=16",
        "max_hours>=2d sort=price limit=2 offset=1",
        "unit in [minute, day] status notin [removed]",
        "rating>=3.1 sort=-rating,price",
        "status=any sort=-completed,terminations,-ratings",
        "terminations=0 ratings>=1 rating<4",
    ):
        found, expected = index.search(query), client.search(query)
        assert (found.listings, found.total) == (expected.listings, expected.total), query
        assert found.reputations == expected.reputations, query


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_terms_matching_more_names_than_listed_agree(
    client: GPUHubClient, index: MarketIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Terms that match more models or providers than a search lists in its SQL still agree."""
    trade(client)
    index.sync()
    monkeypatch.setattr(_sql, "INLINE_NAMES", 0)
    for query in ("model~rtx sort=-id", "rating>3 sort=-rating", "ratings>=1 provider~0x"):
        found, expected = index.search(query), client.search(query)
        assert found.total > 0, query
        assert (found.listings, found.total) == (expected.listings, expected.total), query


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_repeated_search_sees_what_was_synced_since(
    client: GPUHubClient, index: MarketIndex
) -> None:
    """A search run again after a sync finds new models and newly rated providers."""
    query = "model~rtx rating>3 sort=id"
    client.create_listing(gpu_model="RTX 4090", capacity=24, price=10**15)
    index.sync()
    assert index.search(query).total == 0
    renter = client.with_account(client.accounts[1])
    client.create_listing(gpu_model="rtx 5090", capacity=32, price=10**15)
    rental = renter.rent(1, 1)
    renter.end_rental(rental.rental_id)
    renter.rate(rental.rental_id, 5)
    index.sync()
    assert [item.listing_id for item in index.search(query).listings] == [0, 1]


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_search_statements_read_one_snapshot(client: GPUHubClient, index: MarketIndex) -> None:
    """A search's statements read the index as it was, though a sync commits between them."""
    count = "SELECT count(*) FROM gpuhub_listings"
    client.create_listing(gpu_model="A100", capacity=40, price=10**15)
    index.sync()
    with _snapshot(index._engine) as db:
        before = db.exec_driver_sql(count).scalar_one()
        client.create_listing(gpu_model="H100", capacity=80, price=10**15)
        index.sync()
        assert db.exec_driver_sql(count).scalar_one() == before == 1
    assert index.search("status=any").total == 2


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_rating_order_reads_the_rating_index(client: GPUHubClient, index: MarketIndex) -> None:
    """The page of ``sort=-rating`` is read through the rating index, not sorted row by row:
    the search's ORDER BY is the very expression the index holds."""
    statements = _sql.search_statements(
        index._engine.dialect, Query.parse("sort=-rating limit=20"), ()
    )
    explain = "EXPLAIN " if index._engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with index._engine.connect() as db:
        if index._engine.dialect.name == "postgresql":
            db.exec_driver_sql("SET enable_seqscan = off")  # an empty table is cheaper to scan
        plan = db.exec_driver_sql(explain + statements.page.sql, statements.page.params).all()
    assert "gpuhub_listings_status_rating" in " ".join(str(row) for row in plan)


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_a_full_page_counts_only_so_far_past_its_end(
    client: GPUHubClient, index: MarketIndex
) -> None:
    """Past ``count_limit`` matches after the page, the total is a lower bound and says so."""
    for i in range(6):
        client.create_listing(gpu_model=f"RTX {i}", capacity=8, price=10**15)
    index.sync()
    found = index.search("sort=id limit=2", count_limit=1)
    assert [x.listing_id for x in found.listings] == [0, 1]
    assert (found.total, found.total_exact) == (4, False)


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_a_count_that_ends_before_the_limit_is_exact(
    client: GPUHubClient, index: MarketIndex
) -> None:
    """A capped count that finds fewer matches than it may count is the exact total."""
    for i in range(6):
        client.create_listing(gpu_model=f"RTX {i}", capacity=8, price=10**15)
    index.sync()
    found = index.search("sort=id limit=2", count_limit=4)
    assert (found.total, found.total_exact) == (6, True)


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_exact_total_counts_every_match(client: GPUHubClient, index: MarketIndex) -> None:
    """``exact_total=True`` counts every match however many there are."""
    for i in range(6):
        client.create_listing(gpu_model=f"RTX {i}", capacity=8, price=10**15)
    index.sync()
    found = index.search("sort=id limit=2", count_limit=1, exact_total=True)
    assert (found.total, found.total_exact) == (6, True)


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_a_negative_count_limit_is_refused(client: GPUHubClient, index: MarketIndex) -> None:
    """A count_limit below 0 is a ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        index.search("sort=id", count_limit=-1)
    assert caught.value.field == "count_limit"


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_prices_above_64_bits_stay_exact(client: GPUHubClient, index: MarketIndex) -> None:
    """Prices past 2**63 wei compare and sort exactly in SQL."""
    for price in (2**95, 2**63 + 1, 2**63, 9 * ETH):
        client.create_listing(gpu_model="X", capacity=1, price=price, unit=PriceUnit.HOUR)
    index.sync()
    assert [item.price for item in index.search("sort=-price").listings] == [
        2**95,
        2**63 + 1,
        2**63,
        9 * ETH,
    ]
    assert [item.listing_id for item in index.search(f"price>{2**63}wei").listings] == [0, 1]


HUGE = ["9223372036854775807", "9223372036854775808", "18446744073709551616", "1e70", "1e78"]
NUMERIC_FIELDS = [
    "id",
    "capacity",
    "price",
    "price_per_hour",
    "min_duration",
    "max_duration",
    "max_hours",
    "rating",
    "ratings",
    "completed",
    "terminations",
]


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_numbers_past_2_63_answer_as_client_search(
    client: GPUHubClient, index: MarketIndex
) -> None:
    """Every numeric field, with every operator, compared to numbers past 2**63 (as units, hours
    and lists too) answers as client.search does, never OverflowError."""
    trade(client)
    index.sync()
    queries = [
        f"status=any {field}{op}{number}"
        for field in NUMERIC_FIELDS
        for op in ("=", "!=", "<", "<=", ">", ">=")
        for number in HUGE
    ]
    queries += [f"status=any {field} in [1, {HUGE[1]}]" for field in NUMERIC_FIELDS]
    queries += [f"status=any {field} notin [{HUGE[2]}]" for field in NUMERIC_FIELDS]
    queries += [f"status=any min_duration<={HUGE[3]}h", f"status=any max_hours>={HUGE[1]}d"]
    queries += [f"status=any limit={HUGE[1]}", f"status=any offset={HUGE[2]}"]
    for text in queries:
        found, expected = index.search(text), client.search(text)
        assert [x.listing_id for x in found.listings] == [
            x.listing_id for x in expected.listings
        ], text
        assert found.total == expected.total, text


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_confirmations_keep_the_index_behind(client: GPUHubClient, database_url: str) -> None:
    """With confirmations=2 the index stops two blocks below the head."""
    for _ in range(3):
        client.create_listing(gpu_model="A100", capacity=40, price=10**15)
    with MarketIndex(client, database_url, confirmations=2) as index:
        assert index.sync() == client.block_number() - 2


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_follow_keeps_up_in_the_background(client: GPUHubClient, index: MarketIndex) -> None:
    """follow() syncs from a thread until stop(), which ends the thread."""
    follower = index.follow(interval=0.05)
    client.create_listing(gpu_model="A100", capacity=40, price=10**15)
    deadline = time.monotonic() + 20
    while index.search("status=any").total == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    follower.stop(timeout=10)
    assert index.search("status=any").total == 1
    assert not follower.running
    assert follower.error is None


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_other_schema_version_says_how_to_rebuild(
    client: GPUHubClient, index: MarketIndex, database_url: str
) -> None:
    """An index written by another schema version is refused with the way to rebuild it."""
    engine = sqlalchemy.create_engine(database_url)
    with engine.begin() as db:
        db.execute(
            sqlalchemy.text("UPDATE gpuhub_meta SET value = '0' WHERE key = 'schema_version'")
        )
    engine.dispose()
    with pytest.raises(MarketIndexError, match=rf"version 0, this gpuhub uses {SCHEMA_VERSION}"):
        MarketIndex(client, database_url)
    with MarketIndex.rebuild(client, database_url) as rebuilt:
        assert rebuilt.synced_block == -1


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_index_of_another_marketplace_is_refused(
    client: GPUHubClient, index: MarketIndex, database_url: str
) -> None:
    """An index built for one contract refuses a client of another."""
    other = GPUHubClient.deploy(client.w3, account=client.accounts[0])
    with pytest.raises(MarketIndexError, match="use another URL"):
        MarketIndex(other, database_url)


@pytest.mark.anvil
@pytest.mark.parametrize("chain_name", ["anvil"])
def test_reorg_rewinds_to_the_fork(
    client: GPUHubClient, index: MarketIndex, anvil_node: AnvilNode
) -> None:
    """After a revert and new blocks at the same heights the index rewinds and mirrors again."""
    client.create_listing(gpu_model="A100", capacity=40, price=10**15)
    snapshot = client.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    trade(client)
    index.sync()
    old_head = client.block_number()
    client.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    client._conn.nonces.clear()
    client.create_listing(gpu_model="B200", capacity=192, price=7 * 10**15, unit=PriceUnit.DAY)
    client.create_listing(gpu_model="MI300X", capacity=192, price=5 * 10**15)
    while client.block_number() < old_head + 1:
        client.chain.mine()
    index.sync()
    assert_mirrors(index, client)
    assert [item.gpu_model for item in index.list_listings()] == ["A100", "B200", "MI300X"]


@pytest.mark.anvil
@pytest.mark.parametrize("chain_name", ["anvil"])
def test_reorg_deeper_than_the_undo_records_is_refused(
    client: GPUHubClient, database_url: str
) -> None:
    """A reorganisation below what the index keeps undo records for raises MarketIndexError."""
    snapshot = client.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    for _ in range(4):
        client.create_listing(gpu_model="A100", capacity=40, price=10**15)
    with MarketIndex(client, database_url, reorg_depth=1) as index:
        index.sync()
        client.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        client._conn.nonces.clear()
        for _ in range(5):
            client.chain.mine()
        with pytest.raises(MarketIndexError, match="rebuild"):
            index.sync()


CRASHING_SYNC = """
import os, signal, sys
from sqlalchemy import event
from web3 import HTTPProvider, Web3
from gpuhub import GPUHubClient, MarketIndex

rpc, address, url, first = sys.argv[1:5]
index = MarketIndex(GPUHubClient(Web3(HTTPProvider(rpc)), address), url)
index.sync(to_block=int(first))

def die_mid_range(conn, cursor, statement, *args):
    if statement.startswith("INSERT INTO gpuhub_listings"):
        os.kill(os.getpid(), signal.SIGKILL)  # rows written, the range not committed

event.listen(index._engine, "before_cursor_execute", die_mid_range)
index.sync()
"""


@pytest.mark.anvil
@pytest.mark.parametrize("chain_name", ["anvil"])
def test_sync_killed_mid_range_resumes_without_gaps_or_duplicates(
    client: GPUHubClient, anvil_node: AnvilNode, database_url: str
) -> None:
    """A sync killed inside a range leaves the last committed range; the next sync completes."""
    for i in range(3):
        client.create_listing(gpu_model=f"A{i}", capacity=40, price=10**15)
    first = client.block_number()
    trade(client)
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_SYNC,
            anvil_node.url,
            client.contract_address,
            database_url,
            str(first),
        ],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with MarketIndex(client, database_url) as index:
        assert index.synced_block == first
        assert [x.gpu_model for x in index.list_listings()] == ["A0", "A1", "A2"]
        index.sync()
        assert_mirrors(index, client)


class RangeLimitedNode(http.server.ThreadingHTTPServer):
    """A JSON-RPC server in front of anvil that refuses log queries over more than 4 blocks,
    as hosted nodes do (with their wording), and passes every other request through."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refused = 0
        super().__init__(("127.0.0.1", 0), _RangeLimitedHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RangeLimitedHandler(http.server.BaseHTTPRequestHandler):
    server: RangeLimitedNode

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = json.loads(body)
        if request["method"] == "eth_getLogs":
            query = request["params"][0]
            span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            if span > 4:
                self.server.refused += 1
                error = {"code": -32005, "message": "query exceeds max block range 4"}
                self._answer(json.dumps({"jsonrpc": "2.0", "id": request["id"], "error": error}))
                return
        forwarded = urllib.request.Request(
            self.server.upstream, body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(forwarded) as response:
            self._answer(response.read().decode())

    def _answer(self, text: str) -> None:
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.anvil
@pytest.mark.parametrize("chain_name", ["anvil"])
def test_ranges_halve_when_the_node_refuses_them(
    client: GPUHubClient, anvil_node: AnvilNode, tmp_path: pathlib.Path
) -> None:
    """Against a node that refuses wide log queries, sync halves its range and still completes."""
    trade(client)
    node = RangeLimitedNode(anvil_node.url)
    threading.Thread(target=node.serve_forever, daemon=True).start()
    try:
        limited = GPUHubClient(Web3(HTTPProvider(node.url)), client.contract_address)
        with MarketIndex(limited, f"sqlite:///{tmp_path / 'index.db'}") as index:
            index.sync()
            assert_mirrors(index, client)
    finally:
        node.shutdown()
    assert node.refused > 0


# ---------------------------------------------------------------------- several writers


@contextlib.contextmanager
def write_lock_held(database_url: str) -> Iterator[None]:
    """Hold the index's write lock from outside, as a third process writing would."""
    from gpuhub.index._index import WRITE_LOCK_KEY

    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("PRAGMA journal_mode=WAL")  # as every index's connections are
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = sqlalchemy.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as db:
        db.execute(sqlalchemy.select(sqlalchemy.func.pg_advisory_lock(WRITE_LOCK_KEY)))
        try:
            yield
        finally:
            db.execute(sqlalchemy.select(sqlalchemy.func.pg_advisory_unlock(WRITE_LOCK_KEY)))
    engine.dispose()


def at_once(database_url: str, *steps: Callable[[], object]) -> list[object]:
    """Run ``steps`` in threads that all reach the index's write lock while another holds it,
    then let them through together; their results, or the first exception one raised."""
    results: list[object] = [None] * len(steps)
    errors: list[BaseException] = []

    def run(at: int, step: Callable[[], object]) -> None:
        try:
            results[at] = step()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(steps)]
    with write_lock_held(database_url):
        for thread in threads:
            thread.start()
        time.sleep(1.5)  # each reads its range and waits for the lock (ms of work)
        assert all(t.is_alive() for t in threads), errors  # none got past the lock
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


@pytest.mark.anvil
@pytest.mark.parametrize("chain_name", ["anvil"])
def test_two_syncs_of_one_database_apply_each_event_once(
    client: GPUHubClient, database_url: str
) -> None:
    """Two indexes on one database (separate engines, as two processes) syncing the same range
    at once apply it once: the one that writes second finds it applied and does nothing."""
    trade(client)
    head = client.block_number()
    with MarketIndex(client, database_url) as one, MarketIndex(client, database_url) as two:
        assert at_once(database_url, one.sync, two.sync) == [head, head]
        assert_mirrors(one, client)


@pytest.mark.anvil
@pytest.mark.parametrize("chain_name", ["anvil"])
def test_sync_height_never_moves_back(client: GPUHubClient, database_url: str) -> None:
    """A sync to an older block that commits after one to the head leaves the index at the head,
    each event applied once, whichever of the two writes first."""
    trade(client)
    middle = client.block_number()
    renter = client.with_account(client.accounts[3])
    listing = client.create_listing(gpu_model="B200", capacity=180, price=10**15)
    renter.end_rental(renter.rent(listing.listing_id, 1).rental_id)
    head = client.block_number()
    with MarketIndex(client, database_url) as one, MarketIndex(client, database_url) as two:
        older, newer = at_once(
            database_url, lambda: one.sync(to_block=middle), lambda: two.sync(to_block=head)
        )
        assert newer == head and older in (middle, head)
        assert one.synced_block == head
        assert_mirrors(one, client)


@pytest.mark.parametrize("chain_name", ["embedded"])
def test_indexes_opened_at_once_create_the_tables_once(
    client: GPUHubClient, database_url: str
) -> None:
    """Four processes opening one new index at once create its tables and rows once."""
    opened = at_once(database_url, *[lambda: MarketIndex(client, database_url)] * 4)
    for index in opened:
        assert isinstance(index, MarketIndex) and index.synced_block == -1
        index.close()


def test_a_large_catch_up_leaves_no_garbage_behind(
    client: GPUHubClient, index: MarketIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catch-up large enough to compact the index collects the garbage its decoding made, so
    a server that synced a whole market does not keep it."""
    from gpuhub.index import _index

    for n in range(12):
        client.create_listing(gpu_model=f"GPU {n}", capacity=8, price=10**15)
    monkeypatch.setattr(_index, "VACUUM_AFTER", 10)  # a large catch-up, at this market's size
    gc.collect()
    gc.disable()
    try:
        index.sync()
        left = gc.collect()
    finally:
        gc.enable()
    assert index.search("status=any").total == 12
    # a few objects of the sync's own ending, not some for every event it decoded
    assert left < 12, left
