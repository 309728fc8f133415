"""The index's tables (SQLAlchemy Core), its schema version, and the engine it opens.

Wei amounts are stored as zero-padded 78-digit decimal strings (78 digits hold any uint256).
Strings of one width sort and compare like the numbers they hold on every database, so one
representation keeps prices exact on SQLite, whose INTEGER stops at 2**63 - 1 (about 9.2 ETH)
and which has no exact wide numeric type, and on PostgreSQL alike, with the same SQL and the
same order; NUMERIC(78,0) would be exact on PostgreSQL only.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    cast,
    create_engine,
    event,
    literal_column,
)
from sqlalchemy.sql.elements import Grouping

from ..models import PRIOR_MEAN, PRIOR_WEIGHT

#: bump when the tables change; an index built by another version must be rebuilt.
SCHEMA_VERSION = 5
WEI_DIGITS = 78
#: the ``end`` of a listing version that is still current (later than any block time).
OPEN_END = 2**62
#: the largest integer SQLite's INTEGER and PostgreSQL's BIGINT hold (LIMIT and OFFSET too).
MAX_INTEGER = 2**63 - 1

metadata = MetaData()


def _wei_column(name: str) -> Column[str]:
    return Column(name, String(WEI_DIGITS), nullable=False)


# Sorting by model must follow code points on both databases, as Python's sort does.
_MODEL = String(256).with_variant(String(256, collation="C"), "postgresql")

meta = Table(
    "gpuhub_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

blocks = Table(
    "gpuhub_blocks",
    metadata,
    Column("number", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(66), nullable=False),
)

journal = Table(
    "gpuhub_journal",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("block", BigInteger, nullable=False, index=True),
    Column("tbl", String(16), nullable=False),
    Column("key", String(80), nullable=False),
    Column("before", Text, nullable=True),
)

# On SQLite the id is the rowid ("INTEGER PRIMARY KEY"), which every index entry carries, so a
# search can sort and page on an index alone and read only the rows of the page.
_ID = BigInteger().with_variant(Integer(), "sqlite")

listings = Table(
    "gpuhub_listings",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=False),
    Column("provider", String(42), nullable=False),
    Column("provider_key", String(42), nullable=False),
    Column("model", _MODEL, nullable=False),
    Column("model_folded", String(256), nullable=False),
    Column("capacity", Integer, nullable=False),
    _wei_column("price"),
    Column("unit", SmallInteger, nullable=False),
    # price * 86400 / unit seconds: a whole number of wei per day for every unit, so prices
    # per hour compare exactly as price_per_day / 24.
    _wei_column("price_per_day"),
    Column("min_duration", Integer, nullable=False),
    Column("max_duration", Integer, nullable=False),
    Column("min_seconds", BigInteger, nullable=False),
    Column("max_seconds", BigInteger, nullable=False),
    Column("status", SmallInteger, nullable=False),
    # The provider's reputation, copied from gpuhub_accounts whenever it changes, so searches on
    # it read one table. Weights are in RATING_WEIGHT_UNIT wei: the contract keeps them below
    # 2**48 and weighted sums below 2**51, so they fit BIGINT and convert to floats exactly.
    Column("rating_count", BigInteger, nullable=False),
    Column("rating_weight", BigInteger, nullable=False),
    Column("rating_weighted_sum", BigInteger, nullable=False),
    Column("completed", BigInteger, nullable=False),
    Column("terminations", BigInteger, nullable=False),
)

# Indexes for the common searches (status=available is the default filter). A search is two
# statements, the page and (when the page is full) the count, and both should read an index
# alone: the columns after the ones a search seeks on are there so the other terms of a
# typical query are checked in the index entry, without reading the row.
Index("gpuhub_listings_status_price", listings.c.status, listings.c.price_per_day)
# sort=-capacity,price_per_hour: the biggest GPUs first, cheapest first among equals.
Index(
    "gpuhub_listings_status_capacity",
    listings.c.status,
    listings.c.capacity.desc(),
    listings.c.price_per_day,
)
# model~... narrowed by price, capacity, unit, duration or rating, in price order.
Index(
    "gpuhub_listings_model",
    listings.c.model_folded,
    listings.c.status,
    listings.c.price_per_day,
    listings.c.capacity,
    listings.c.unit,
    listings.c.max_seconds,
    listings.c.rating_weighted_sum,
    listings.c.rating_weight,
)
# model~... unit=... max_hours>=..., in any order (rating's included).
Index(
    "gpuhub_listings_model_unit",
    listings.c.model_folded,
    listings.c.status,
    listings.c.unit,
    listings.c.max_seconds,
    listings.c.rating_weighted_sum,
    listings.c.rating_weight,
)
Index("gpuhub_listings_provider", listings.c.provider_key, listings.c.status)

# The score's prior as whole numbers written into the SQL (not bound parameters), so the
# searches' ORDER BY, their filters and the index below are one expression the database can
# match.
_prior_total = Fraction(PRIOR_WEIGHT) * Fraction(PRIOR_MEAN)
assert _prior_total.denominator == 1
PRIOR_WEIGHT_SQL: Any = literal_column(str(PRIOR_WEIGHT))
PRIOR_TOTAL_SQL: Any = literal_column(str(_prior_total.numerator))


def rating_score(weighted_sum: Any, weight: Any) -> Any:
    """The provider score in SQL: the whole numbers summed exactly, then one division of
    doubles, which is what ``Reputation.provider_score()`` computes in Python."""
    return cast(weighted_sum + PRIOR_TOTAL_SQL, Float) / cast(weight + PRIOR_WEIGHT_SQL, Float)


#: a listing's provider rating (the billed-weighted score), as searches sort and filter by it.
RATING_SCORE: Any = rating_score(listings.c.rating_weighted_sum, listings.c.rating_weight)
# sort=-rating: the best-rated providers first, ties by id. (PostgreSQL wants an expression in an
# index in parentheses.)
Index(
    "gpuhub_listings_status_rating",
    listings.c.status,
    Grouping(RATING_SCORE).desc(),
    listings.c.id,
)

# Every model name and provider ever listed, so a substring match (model~4090) scans these few
# distinct values and then reads the listings through an index, instead of scanning every
# listing. Only added to: a name left over after a reorg matches no listing.
models = Table(
    "gpuhub_models",
    metadata,
    Column("folded", String(256), primary_key=True),
)
providers = Table(
    "gpuhub_providers",
    metadata,
    Column("address", String(42), primary_key=True),  # lower-case hex
)

#: amounts the analytics add up and rank are kept as three whole numbers, ``name_2``,
#: ``name_1`` and ``name_0``, of base MONEY_BASE: small integers that every database stores in
#: a few bytes, sums exactly (each part's sum fits a 64-bit integer for up to 9 million rows)
#: and orders as the amount. Three parts hold amounts below 10**36 wei; the contract's own
#: bounds keep every price below 2**96 per unit (below 1.2e32 wei per day) and every escrow
#: below 2**96.
MONEY_BASE = 10**12
MONEY_LIMIT = MONEY_BASE**3


def money_columns(name: str) -> list[Column[int]]:
    """The three columns of the amount ``name``, most significant first."""
    return [Column(f"{name}_{part}", BigInteger, nullable=False) for part in (2, 1, 0)]


def money(name: str, value: int) -> dict[str, int]:
    """``value`` as the three column values of the amount ``name``."""
    if not 0 <= value < MONEY_LIMIT:
        raise ValueError(f"{value} wei is beyond what the contract can hold")
    high, low = divmod(value, MONEY_BASE)
    return {f"{name}_2": high // MONEY_BASE, f"{name}_1": high % MONEY_BASE, f"{name}_0": low}


def money_value(row: Any, name: str) -> int:
    """The amount ``name`` of a row that holds its three columns."""
    return int((row[f"{name}_2"] * MONEY_BASE + row[f"{name}_1"]) * MONEY_BASE + row[f"{name}_0"])


def money_parts(table: Table, name: str) -> list[Any]:
    """The three columns of ``table``'s amount ``name``, most significant first."""
    return [table.c[f"{name}_{part}"] for part in (2, 1, 0)]


