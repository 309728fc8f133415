"""MarketIndex: the marketplace's events applied to SQL tables, kept in sync, searched by SQL.

The state is rebuilt from events alone. Each block range is applied in one database
transaction together with the new sync height, so a crash anywhere resumes from the last
committed range: no gaps, no duplicates. Every writing transaction first takes the index's write
lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-level advisory lock) and reads the
sync height again under it, so several processes syncing one database (``serve --index``
workers) write one at a time, and a range another process applied meanwhile is skipped: events
are applied once, and the sync height never moves back.

For the last ``reorg_depth`` blocks the index keeps the hash of each block it applied events
from and, per block, the rows as they were before (a journal), so a reorganisation rewinds to
the fork point and applies the new branch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError

from .._transactions import Rpc, data_bytes, quantity
from ..events import default_decoder
from ..exceptions import MarketIndexError, RequestRejected, ValidationError
from ..models import (
    RATING_WEIGHT_UNIT,
    Listing,
    ListingStatus,
    PriceUnit,
    Rating,
    Rental,
    RentalStatus,
    Reputation,
    Role,
)
from ..search import Query, SearchResult
from ..watch import backoff_delays
from . import _sql
from ._locks import SenderLock
from ._schema import (
    MAX_INTEGER,
    OPEN_END,
    SCHEMA_VERSION,
    STATE_TABLES,
    TEXT_KEYS,
    accounts,
    blocks,
    from_wei,
    journal,
    listing_versions,
    listings,
    meta,
    metadata,
    models,
    money,
    open_engine,
    providers,
    ratings,
    rentals,
    wei,
)

if TYPE_CHECKING:
    from ..client import GPUHubClient
    from ..heads import Heads

#: blocks per range to start with, and the most one range may grow to while it finds little.
FIRST_SPAN = 10
MAX_SPAN = 100_000
#: events a range should bring at most: past it the next ranges are narrowed, so a sync's
#: memory stays bounded where blocks hold many events (a range's events are held at once).
RANGE_EVENTS = 5_000
#: words in a node's refusal of a log query for its size (too many blocks or results).
_RANGE_REFUSALS = ("too many", "range", "limit", "exceed", "more than", "response size")
#: events after which a sync rewrites a SQLite file compactly.
VACUUM_AFTER = 20_000
#: events after which a sync refreshes the database's statistics.
ANALYZE_AFTER = 1_000
#: seconds a follower fed by new heads waits before syncing anyway (a missed announcement).
RECHECK_EVERY = 60.0
#: matches a search counts past the end of its page, unless asked for an exact total.
COUNT_LIMIT = 1_000
#: searches whose compiled SQL an index keeps, the most recently run.
_COMPILED_SEARCHES = 256
#: rows per ``IN (...)`` list, well under every database's parameter limit.
_CHUNK = 500
#: blocks asked for their timestamps in one JSON-RPC batch.
_BLOCKS_PER_BATCH = 100
#: seconds a writer waits for another process's write to end before giving up.
WRITE_LOCK_TIMEOUT = 120.0
#: the PostgreSQL advisory lock that writers of an index take (one index per database).
WRITE_LOCK_KEY = 0x6770_7568_6964_7800  # "gpuhidx"
_APPLIED = (
    "ListingCreated",
    "ListingUpdated",
    "ListingStatusChanged",
    "RentalStarted",
    "RentalExtended",
    "RentalEnded",
    "Rated",
)


@dataclass(frozen=True, slots=True)
class _Log:
    block: int
    block_hash: str
    log_index: int
    topics: list[bytes]
    data: bytes
    #: the block's timestamp (None until read).
    time: int | None = None


@dataclass(frozen=True, slots=True)
class _Event:
    name: str
    block: int
    args: dict[str, Any]
    #: the block's timestamp.
    time: int = 0
    #: the log's position in its block.
    log_index: int = 0

    @property
    def position(self) -> int:
        """Where the event is on the chain, as one number that orders events."""
        return self.block * 2**24 + self.log_index


class MarketIndex:
    """A SQL mirror of one marketplace, fed by its events.

    Args:
        client: the marketplace to follow (a read-only client is enough).
        url: SQLAlchemy URL: ``sqlite:///path.db`` (default ``gpuhub-index.db``, WAL mode) or
            ``postgresql+psycopg://user:password@host/db`` for servers shared by several
            workers. Tables are created on first use.
        confirmations: blocks to stay behind the head. 0 suits dev chains; on mainnet take
            about 12 (reorgs past finality do not happen; two epochs are 64 blocks), on L2s the
            depth their sequencer can reorg (usually 0 for Arbitrum and OP chains, which
            reorg only on L1 reorgs).
        reorg_depth: how many recent blocks keep undo records; a reorganisation deeper than
            this raises MarketIndexError (rebuild with ``MarketIndex.rebuild``).
        start_block: the first block to read (the marketplace's deployment block saves
            scanning history on long chains).

    Example::

        >>> index = gpuhub.MarketIndex(client)
        >>> index.sync()
        >>> index.search("model~4090 price_per_hour<=0.5eth sort=price_per_hour limit=5")
    """

    def __init__(
        self,
        client: GPUHubClient,
        url: str = "sqlite:///gpuhub-index.db",
        *,
        confirmations: int = 0,
        reorg_depth: int = 256,
        start_block: int = 0,
    ) -> None:
        for name, value in (
            ("confirmations", confirmations),
            ("reorg_depth", reorg_depth),
            ("start_block", start_block),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(name, f"expected a whole number >= 0, got {value!r}")
        self._client = client
        self._io = client._io
        self._tester = _eth_tester(client.w3)
        self._address = client.contract_address
        self.confirmations = confirmations
        self.reorg_depth = reorg_depth
        self._start_block = start_block
        self._span = FIRST_SPAN
        self._sync_lock = threading.Lock()
        self._engine = open_engine(url)
        cache = functools.lru_cache(maxsize=_COMPILED_SEARCHES)
        self._statements = cache(functools.partial(_sql.search_statements, self._engine.dialect))
        self._narrowing_statement = cache(
            functools.partial(_sql.narrowing_statement, self._engine.dialect)
        )
        self._prepare()

    @classmethod
    def rebuild(
        cls, client: GPUHubClient, url: str = "sqlite:///gpuhub-index.db", **kwargs: Any
    ) -> MarketIndex:
        """Drop the index's tables at ``url`` and start an empty index (``sync()`` fills it)."""
        engine = open_engine(url)
        metadata.drop_all(engine)
        engine.dispose()
        return cls(client, url, **kwargs)

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return (
            f"MarketIndex(contract={self._address}, url={url!r}, synced_block={self.synced_block})"
        )

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def sender_lock(self, address: str) -> SenderLock:
        """A lock around ``address``'s sends that every process using this PostgreSQL index
        shares: give it to ``GPUHubClient.share_nonces`` in each process that sends from
        ``address`` (the workers of ``gpuhub serve``).

        Raises:
            MarketIndexError: the index is not on PostgreSQL.
        """
        return SenderLock(self._engine, address)

    def __enter__(self) -> MarketIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ schema

    def _prepare(self) -> None:
        with self._engine.connect() as db:
            if inspect(db).has_table(meta.name):
                self._check_meta(db)
                return
        # Created under the write lock, so processes opening a new index at once make it once.
        with self._writing() as db:
            if inspect(db).has_table(meta.name):
                self._check_meta(db)
                return
            metadata.create_all(db)
            rows = {
                **self._identity(),
                "synced_block": str(self._start_block - 1),
                "synced_time": "0",
            }
            rows["journal_floor"] = rows["synced_block"]
            db.execute(insert(meta), [{"key": k, "value": v} for k, v in rows.items()])

    def _identity(self) -> dict[str, str]:
        return {
            "schema_version": str(SCHEMA_VERSION),
            "chain_id": str(self._client.chain_id),
            "contract": self._address,
        }

    def _check_meta(self, db: Connection) -> None:
        url = self._engine.url.render_as_string(hide_password=True)
        expected = self._identity()
        found = dict(db.execute(select(meta.c.key, meta.c.value)).all())
        if found.get("schema_version") != expected["schema_version"]:
            raise MarketIndexError(
                f"the index at {url} has schema version "
                f"{found.get('schema_version')}, this gpuhub uses {SCHEMA_VERSION}: "
                "rebuild it with MarketIndex.rebuild(client, url) (or delete the file) "
                "and sync again"
            )
        if (
            found.get("chain_id") != expected["chain_id"]
            or found.get("contract") != expected["contract"]
        ):
            raise MarketIndexError(
                f"the index at {url} follows {found.get('contract')} on chain "
                f"{found.get('chain_id')}, not {self._address} on chain "
                f"{self._client.chain_id}: use another URL, or MarketIndex.rebuild"
            )

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction that holds the index's write lock, committed at the end of the block.

        One writer at a time, across processes: SQLite takes its write lock at ``BEGIN
        IMMEDIATE`` (readers go on, in WAL mode); PostgreSQL an advisory lock held until the
        transaction ends. Either waits up to :data:`WRITE_LOCK_TIMEOUT` for another writer.
        """
        url = self._engine.url.render_as_string(hide_password=True)
        with self._engine.connect() as db:
            try:
                if db.dialect.name == "sqlite":
                    _begin_immediate(db)
                else:
                    timeout = f"{int(WRITE_LOCK_TIMEOUT * 1000)}ms"
                    db.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": timeout})
                    db.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))
            except OperationalError as err:
                raise MarketIndexError(
                    f"another process has been writing to the index at {url} for over "
                    f"{WRITE_LOCK_TIMEOUT:.0f} s: try again later (only one sync writes at a time)"
                ) from err
            yield db
            db.commit()

    def _meta(self, db: Connection, key: str) -> int:
        return int(db.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one())

    def _set_meta(self, db: Connection, key: str, value: int) -> None:
        db.execute(update(meta).where(meta.c.key == key).values(value=str(value)))

    @property
    def synced_block(self) -> int:
        """The last block whose events are in the index (start_block - 1 before the first sync)."""
        with self._engine.connect() as db:
            return self._meta(db, "synced_block")

    @property
    def synced_time(self) -> int:
        """The timestamp of ``synced_block`` (0 before the first sync): the moment the index
        describes, which analytics take as "now"."""
        with self._engine.connect() as db:
            return self._meta(db, "synced_time")

    # ------------------------------------------------------------------ sync

    def sync(
        self, *, to_block: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Apply every event up to ``to_block`` (default: the head minus ``confirmations``).

        Reads in block ranges that double while they bring few events (under a quarter of
        :data:`RANGE_EVENTS`), narrow when they bring more than that, and halve when the node
        refuses one, committing each range in one transaction. ``progress(synced, target)`` is
        called after each. Returns the synced block.

        Raises:
            MarketIndexError: the chain reorganised deeper than ``reorg_depth``.
        """
        with self._sync_lock:
            head = self._client.block_number()
            target = head - self.confirmations
            if to_block is not None:
                target = min(target, to_block)
            synced = self._rewind_if_reorganised()
            start = synced + 1
            applied = 0
            while start <= target:
                end = min(target, start + self._span - 1)
                try:
                    logs, hashes, end_time = self._fetch(start, end)
                except RequestRejected as err:
                    if self._span == 1 or not _too_large(err):
                        raise
                    self._span = max(1, self._span // 2)
                    continue
                if logs is None:  # the chain changed under the read; read the range again
                    continue
                synced = self._commit_range(
                    start,
                    end,
                    logs,
                    hashes,
                    journal_above=head - self.reorg_depth,
                    end_time=end_time,
                )
                applied += len(logs)
                if len(logs) > RANGE_EVENTS:
                    self._span = max(1, self._span * RANGE_EVENTS // len(logs))
                elif len(logs) < RANGE_EVENTS // 4:
                    self._span = min(MAX_SPAN, self._span * 2)
                start = synced + 1
                if progress is not None:
                    progress(synced, target)
            if applied >= VACUUM_AFTER:
                self._vacuum()
            if applied >= ANALYZE_AFTER:
                self._analyze()
            if applied >= VACUUM_AFTER:
                _release_free_memory()
            return self.synced_block

    def _vacuum(self) -> None:
        """Rewrite a SQLite file compactly after a large catch-up: rows updated in place and
        index pages split by inserts in key order leave a file about a seventh larger
        (PostgreSQL's autovacuum does its own). Then close the connections, with their page
        caches."""
        if self._engine.dialect.name != "sqlite":
            return
        with self._engine.connect() as db:
            # the copy VACUUM makes goes to a temporary file, not to memory
            db.exec_driver_sql("PRAGMA temp_store=FILE")
            db.exec_driver_sql("VACUUM")
        self._engine.dispose()

    def _analyze(self) -> None:
        """Refresh the planner's statistics, so it knows which filters narrow a search."""
        with self._engine.begin() as db:
            for table in (listings, accounts, rentals, listing_versions):
                db.exec_driver_sql(f"ANALYZE {table.name}")

    def follow(self, *, interval: float = 1.0, heads: Heads | None = None) -> Follower:
        """Keep the index in sync from a background thread until ``stop()``: after each block
        ``heads`` announces (a started :class:`gpuhub.heads.Heads`), else every ``interval``
        seconds.

        Example::

            >>> with index.follow(interval=2.0):
            ...     serve_requests(index)
        """
        return Follower(self, interval, heads)

    def _fetch(
        self, start: int, end: int
    ) -> tuple[list[_Event] | None, dict[int, str], int | None]:
        """Events of blocks ``start..end``, the hashes of the blocks they came from, and the
        timestamp of block ``end``."""
        raw: list[_Log] | None
        end_time: int | None
        if self._tester is not None:
            raw, hashes, end_time = self._fetch_embedded(start, end)
        else:
            raw, hashes, end_time = self._fetch_node(start, end)
            if raw is None:
                return None, {}, None
        return [e for log in raw if (e := _decode(log)) is not None], hashes, end_time

    def _request(self, method: str, params: list[Any]) -> Any:
        return self._io.request(Rpc(method, params))

    def _fetch_node(
        self, start: int, end: int
    ) -> tuple[list[_Log] | None, dict[int, str], int | None]:
        end_block = self._request("eth_getBlockByNumber", [hex(end), False])
        end_hash, end_time = str(end_block["hash"]), quantity(end_block["timestamp"])
        query = {"address": self._address, "fromBlock": hex(start), "toBlock": hex(end)}
        entries = self._request("eth_getLogs", [query])
        logs = [
            _Log(
                quantity(e["blockNumber"]),
                str(e["blockHash"]),
                quantity(e["logIndex"]),
                [bytes.fromhex(t[2:]) for t in e["topics"]],
                data_bytes(e["data"]),
                # Nodes that follow the newer log format (anvil, reth, geth 1.16) give the
                # block's time with each log; the others are asked per block below.
                None if e.get("blockTimestamp") is None else quantity(e["blockTimestamp"]),
            )
            for e in entries
            if not e.get("removed")
        ]
        hashes = {log.block: log.block_hash for log in logs}
        if hashes.get(end, end_hash) != end_hash:
            return None, {}, None
        hashes[end] = end_hash
        times = self._block_times({log.block for log in logs if log.time is None})
        if times is None:
            return None, {}, None
        logs = [
            log if log.time is not None else dataclasses.replace(log, time=times[log.block][1])
            for log in logs
        ]
        if any(times[log.block][0] != log.block_hash for log in logs if log.block in times):
            return None, {}, None  # a block read for its time is not the one the logs came from
        return logs, hashes, end_time

    def _block_times(self, numbers: set[int]) -> dict[int, tuple[str, int]] | None:
        """The hash and timestamp of each block in ``numbers`` (None if one is missing)."""
        found: dict[int, tuple[str, int]] = {}
        wanted = sorted(numbers)
        for at in range(0, len(wanted), _BLOCKS_PER_BATCH):
            chunk = wanted[at : at + _BLOCKS_PER_BATCH]
            calls = tuple(Rpc("eth_getBlockByNumber", [hex(n), False]) for n in chunk)
            for number, block in zip(chunk, self._io.batch(calls), strict=True):
                if block is None:
                    return None
                found[number] = (str(block["hash"]), quantity(block["timestamp"]))
        return found

    def _fetch_embedded(self, start: int, end: int) -> tuple[list[_Log], dict[int, str], int]:
        # eth-tester's get_logs scans the whole chain on every call, and so does its receipt
        # lookup by transaction hash; py-evm's own block-by-number and receipts-of-a-block are
        # lookups, so reading through them keeps a sync linear in the chain's length.
        address = bytes.fromhex(self._address[2:])
        logs: list[_Log] = []
        hashes: dict[int, str] = {}
        with self._io.serial:
            chain = self._tester.backend.chain
            for number in range(start, end + 1):
                block = chain.get_canonical_block_by_number(number)
                block_hash = "0x" + bytes(block.hash).hex()
                block_time = int(block.header.timestamp)
                log_index = 0
                for receipt in block.get_receipts(chain.chaindb):
                    for entry in receipt.logs:
                        if bytes(entry.address) == address:
                            topics = [t.to_bytes(32, "big") for t in entry.topics]
                            logs.append(
                                _Log(number, block_hash, log_index, topics, entry.data, block_time)
                            )
                            hashes[number] = block_hash
                        log_index += 1
            last = chain.get_canonical_block_by_number(end)
            hashes[end] = "0x" + bytes(last.hash).hex()
        return logs, hashes, int(last.header.timestamp)

    def _chain_hash(self, number: int) -> str | None:
        if self._tester is None:
            block = self._request("eth_getBlockByNumber", [hex(number), False])
            return None if block is None else str(block["hash"])
        with self._io.serial:
            chain = self._tester.backend.chain
            if number > chain.get_canonical_head().block_number:
                return None
            return "0x" + bytes(chain.get_canonical_block_by_number(number).hash).hex()

    def _rewind_if_reorganised(self) -> int:
        while True:
            with self._engine.connect() as db:
                synced = self._meta(db, "synced_block")
                known = db.execute(
                    select(blocks.c.number, blocks.c.hash).order_by(blocks.c.number.desc())
                ).all()
            fork = self._start_block - 1
            for number, block_hash in known:
                if self._chain_hash(number) == block_hash:
                    fork = number
                    break
            if not known or fork == synced:
                return synced
            if self._rewind(synced, fork):
                return fork
            # another process synced or rewound since the check: check again

    def _rewind(self, synced: int, fork: int) -> bool:
        """Put the index back to block ``fork``, unless its sync height is no longer ``synced``
        (another writer moved it); True when it rewound."""
        with self._writing() as db:
            if self._meta(db, "synced_block") != synced:
                return False
            floor = self._meta(db, "journal_floor")
            if fork < floor:
                raise MarketIndexError(
                    f"the chain reorganised below block {floor + 1}, deeper than this index keeps "
                    f"undo records for (reorg_depth={self.reorg_depth}): rebuild it with "
                    "MarketIndex.rebuild(client, url), and raise confirmations on this chain"
                )
            _undo(db, fork)
            db.execute(delete(blocks).where(blocks.c.number > fork))
            self._set_meta(db, "synced_block", fork)
        return True

    def _commit_range(
        self,
        start: int,
        end: int,
        events: list[_Event],
        hashes: Mapping[int, str],
        *,
        journal_above: int,
        end_time: int | None = None,
    ) -> int:
        """Apply the events of blocks ``start..end`` and return the sync height after.

        Under the write lock the height is read again: the blocks another writer applied
        meanwhile are skipped (all of them: nothing is done), and a range that would leave a gap
        (another writer rewound below ``start``) is not applied, so the caller reads again from
        the height returned.
        """
        with self._writing() as db:
            synced = self._meta(db, "synced_block")
            if synced >= end or synced < start - 1:
                return synced
            if synced >= start:
                events = [e for e in events if e.block > synced]
                hashes = {n: h for n, h in hashes.items() if n > synced}
            state = _State(db, journal_above)
            state.prefetch(events)
            for event in events:
                state.block = event.block
                _apply(state, event)
            state.write()
            if hashes:
                rows = [{"number": n, "hash": h} for n, h in sorted(hashes.items())]
                db.execute(insert(blocks), rows)
            keep_from = end - self.reorg_depth
            db.execute(delete(blocks).where(blocks.c.number < keep_from))
            db.execute(delete(journal).where(journal.c.block < keep_from))
            floor = self._meta(db, "journal_floor")
            new_floor = max(floor, keep_from - 1, min(end, journal_above))
            if new_floor != floor:
                self._set_meta(db, "journal_floor", new_floor)
            self._set_meta(db, "synced_block", end)
            if end_time is not None:
                self._set_meta(db, "synced_time", end_time)
        return end

    # ------------------------------------------------------------------ reads

    def search(
        self,
        query: str | Query | None = None,
        *,
        exact_total: bool = False,
        count_limit: int = COUNT_LIMIT,
        **kwargs: Any,
    ) -> SearchResult:
        """Run a query (a string, a Query, and/or keyword arguments) over the index in SQL.

        Same query, same page as ``GPUHubClient.search``; see ``gpuhub.search`` for the
        grammar. When the page is full, the matches after it are counted up to ``count_limit``
        of them: ``result.total`` is exact if no more match (``result.total_exact``), else a
        lower bound (the page's end + ``count_limit`` + 1). ``exact_total=True`` counts every
        match (as ``GPUHubClient.search`` does), which costs a scan of all of them: about 6 ms
        for 75,000 matches.

        Raises:
            QueryError: the query does not parse; ``position`` says where.
        """
        if isinstance(count_limit, bool) or not isinstance(count_limit, int) or count_limit < 0:
            raise ValidationError(
                "count_limit", f"expected a whole number >= 0, got {count_limit!r}"
            )
        parsed = Query.of(query, **kwargs)
        with _snapshot(self._engine) as db:
            narrowing = _sql.narrowing(db, parsed.filters(), self._narrowing_statement)
            statements = self._statements(parsed, narrowing, None if exact_total else count_limit)
            page = statements.page
            rows = db.exec_driver_sql(page.sql, page.params).all()
            total = _total_from_page(parsed, len(rows))
            exact = True
            if total is None:
                count = statements.capped_count or statements.count
                total = int(db.exec_driver_sql(count.sql, count.params).scalar_one())
                if statements.capped_count is not None:
                    exact = total <= parsed.offset + (parsed.limit or 0) + count_limit
        found: list[Listing] = []
        reputations: dict[str, Reputation] = {}
        for row in rows:
            item = _listing(row)
            found.append(item)
            if item.provider not in reputations:
                reputations[item.provider] = _joined_reputation(item.provider, row)
        return SearchResult(
            listings=found,
            total=total,
            reputations=reputations,
            query=parsed,
            total_exact=exact,
        )

    def _reputations(self, db: Connection, addresses: Iterable[str]) -> dict[str, Reputation]:
        wanted = {address.lower(): address for address in addresses}
        found = {address: _reputation(address, None) for address in wanted.values()}
        keys = list(wanted)
        for at in range(0, len(keys), _CHUNK):
            chunk = keys[at : at + _CHUNK]
            for row in db.execute(select(accounts).where(accounts.c.address.in_(chunk))).mappings():
                address = wanted[row["address"]]
                found[address] = _reputation(address, row)
        return found

    def list_listings(self) -> list[Listing]:
        """Every indexed listing, in id order, whatever its status."""
        statement = _sql.compile_statement(
            self._engine.dialect, select(*_sql.LISTING_COLUMNS).order_by(listings.c.id)
        )
        with self._engine.connect() as db:
            rows = db.exec_driver_sql(statement.sql, statement.params)
            return [_listing(row) for row in rows]

    def list_rentals(self) -> list[Rental]:
        """Every indexed rental, in id order."""
        with self._engine.connect() as db:
            rows = db.execute(select(rentals).order_by(rentals.c.id)).mappings()
            return [_rental(row) for row in rows]

    def reputation(self, address: str) -> Reputation:
        """What the contract counts about ``address``, as the index has it (zeros if unknown)."""
        with self._engine.connect() as db:
            return self._reputations(db, [_checksum(address.lower())])[_checksum(address.lower())]

    def list_ratings(self, *, ratee: str | None = None, rater: str | None = None) -> list[Rating]:
        """Every indexed rating (with its comment), oldest first; only those of ``ratee`` and/or
        by ``rater`` when given."""
        statement = select(ratings).order_by(ratings.c.block, ratings.c.rental_id, ratings.c.role)
        if ratee is not None:
            statement = statement.where(ratings.c.ratee == _checksum(ratee.lower()))
        if rater is not None:
            statement = statement.where(ratings.c.rater == _checksum(rater.lower()))
        with self._engine.connect() as db:
            return [_rating(row) for row in db.execute(statement).mappings()]

    def get_listing(self, listing_id: int) -> Listing | None:
        """The listing with this id as the index holds it, or None if it holds none (an id the
        chain has not given yet, or one created after ``synced_block``)."""
        if not 0 <= listing_id <= MAX_INTEGER:  # past what the database's integers hold
            return None
        statement = self._by_id(listing_id)
        with self._engine.connect() as db:
            row = db.exec_driver_sql(statement.sql, statement.params).first()
        return None if row is None else _listing(row)

    @functools.cached_property
    def _by_id(self) -> Callable[[int], _sql.Compiled]:
        query = select(*_sql.LISTING_COLUMNS).where(listings.c.id == bindparam("id"))
        compiled = _sql.compile_statement(self._engine.dialect, query)
        positional = isinstance(compiled.params, tuple)
        return lambda listing_id: _sql.Compiled(
            compiled.sql, (listing_id,) if positional else {"id": listing_id}
        )

    def listing_count(self) -> int:
        """How many listings the chain had created by ``synced_block`` (ids run from 0)."""
        with self._engine.connect() as db:
            highest = db.execute(select(func.max(listings.c.id))).scalar_one()
        return 0 if highest is None else int(highest) + 1

    def iter_search(
        self, query: str | Query | None = None, *, chunk: int = 1000, **kwargs: Any
    ) -> Iterator[list[Listing]]:
        """Every listing a query finds (its ``limit`` and ``offset`` apply), in its order, as
        lists of up to ``chunk``: read from one snapshot of the index with the database's
        cursor, so 100,000 listings never sit in memory at once."""
        parsed = Query.of(query, **kwargs)
        with _snapshot(self._engine) as db:
            narrowing = _sql.narrowing(db, parsed.filters(), self._narrowing_statement)
            page = self._statements(parsed, narrowing).page
            streaming = db.execution_options(stream_results=True, yield_per=chunk)
            result = streaming.exec_driver_sql(page.sql, page.params)
            while rows := result.fetchmany(chunk):
                yield [_listing(row) for row in rows]

    def rentals(
        self,
        *,
        renter: str | None = None,
        provider: str | None = None,
        active_only: bool = False,
    ) -> list[Rental]:
        """Indexed rentals in id order, optionally of one renter and/or provider, or only the
        active ones (as ``GPUHubClient.rentals``)."""
        statement = select(rentals).order_by(rentals.c.id)
        if renter is not None:
            statement = statement.where(rentals.c.renter == _checksum(renter.lower()))
        if provider is not None:
            statement = statement.where(rentals.c.provider == _checksum(provider.lower()))
        if active_only:
            statement = statement.where(rentals.c.status == int(RentalStatus.ACTIVE))
        with self._engine.connect() as db:
            return [_rental(row) for row in db.execute(statement).mappings()]

    def get_rental(self, rental_id: int) -> Rental | None:
        """The rental with this id as the index holds it, or None."""
        if not 0 <= rental_id <= MAX_INTEGER:  # past what the database's integers hold
            return None
        with self._engine.connect() as db:
            row = db.execute(select(rentals).where(rentals.c.id == rental_id)).mappings().first()
        return None if row is None else _rental(row)


def _release_free_memory() -> None:
    """Collect the catch-up's garbage (its decoded logs leave reference cycles, about 16 MB per
    20,000 events, that the collector would reach only much later) and hand the C heap's free
    pages back to the system (glibc's ``malloc_trim``; elsewhere nothing): after a large
    catch-up they would otherwise stay in the process for good."""
    import ctypes
    import ctypes.util

    gc.collect()

    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


def _begin_immediate(db: Connection) -> None:
    """Begin a SQLite transaction that holds the write lock from its start, waiting for another
    writer (each try waits the connection's ``busy_timeout``) up to :data:`WRITE_LOCK_TIMEOUT`."""
    deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
    while True:
        try:
            db.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as err:
            if "locked" not in str(err) or time.monotonic() >= deadline:
                raise
            db.rollback()


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose statements all read the index as it was at the first of them.

    A search is several statements (the names, the page, the count); a sync may commit
    between them, and each would otherwise read its own moment.
    """
    with engine.connect() as db:
        if db.dialect.name == "sqlite":
            # The driver begins transactions only before writes; the rollback when the
            # connection goes back to the pool ends this one.
            db.exec_driver_sql("BEGIN")
        else:
            db = db.execution_options(isolation_level="REPEATABLE READ")
        yield db


class Follower:
    """A thread that keeps an index in sync until ``stop()``: after each new block ``heads``
    announces (:class:`gpuhub.heads.Heads`), else every ``interval`` seconds.

    ``error`` holds the last exception a sync raised (the thread keeps going and retries);
    ``synced_block`` and ``synced_at`` say how far it got and when; :meth:`wait_for` waits for a
    block (a server's read-your-writes).
    """

    def __init__(self, index: MarketIndex, interval: float, heads: Heads | None = None) -> None:
        self._index = index
        self._interval = interval
        self._heads = heads
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._synced = threading.Condition()
        self.error: BaseException | None = None
        #: Unix time of ``error``.
        self.error_at: float | None = None
        #: the last block the index holds, as of the last sync.
        self.synced_block = index.synced_block
        #: Unix time of the last sync that succeeded (None before the first).
        self.synced_at: float | None = None
        if heads is not None:
            heads.subscribe(lambda _number: self._wake.set())
        self._thread = threading.Thread(target=self._run, name="gpuhub-index-follow", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delays = backoff_delays(0.1, self._interval if self._heads is None else RECHECK_EVERY)
        while not self._stop.is_set():
            self._wake.clear()
            timeout = self._interval if self._heads is None else RECHECK_EVERY
            try:
                synced = self._index.sync()
            except Exception as err:  # keep following; the caller reads .error
                self.error, self.error_at = err, time.time()
                timeout = min(timeout, next(delays))
            else:
                self.error = None
                delays = backoff_delays(0.1, timeout)
                with self._synced:
                    self.synced_block, self.synced_at = synced, time.time()
                    self._synced.notify_all()
            self._wake.wait(timeout)

    def wait_for(self, block: int, timeout: float) -> bool:
        """Sync now if the index is below ``block``, and wait until it holds ``block`` (at most
        ``timeout`` seconds). True when it does."""
        deadline = time.monotonic() + timeout
        with self._synced:
            while self.synced_block < block:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.running:
                    return False
                self._wake.set()
                self._synced.wait(remaining)
        return True

    @property
    def running(self) -> bool:
        """True until the thread has stopped."""
        return self._thread.is_alive()

    def stop(self, timeout: float | None = None) -> None:
        """Stop following and wait for the thread (at most ``timeout`` seconds)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------- applying events


class _State:
    """The rows one range touches: loaded once, changed in memory, written back at its end."""

    def __init__(self, db: Connection, journal_above: int) -> None:
        self.db = db
        self.journal_above = journal_above
        self.block = 0
        self.rows: dict[tuple[str, Any], dict[str, Any] | None] = {}
        self.touched: dict[tuple[str, Any], None] = {}
        self.journaled: set[tuple[int, str, Any]] = set()
        self.journal: list[dict[str, Any]] = []
        self.names: set[str] = set()
        self.providers: set[str] = set()
        #: the key of each listing's current version (None: it has none yet).
        self.current_versions: dict[int, int | None] = {}

    def prefetch(self, events: Iterable[_Event]) -> None:
        listing_ids: set[int] = set()
        rental_ids: set[int] = set()
        for event in events:
            if "listingId" in event.args:
                listing_ids.add(event.args["listingId"])
            if "rentalId" in event.args:
                rental_ids.add(event.args["rentalId"])
        self._load("listing", listing_ids)
        self._load("rental", rental_ids)
        self._load_current_versions(listing_ids)

    def current_version(self, listing_id: int) -> dict[str, Any] | None:
        """The listing's version that is still current, if it has one."""
        if listing_id not in self.current_versions:
            self._load_current_versions([listing_id])
        key = self.current_versions[listing_id]
        return None if key is None else self.get("version", key)

    def _load_current_versions(self, listing_ids: Iterable[int]) -> None:
        wanted = [i for i in listing_ids if i not in self.current_versions]
        for listing_id in wanted:
            self.current_versions[listing_id] = None
        v = listing_versions.c
        for at in range(0, len(wanted), _CHUNK):
            chunk = wanted[at : at + _CHUNK]
            query = select(listing_versions).where(v.listing_id.in_(chunk), v.end == OPEN_END)
            for row in self.db.execute(query).mappings():
                self.rows[("version", row["id"])] = dict(row)
                self.current_versions[row["listing_id"]] = row["id"]

    def _load(self, name: str, keys: Iterable[Any]) -> None:
        table, key_column = STATE_TABLES[name]
        wanted = [k for k in keys if (name, k) not in self.rows]
        for k in wanted:
            self.rows[(name, k)] = None
        column = table.c[key_column]
        for at in range(0, len(wanted), _CHUNK):
            chunk = wanted[at : at + _CHUNK]
            for row in self.db.execute(select(table).where(column.in_(chunk))).mappings():
                self.rows[(name, row[key_column])] = dict(row)

    def get(self, name: str, key: Any) -> dict[str, Any] | None:
        if (name, key) not in self.rows:
            self._load(name, [key])
        return self.rows[(name, key)]

    def put(self, name: str, key: Any, row: dict[str, Any]) -> None:
        mark = (self.block, name, key)
        if self.block > self.journal_above and mark not in self.journaled:
            self.journaled.add(mark)
            before = self.get(name, key)
            self.journal.append(
                {
                    "block": self.block,
                    "tbl": name,
                    "key": str(key),
                    "before": None if before is None else json.dumps(before),
                }
            )
        self.rows[(name, key)] = row
        self.touched[(name, key)] = None

    def write(self) -> None:
        by_table: dict[str, list[Any]] = {}
        for name, key in self.touched:
            by_table.setdefault(name, []).append(key)
        for name, keys in by_table.items():
            table, key_column = STATE_TABLES[name]
            for at in range(0, len(keys), _CHUNK):
                self.db.execute(
                    delete(table).where(table.c[key_column].in_(keys[at : at + _CHUNK]))
                )
            fresh = [row for k in keys if (row := self.rows[(name, k)]) is not None]
            if fresh:
                self.db.execute(insert(table), fresh)
        if self.journal:
            self.db.execute(insert(journal), self.journal)
        accounts_changed = [self.rows[("account", k)] for n, k in self.touched if n == "account"]
        _copy_reputations(self.db, [a for a in accounts_changed if a is not None])
        self._add_new(models.c.folded, self.names)
        self._add_new(providers.c.address, self.providers)

    def _add_new(self, column: Any, values: set[str]) -> None:
        wanted = sorted(values)
        for at in range(0, len(wanted), _CHUNK):
            chunk = wanted[at : at + _CHUNK]
            known = set(self.db.execute(select(column).where(column.in_(chunk))).scalars())
            fresh = [{column.name: v} for v in chunk if v not in known]
            if fresh:
                self.db.execute(insert(column.table), fresh)


def _undo(db: Connection, fork: int) -> None:
    """Put back every row as it was at the end of block ``fork``."""
    entries = db.execute(
        select(journal.c.tbl, journal.c.key, journal.c.before)
        .where(journal.c.block > fork)
        .order_by(journal.c.seq.desc())
    )
    for name, key, before in entries.all():
        table, key_column = STATE_TABLES[name]
        typed_key: Any = key if key_column in TEXT_KEYS else int(key)
        db.execute(delete(table).where(table.c[key_column] == typed_key))
        if before is not None:
            db.execute(insert(table), [json.loads(before)])
    db.execute(delete(journal).where(journal.c.block > fork))
    _copy_reputations(db, [dict(row) for row in db.execute(select(accounts)).mappings()])


def _copy_reputations(db: Connection, changed: list[dict[str, Any]]) -> None:
    """Copy each changed account's provider reputation onto its listings."""
    if not changed:
        return
    db.execute(
        update(listings)
        .where(listings.c.provider_key == bindparam("key"))
        .values(
            rating_count=bindparam("count"),
            rating_weight=bindparam("weight"),
            rating_weighted_sum=bindparam("weighted"),
            completed=bindparam("done"),
            terminations=bindparam("cut"),
        ),
        [
            {
                "key": a["address"],
                "count": a["provider_rating_count"],
                "weight": a["provider_rating_weight"],
                "weighted": a["provider_rating_weighted_sum"],
                "done": a["completed_as_provider"],
                "cut": a["terminations"],
            }
            for a in changed
        ],
    )


def _apply(state: _State, event: _Event) -> None:
    args = event.args
    name = event.name
    if name in ("ListingCreated", "ListingUpdated"):
        listing_id = args["listingId"]
        old = state.get("listing", listing_id)
        status = ListingStatus.AVAILABLE if old is None else old["status"]
        account = state.get("account", args["provider"].lower())
        row = _listing_row(args, int(status), account)
        state.put("listing", listing_id, row)
        state.names.add(row["model_folded"])
        state.providers.add(row["provider_key"])
        # A rented listing is AVAILABLE on its provider's side (renting needs it, and only
        # ending the rental changes it); versions keep that side (see _schema.listing_versions).
        side = ListingStatus.AVAILABLE if status == ListingStatus.RENTED else status
        _add_version(state, event, listing_id, _terms(args), int(side))
    elif name == "ListingStatusChanged":
        _set_listing_status(state, args["listingId"], args["status"])
        current = state.current_version(args["listingId"])
        if current is not None:
            _add_version(state, event, args["listingId"], current, int(args["status"]))
    elif name == "RentalStarted":
        listing = state.get("listing", args["listingId"])
        if listing is None:
            return
        version = state.current_version(args["listingId"])
        state.put(
            "rental",
            args["rentalId"],
            {
                "id": args["rentalId"],
                "listing_id": args["listingId"],
                "renter": args["renter"],
                "provider": _checksum(listing["provider_key"]),
                "start": args["start"],
                "end": args["end"],
                "price": wei(args["price"]),
                "unit": args["unit"],
                "paid": wei(args["paid"]),
                "fee_bps": args["feeBps"],
                "status": int(RentalStatus.ACTIVE),
                "model": listing["model"] if version is None else version["model"],
                **money("price_per_day", args["price"] * 86400 // PriceUnit(args["unit"]).seconds),
                **money("billed", 0),
                **money("fee", 0),
                **money("refund", 0),
                "ended_at": None,
            },
        )
        _set_listing_status(state, args["listingId"], ListingStatus.RENTED)
    elif name == "RentalExtended":
        rental = state.get("rental", args["rentalId"])
        if rental is not None:
            paid = wei(int(rental["paid"]) + args["cost"])
            state.put("rental", args["rentalId"], {**rental, "end": args["end"], "paid": paid})
    elif name == "RentalEnded":
        rental = state.get("rental", args["rentalId"])
        if rental is None:
            return
        status = args["status"]
        state.put(
            "rental",
            args["rentalId"],
            {
                **rental,
                "end": args["end"],
                "status": status,
                **money("billed", args["used"]),
                **money("fee", args["fee"]),
                **money("refund", args["refund"]),
                "ended_at": event.time,
            },
        )
        _set_listing_status(state, args["listingId"], ListingStatus.AVAILABLE)
        if status == RentalStatus.ENDED_BY_PROVIDER:
            _count(state, rental["provider"], terminations=1)
        else:
            _count(state, rental["renter"], completed_as_renter=1)
            _count(state, rental["provider"], completed_as_provider=1)
    elif name == "Rated":
        role = Role(args["role"])
        rated = state.get("rental", args["rentalId"])
        state.put(
            "rating",
            args["rentalId"] * 2 + role,
            {
                "id": args["rentalId"] * 2 + role,
                "rental_id": args["rentalId"],
                "rater": args["rater"],
                "ratee": args["ratee"],
                "role": int(role),
                "score": args["score"],
                "billed": wei(args["billed"]),
                "comment": args["comment"],
                "block": event.block,
                "time": event.time,
                "model": "" if rated is None else rated["model"],
                "weight": args["billed"] // RATING_WEIGHT_UNIT,
            },
        )
        side = "provider" if role is Role.PROVIDER else "renter"
        weight = args["billed"] // RATING_WEIGHT_UNIT
        if role is Role.PROVIDER and rated is not None:
            model = rated["model"]
            total = state.get("model_rating", model) or {
                "model": model,
                "ratings": 0,
                "weighted_sum": 0,
                "weight": 0,
            }
            state.put(
                "model_rating",
                model,
                {
                    "model": model,
                    "ratings": total["ratings"] + 1,
                    "weighted_sum": total["weighted_sum"] + args["score"] * weight,
                    "weight": total["weight"] + weight,
                },
            )
        _count(
            state,
            args["ratee"],
            **{
                f"{side}_rating_count": 1,
                f"{side}_rating_sum": args["score"],
                f"{side}_rating_weight": weight,
                f"{side}_rating_weighted_sum": args["score"] * weight,
            },
        )


_ACCOUNT_COUNTERS = (
    "provider_rating_count",
    "provider_rating_sum",
    "renter_rating_count",
    "renter_rating_sum",
    "completed_as_provider",
    "completed_as_renter",
    "terminations",
    "provider_rating_weight",
    "provider_rating_weighted_sum",
    "renter_rating_weight",
    "renter_rating_weighted_sum",
)


def _count(state: _State, address: str, **added: int) -> None:
    key = address.lower()
    account = state.get("account", key) or {"address": key, **dict.fromkeys(_ACCOUNT_COUNTERS, 0)}
    state.put("account", key, {**account, **{k: account[k] + v for k, v in added.items()}})


def _set_listing_status(state: _State, listing_id: int, status: int) -> None:
    listing = state.get("listing", listing_id)
    if listing is not None:
        state.put("listing", listing_id, {**listing, "status": int(status)})


_TERMS = (
    "provider",
    "model",
    "capacity",
    "unit",
    "price_per_day_2",
    "price_per_day_1",
    "price_per_day_0",
)


def _terms(args: Mapping[str, Any]) -> dict[str, Any]:
    """A listing's terms as a ListingCreated or ListingUpdated event gives them."""
    unit = PriceUnit(args["unit"])
    return {
        "provider": args["provider"],
        "model": args["gpuModel"],
        "capacity": args["capacity"],
        "unit": int(unit),
        **money("price_per_day", args["price"] * 86400 // unit.seconds),
    }


def _add_version(
    state: _State, event: _Event, listing_id: int, terms: Mapping[str, Any], status: int
) -> None:
    """End the listing's current version at ``event`` and start one with these terms."""
    current = state.current_version(listing_id)
    if current is not None:
        state.put("version", current["id"], {**current, "end": event.time})
    key = event.position
    row = {k: terms[k] for k in _TERMS}
    state.put(
        "version",
        key,
        {
            "id": key,
            "listing_id": listing_id,
            **row,
            "status": status,
            "start": event.time,
            "end": OPEN_END,
        },
    )
    state.current_versions[listing_id] = key


def _listing_row(
    args: Mapping[str, Any], status: int, account: Mapping[str, Any] | None
) -> dict[str, Any]:
    unit = PriceUnit(args["unit"])
    model: str = args["gpuModel"]
    return {
        "id": args["listingId"],
        "provider_key": args["provider"].lower(),
        "model": model,
        "model_folded": model.casefold(),
        "capacity": args["capacity"],
        "price": wei(args["price"]),
        "unit": int(unit),
        "price_per_day": wei(args["price"] * 86400 // unit.seconds),
        "min_duration": args["minDuration"],
        "max_duration": args["maxDuration"],
        "min_seconds": args["minDuration"] * unit.seconds,
        "max_seconds": args["maxDuration"] * unit.seconds,
        "status": status,
        "rating_count": account["provider_rating_count"] if account else 0,
        "rating_weight": account["provider_rating_weight"] if account else 0,
        "rating_weighted_sum": account["provider_rating_weighted_sum"] if account else 0,
        "completed": account["completed_as_provider"] if account else 0,
        "terminations": account["terminations"] if account else 0,
    }


_UNITS = {int(unit): unit for unit in PriceUnit}
_STATUSES = {int(status): status for status in ListingStatus}


def _listing(row: Any) -> Listing:
    """The listing a row that starts with ``_sql.LISTING_COLUMNS`` holds."""
    listing_id, provider, model, capacity, price, unit, min_duration, max_duration, status = row[
        : len(_sql.LISTING_COLUMNS)
    ]
    return Listing(
        listing_id=listing_id,
        provider=_checksum(provider),
        gpu_model=model,
        capacity=capacity,
        price=from_wei(price),
        unit=_UNITS[unit],
        min_duration=min_duration,
        max_duration=max_duration,
        status=_STATUSES[status],
    )


def _total_from_page(query: Query, found: int) -> int | None:
    """How many listings match in all, when the page's size tells (None: count them)."""
    if query.limit is not None and found >= query.limit:
        return None  # a full page: there may be more
    if found == 0 and query.offset > 0:
        return None  # past the end, or fewer than the offset match
    return query.offset + found


_ACCOUNT_NAMES = [column.name for column in _sql.ACCOUNT_COLUMNS]


def _joined_reputation(address: str, row: Any) -> Reputation:
    """The reputation a search row carries from its join on the provider's account."""
    values = row[len(_sql.LISTING_COLUMNS) :]
    if values[0] is None:  # no account: nothing counted yet
        return _reputation(address, None)
    return Reputation(address=address, **dict(zip(_ACCOUNT_NAMES, values, strict=True)))


def _reputation(address: str, row: Any) -> Reputation:
    counts = dict.fromkeys(_ACCOUNT_COUNTERS, 0) if row is None else row
    return Reputation(address=address, **{k: int(counts[k]) for k in _ACCOUNT_COUNTERS})


def _rating(row: Any) -> Rating:
    return Rating(
        rental_id=row["rental_id"],
        rater=row["rater"],
        ratee=row["ratee"],
        role=Role(row["role"]),
        score=row["score"],
        billed=int(row["billed"]),
        comment=row["comment"],
        block_number=row["block"],
    )


def _rental(row: Any) -> Rental:
    return Rental(
        rental_id=row["id"],
        listing_id=row["listing_id"],
        renter=row["renter"],
        provider=row["provider"],
        start=row["start"],
        end=row["end"],
        price=int(row["price"]),
        unit=PriceUnit(row["unit"]),
        paid=int(row["paid"]),
        fee_bps=row["fee_bps"],
        status=RentalStatus(row["status"]),
    )


# ---------------------------------------------------------------------- decoding logs


def _decode(log: _Log) -> _Event | None:
    """The applied event a log holds, its arguments by their Solidity names; None for others."""
    found = default_decoder().args(log.topics, log.data)
    if found is None or found[0] not in _APPLIED:
        return None
    name, args = found
    return _Event(name, log.block, args, log.time or 0, log.log_index)


@functools.lru_cache(maxsize=65536)
def _checksum(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


def _too_large(err: RequestRejected) -> bool:
    return any(word in str(err).lower() for word in _RANGE_REFUSALS)


def _eth_tester(w3: Any) -> Any:
    from ..chain import _eth_tester as tester

    return tester(w3)
