"""Reads from the server's index: kept in step with the chain, streamed, serialized once.

A server built with a :class:`~gpuhub.index.MarketIndex` answers listings, searches, rentals,
reputations and ratings from it. While the app runs, :class:`IndexReads` keeps the index in sync
after every new block (:class:`~gpuhub.heads.Heads`: a ``newHeads`` subscription, or polls paced
by the block time), and after each write the server makes it waits (at most
``write_timeout``) until the index holds the block the write landed in, so the writer's next
read sees it. Under ``gpuhub serve --workers N`` one process follows the chain into the shared
index and the workers only read it (``follow=False``): after a write, a worker syncs the index
to the head itself (the index's write lock makes that safe beside the follower; blocks another
process applied are skipped). The chain is read only for what the index cannot know:
balances, quotes (the contract prices them at the current time), governance, the live event
stream, a listing or rental the index does not hold yet, and the head block that ``/health``
compares the index with.

Answers are built as plain dicts and encoded once with the standard ``json`` module (FastAPI's
``response_model`` validation and ``jsonable_encoder`` cost more than the search behind them);
the routes still declare their models, so the OpenAPI schema is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from fastapi.responses import Response

from ..exceptions import GPUHubError
from ..models import Listing, PriceUnit, Reputation
from ..search import Query, SortKey, Term

if TYPE_CHECKING:
    from ..client import GPUHubClient
    from ..heads import Heads
    from ..index import Follower, MarketIndex

#: seconds a write waits for the index to hold its block before answering anyway.
WRITE_TIMEOUT = 10.0
#: blocks the index may trail the head (beyond its confirmations) before /health says degraded.
MAX_LAG = 5
#: listings per chunk of a streamed answer.
STREAM_CHUNK = 1000


class IndexReads:
    """The server's index, followed while the app runs, and read-your-writes after writes."""

    def __init__(
        self,
        client: GPUHubClient,
        index: MarketIndex,
        heads: Heads | None,
        *,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self.client = client
        self.index = index
        #: None: another process follows the chain into the index, this one only reads it.
        self.heads = heads
        self.write_timeout = write_timeout
        self.follower: Follower | None = None

    @property
    def follows(self) -> bool:
        """True when this process keeps the index in step with the chain (while the app runs)."""
        return self.heads is not None

    def start(self) -> None:
        """Follow the chain into the index after each new block ``heads`` (started by the
        caller) announces; nothing when another process follows it."""
        if self.heads is not None:
            self.follower = self.index.follow(heads=self.heads)

    def stop(self) -> None:
        """Stop following."""
        if self.follower is not None:
            self.follower.stop(10.0)
            self.follower = None

    def after_write(self) -> None:
        """Wait until the index holds the head (so the write the server just made), at most
        ``write_timeout`` seconds; without a follower (an app not started), sync now."""
        try:
            head = self.client.block_number()
            if self.follower is None:
                self.index.sync(to_block=head)
            else:
                self.follower.wait_for(head, self.write_timeout)
        except GPUHubError:
            pass  # the write itself succeeded; /health reports the index's trouble

    def health(self, head: int) -> dict[str, Any]:
        """How far the index is, against ``head``."""
        follower = self.follower
        synced = self.index.synced_block if follower is None else follower.synced_block
        error = None if follower is None or follower.error is None else follower.error
        lag = max(0, head - synced)
        return {
            "synced_block": synced,
            "lag_blocks": lag,
            "following": follower is not None and follower.running,
            "new_blocks_from": (
                self.heads.mode if self.heads is not None and self.heads.running else None
            ),
            "last_error": None if error is None else type(error).__name__,
            "last_error_at": None if follower is None else follower.error_at,
            "synced_at": None if follower is None else follower.synced_at,
            "behind": lag > self.index.confirmations + MAX_LAG,
        }


# ---------------------------------------------------------------------- queries of the old routes


def legacy_query(
    max_price: int | None,
    min_capacity: int | None,
    *,
    available_only: bool = True,
    price_unit: PriceUnit | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Query:
    """The query ``client.list_gpus`` answers (price at most ``max_price`` per each listing's
    own unit, or per ``price_unit``; capacity at least ``min_capacity``), in id order."""
    terms: list[Term] = []
    if max_price is not None:
        if price_unit is None:
            terms.append(Term("price", "<=", max_price))
        else:  # per hour, exactly: max_price per unit * 3600 / unit seconds
            per_hour = Fraction(max_price * 3600, price_unit.seconds)
            terms.append(Term("price_per_hour", "<=", per_hour))
    if min_capacity is not None:
        terms.append(Term("capacity", ">=", min_capacity))
    if not available_only:
        terms.append(Term("status", "=", None))
    return Query(tuple(terms), (SortKey("id"),), limit, offset)


# ---------------------------------------------------------------------- JSON, encoded once


def encode(value: Any) -> bytes:
    """``value`` as compact JSON bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(value: Any, status_code: int = 200) -> Response:
    """A JSON answer encoded once (no model validation, no ``jsonable_encoder``)."""
    return Response(encode(value), status_code=status_code, media_type="application/json")


def listing_json(x: Listing) -> dict[str, Any]:
    """A listing as ``/v1`` answers it (``ListingOut``): wei as a decimal string."""
    return {
        "listing_id": x.listing_id,
        "provider": x.provider,
        "gpu_model": x.gpu_model,
        "capacity": x.capacity,
        "price": str(x.price),
        "unit": x.unit.name,
        "min_duration": x.min_duration,
        "max_duration": x.max_duration,
        "status": x.status.name,
        "is_available": x.is_available,
    }


def legacy_listing_json(x: Listing) -> dict[str, Any]:
    """A listing as the original routes answer it (``LegacyListing``): camelCase, wei as a
    number."""
    return {
        "listingID": x.listing_id,
        "provider": x.provider,
        "gpuModel": x.gpu_model,
        "capacity": x.capacity,
        "price": x.price,
        "isAvailable": x.is_available,
        "unit": x.unit.name,
        "minDuration": x.min_duration,
        "maxDuration": x.max_duration,
        "status": x.status.name,
    }


def reputation_json(r: Reputation) -> dict[str, Any]:
    """A reputation as the API answers it (``ReputationOut``)."""
    return {
        "address": r.address,
        "provider_rating_count": r.provider_rating_count,
        "provider_rating_sum": r.provider_rating_sum,
        "renter_rating_count": r.renter_rating_count,
        "renter_rating_sum": r.renter_rating_sum,
        "completed_as_provider": r.completed_as_provider,
        "completed_as_renter": r.completed_as_renter,
        "terminations": r.terminations,
        "provider_average": r.provider_average,
        "renter_average": r.renter_average,
        "provider_score": r.provider_score(),
    }


def stream_array(chunks: Iterator[list[Listing]], item: Any) -> Iterator[bytes]:
    """A JSON array of ``item(listing)`` for every listing of ``chunks``, a chunk at a time."""
    yield b"["
    first = True
    for chunk in chunks:
        body = encode([item(x) for x in chunk])[1:-1]
        if not body:
            continue
        yield body if first else b"," + body
        first = False
    yield b"]"