rentals = Table(
    "gpuhub_rentals",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("listing_id", BigInteger, nullable=False, index=True),
    Column("renter", String(42), nullable=False, index=True),
    Column("provider", String(42), nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
    _wei_column("price"),
    Column("unit", SmallInteger, nullable=False),
    _wei_column("paid"),
    Column("fee_bps", Integer, nullable=False),
    Column("status", SmallInteger, nullable=False),
    # History for analytics: the listing's model when the rental started, its price per day,
    # and how its escrow was split when it ended (zeros, and no ended_at, while it runs).
    Column("model", _MODEL, nullable=False),
    *money_columns("price_per_day"),
    *money_columns("billed"),
    *money_columns("fee"),
    *money_columns("refund"),
    #: block time of the RentalEnded event: when the contract credited the parts.
    Column("ended_at", BigInteger, nullable=True),
)
# The analytics read these indexes alone (each holds every column its query needs), never the
# wide rows: rentals running in a window; started in one, with their prices; ended in one (or
# not yet: NULL), with what they billed and their listing; and a provider's, with their split.
Index("gpuhub_rentals_end", rentals.c.end, rentals.c.start, rentals.c.model)
Index(
    "gpuhub_rentals_start",
    rentals.c.start,
    rentals.c.model,
    *money_parts(rentals, "price_per_day"),
)
Index(
    "gpuhub_rentals_ended_at",
    rentals.c.ended_at,
    rentals.c.model,
    *money_parts(rentals, "billed"),
    rentals.c.start,
    rentals.c.listing_id,
)
Index(
    "gpuhub_rentals_provider",
    rentals.c.provider,
    rentals.c.ended_at,
    *money_parts(rentals, "billed"),
    *money_parts(rentals, "fee"),
    *money_parts(rentals, "refund"),
)

#: every state a listing's provider has put it in: one row per event that set its terms or its
#: status (AVAILABLE, UNAVAILABLE, REMOVED), from that event's block time (``start``) until the
#: next one's (``end``, OPEN_END while current). Rentals are not versions: a listing is RENTED
#: from a rental's ``start`` until its ``ended_at`` (the rentals table says when), and AVAILABLE
#: on its provider's side meanwhile. ``id`` is the event's position on the chain,
#: ``block * 2**24 + log_index``; the price is kept per day (``price_per_day * unit seconds /
#: 86400`` is the listed price, exactly).
listing_versions = Table(
    "gpuhub_listing_versions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("listing_id", BigInteger, nullable=False),
    Column("provider", String(42), nullable=False),
    Column("model", _MODEL, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("unit", SmallInteger, nullable=False),
    *money_columns("price_per_day"),
    Column("status", SmallInteger, nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
)
Index("gpuhub_versions_listing", listing_versions.c.listing_id, listing_versions.c.end)
# The market's state at a moment and the time listed in a window, from this index alone.
Index(
    "gpuhub_versions_end",
    listing_versions.c.end,
    listing_versions.c.start,
    listing_versions.c.status,
    listing_versions.c.model,
    *money_parts(listing_versions, "price_per_day"),
    listing_versions.c.listing_id,
)
Index("gpuhub_versions_provider", listing_versions.c.provider)

#: an account's reputation, as the contract's ``reputation`` view returns it.
accounts = Table(
    "gpuhub_accounts",
    metadata,
    Column("address", String(42), primary_key=True),  # lower-case hex
    Column("provider_rating_count", BigInteger, nullable=False),
    Column("provider_rating_sum", BigInteger, nullable=False),
    Column("renter_rating_count", BigInteger, nullable=False),
    Column("renter_rating_sum", BigInteger, nullable=False),
    Column("completed_as_provider", BigInteger, nullable=False),
    Column("completed_as_renter", BigInteger, nullable=False),
    Column("terminations", BigInteger, nullable=False),
    Column("provider_rating_weight", BigInteger, nullable=False),
    Column("provider_rating_weighted_sum", BigInteger, nullable=False),
    Column("renter_rating_weight", BigInteger, nullable=False),
    Column("renter_rating_weighted_sum", BigInteger, nullable=False),
)

#: every ``Rated`` event; ``id`` is rental id * 2 + role (one rating per side per rental).
ratings = Table(
    "gpuhub_ratings",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("rental_id", BigInteger, nullable=False),
    Column("rater", String(42), nullable=False),
    Column("ratee", String(42), nullable=False, index=True),
    Column("role", SmallInteger, nullable=False),
    Column("score", SmallInteger, nullable=False),
    _wei_column("billed"),
    Column("comment", Text, nullable=False),
    Column("block", BigInteger, nullable=False),
    #: for analytics: the block's time, the rated rental's model, and the rating's weight
    #: (billed // RATING_WEIGHT_UNIT, below 2**48 as the contract checks).
    Column("time", BigInteger, nullable=False),
    Column("model", _MODEL, nullable=False),
    Column("weight", BigInteger, nullable=False),
)
# The ratings of providers before a moment, with what the market statistics take from them.
Index(
    "gpuhub_ratings_role",
    ratings.c.role,
    ratings.c.time,
    ratings.c.model,
    ratings.c.score,
    ratings.c.weight,
)

#: the ratings renters gave providers, summed per GPU model (the rated rental's): what the
#: market statistics read for "now" instead of every rating.
model_ratings = Table(
    "gpuhub_model_ratings",
    metadata,
    Column("model", _MODEL, primary_key=True),
    Column("ratings", BigInteger, nullable=False),
    Column("weighted_sum", BigInteger, nullable=False),
    Column("weight", BigInteger, nullable=False),
)

#: the tables that hold market state, by the name the journal uses, with their key column.
STATE_TABLES: dict[str, tuple[Table, str]] = {
    "listing": (listings, "id"),
    "rental": (rentals, "id"),
    "account": (accounts, "address"),
    "rating": (ratings, "id"),
    "version": (listing_versions, "id"),
    "model_rating": (model_ratings, "model"),
}
#: the key columns that hold text (the journal stores every key as text).
TEXT_KEYS = frozenset({"address", "model"})


def wei(value: int) -> str:
    """An amount of wei as the index stores it."""
    return f"{value:0{WEI_DIGITS}d}"


def open_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files run in WAL mode, so readers never wait for sync."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # First: switching a new file to WAL waits for another process's lock instead of failing.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Searches scan the listings: map the file and keep up to 256 MiB of pages in memory.
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA cache_size=-262144")
    # Sorting a search's matches happens in memory, not in a temporary file.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()
