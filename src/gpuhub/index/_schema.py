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
SCHEMA_VERSION = 4
WEI_DIGITS = 78
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

rentals = Table(
    "gpuhub_rentals",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("listing_id", BigInteger, nullable=False, index=True),
    Column("renter", String(42), nullable=False, index=True),
    Column("provider", String(42), nullable=False, index=True),
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
    _wei_column("price"),
    Column("unit", SmallInteger, nullable=False),
    _wei_column("paid"),
    Column("fee_bps", Integer, nullable=False),
    Column("status", SmallInteger, nullable=False),
)

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
)

#: the tables that hold market state, by the name the journal uses, with their key column.
STATE_TABLES: dict[str, tuple[Table, str]] = {
    "listing": (listings, "id"),
    "rental": (rentals, "id"),
    "account": (accounts, "address"),
    "rating": (ratings, "id"),
}


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
