"""Signed webhooks: Standard Webhooks signing and verification, and a delivery outbox.

**Receivers** check what they get with :func:`verify`::

    from gpuhub.webhooks import verify

    payload = verify(request_body, request_headers, "whsec_...")   # raises WebhookVerificationError
    payload["type"], payload["data"]["args"]

**Senders** keep an :class:`Outbox` (a SQLite file) of endpoints and messages and run a
:class:`WebhookDispatcher`, which follows the chain (``client.watch``), stores one message per
event and endpoint, and delivers them.

Delivery follows the Standard Webhooks specification (https://www.standardwebhooks.com):

- headers ``webhook-id`` (the same on every retry of a message), ``webhook-timestamp`` (Unix
  seconds of the attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of
  "id.timestamp.body">``, one per secret, space-separated, so a secret can be rotated);
- secrets are ``whsec_`` + base64 of 24 random bytes;
- the body is ``{"type", "timestamp", "data"}``: the event's name (``"RentalStarted"``; a
  reorganisation's retraction is ``"RentalStarted.removed"`` with its own id), the ISO 8601 time
  the message was created, and the event as JSON (:meth:`ContractEvent.to_json`).

Guarantees: **at least once, in order per endpoint.** A message is stored before any attempt and
marked delivered only on a 2xx answer; each endpoint's messages go out one at a time, oldest
first, and a failing message holds back the ones after it. Failures (any other status, a
redirect, a timeout, a refused connection, an answer that is not HTTP, a TLS error: anything)
are that message's failure: retried with exponential backoff and jitter (capped at an hour by
default) and recorded: :meth:`Outbox.attempts` and :meth:`Outbox.endpoints` show them. A ``410
Gone`` answer disables the endpoint. The dispatcher stores how far it has read the chain in the
same transaction as the messages, so a restart resumes there and redelivers what was not
acknowledged; a receiver sees a message twice only after an attempt it answered too late (or
whose answer was lost), always with the same ``webhook-id``.

**One receiver cannot hold up another.** Each attempt has one deadline (``Outbox.timeout``,
10 s) for all of it, however slowly the answer trickles in; different endpoints are served in
parallel (``Outbox.concurrency``, 16 requests at most in flight).

**Where deliveries may go.** An endpoint's URL must be http(s) with a host and a valid port,
and its host must be, and resolve only to, public addresses: loopback, link-local, private,
multicast and reserved targets are refused at registration and again at every delivery, and
the connection goes to the very addresses checked (:mod:`gpuhub._webhook_targets`). Redirects
are never followed. ``Outbox(allow_private=True)`` lets deliveries reach private networks.

**Nothing stops the dispatcher but** :meth:`WebhookDispatcher.stop`: a failed read of the chain
is retried with backoff, and a worker that dies anyway is started again;
:meth:`WebhookDispatcher.health` reports it.

The outbox uses the standard library's ``sqlite3``: it is one small queue written by one process,
and ``sqlite3`` adds no dependency to gpuhub's core. Requests go out through aiohttp, which web3
depends on already (:mod:`gpuhub._webhook_http` says why).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime
import functools
import hashlib
import hmac
import json
import os
import random
import secrets as secrets_module
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._webhook_targets import (
    ALLOW_HINT,
    Resolver,
    TargetRefused,
    TargetUnresolvable,
    addresses,
    parse_target,
    system_resolver,
)
from .events import ContractEvent, event_class
from .exceptions import GPUHubError, ValidationError, WebhookVerificationError
from .watch import backoff_delays

if TYPE_CHECKING:
    from .client import GPUHubClient
    from .watch import Watch

__all__ = [
    "DeliveryAttempt",
    "DispatcherHealth",
    "Endpoint",
    "Message",
    "Outbox",
    "WebhookDispatcher",
    "generate_secret",
    "sign",
    "signature_header",
    "verify",
]

SECRET_PREFIX = "whsec_"
#: how far a webhook's timestamp may be from the receiver's clock, in seconds.
DEFAULT_TOLERANCE = 300
#: first and longest wait before retrying a failed delivery, in seconds.
RETRY_FIRST = 1.0
RETRY_MAX = 3600.0
#: deadline of one delivery attempt, in seconds: resolving, connecting, sending, the answer.
DELIVERY_TIMEOUT = 10.0
#: most deliveries in flight at once (each to a different endpoint).
DELIVERY_CONCURRENCY = 16
#: first and longest wait before starting a dead dispatcher worker again, in seconds.
RESTART_FIRST = 0.5
RESTART_MAX = 30.0
#: how long stopping the dispatcher waits for deliveries in flight before abandoning them.
STOP_GRACE = 2.0


# ---------------------------------------------------------------------------- signing


def generate_secret() -> str:
    """A new secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw + "==")
    except (binascii.Error, ValueError):
        raise ValidationError(
            "secret", "must be whsec_ followed by base64 (make one with generate_secret())"
        ) from None
    if not key:
        raise ValidationError("secret", "must not be empty (make one with generate_secret())")
    return key


def _body_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``v1,<base64>`` signature of one message under one secret."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + _body_bytes(body)
    digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` value: one signature per secret (for key rotation)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> Any:
    """Check a received webhook and return its parsed JSON body.

    Args:
        body: the request body exactly as received (bytes, or text).
        headers: the request headers (any case).
        secret: the endpoint's ``whsec_...`` secret, or several while rotating.
        tolerance: most seconds between ``webhook-timestamp`` and ``now``, either way.
        now: the receiver's Unix time (default: the clock).

    Raises:
        WebhookVerificationError: a header is missing or malformed, the timestamp is outside
            the tolerance, or no signature matches (compared in constant time).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a Unix time") from None
    current = int(time.time()) if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("webhook-timestamp is in the future")
    keys = [secret] if isinstance(secret, str) else list(secret)
    expected = [base64.b64decode(sign(k, msg_id, timestamp, body)[3:]) for k in keys]
    for versioned in signatures.split(" "):
        version, _, encoded = versioned.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(hmac.compare_digest(given, e) for e in expected):
            try:
                return json.loads(body)
            except ValueError:
                raise WebhookVerificationError("the signed body is not JSON") from None
    raise WebhookVerificationError("no matching signature")


# ---------------------------------------------------------------------------- outbox


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """A registered receiver. ``secret`` never shows in repr."""

    #: id in the outbox.
    endpoint_id: int
    #: where messages are POSTed.
    url: str
    #: the ``whsec_`` secret messages are signed with.
    secret: str = field(repr=False)
    #: event names delivered; empty for every event.
    event_types: tuple[str, ...]
    #: Unix time it was registered.
    created_at: int
    #: Unix time it was disabled (a 410 answer), or None while enabled.
    disabled_at: int | None
    #: why it was disabled.
    disabled_reason: str | None
    #: messages not delivered yet.
    pending: int
    #: failed attempts of the message at the head of its queue (0 when it is healthy).
    failing_attempts: int
    #: the last failure's description, or None.
    last_error: str | None

    @property
    def enabled(self) -> bool:
        """True until a 410 answer disables it."""
        return self.disabled_at is None

    def wants(self, event: ContractEvent) -> bool:
        """True if this endpoint takes ``event``'s type."""
        return not self.event_types or event.name in self.event_types


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One event to deliver to one endpoint."""

    #: position in the outbox (delivery order).
    seq: int
    endpoint_id: int
    #: the ``webhook-id``: the same on every attempt.
    msg_id: str
    #: the event's name (``.removed`` appended for a retraction).
    type: str
    #: the exact JSON body.
    body: str
    #: attempts made so far.
    attempts: int
    #: Unix time of the next attempt.
    next_attempt_at: float
    #: Unix time it was acknowledged, or None.
    delivered_at: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAttempt:
    """One try at delivering a message."""

    msg_id: str
    endpoint_id: int
    #: Unix time of the attempt.
    at: float
    #: the HTTP status, or None when no answer came (timeout, connection refused).
    status: int | None
    #: what went wrong, or None on success.
    error: str | None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    event_types TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER,
    disabled_reason TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    msg_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    delivered_at REAL,
    UNIQUE (endpoint_id, msg_id)
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (endpoint_id, delivered_at, seq);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    msg_id TEXT NOT NULL,
    at REAL NOT NULL,
    status INTEGER,
    error TEXT
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def message_id(event: ContractEvent) -> str:
    """The ``webhook-id`` of an event: its transaction and log position (a retraction differs)."""
    suffix = "_removed" if event.removed else ""
    return f"msg_{event.tx_hash[2:]}_{event.log_index}{suffix}"


def message_body(event: ContractEvent, created: float) -> str:
    """The JSON body ``{type, timestamp, data}`` of an event's message."""
    moment = datetime.datetime.fromtimestamp(created, tz=datetime.UTC)
    return json.dumps(
        {
            "type": event.name + (".removed" if event.removed else ""),
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "data": event.to_json(),
        },
        separators=(",", ":"),
    )


def _create_private(path: str) -> None:
    """Create ``path`` readable and writable by its owner only, unless it exists already.

    The outbox holds the endpoints' signing secrets, which it needs in full to sign (HMAC is
    symmetric). SQLite gives its ``-wal`` and ``-shm`` files the database file's mode.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one attempt ended."""

    #: the HTTP status, or None when no answer came.
    status: int | None = None
    #: what went wrong, or None on a 2xx answer.
    error: str | None = None
    #: why the endpoint is disabled for good after this attempt, if it is.
    disable: str | None = None


@dataclass(frozen=True, slots=True)
class _Head:
    """An endpoint's oldest undelivered message, with what sending it needs."""

    seq: int
    msg_id: str
    body: str
    attempts: int
    next_attempt_at: float
    url: str
    secret: str


class Outbox:
    """Webhook endpoints and the messages owed to them, in one SQLite file.

    The file holds each endpoint's signing secret, as signing needs it; a new file is created
    with mode 0600 (owner only). See docs/security.md.

    Args:
        path: the SQLite file (created if missing), or ``":memory:"``.
        retry_first: seconds before the first retry; doubles each time, with jitter.
        retry_max: the longest wait between retries.
        timeout: the deadline of one delivery attempt in seconds, from resolving the host to
            the answer's status line and headers, however slowly they come.
        concurrency: most deliveries in flight at once (to different endpoints; one endpoint's
            messages go one at a time, in order).
        allow_private: deliver to loopback, link-local and private addresses too (local
            development, tests, receivers on the operator's own network). Without it such URLs
            are refused at registration and at every delivery. See docs/security.md.
        resolver: ``(host, port) -> addresses``; default ``socket.getaddrinfo``. Every address
            it returns is checked, and deliveries connect to those addresses only.

    Safe to share between threads (one connection behind a lock).
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
        timeout: float = DELIVERY_TIMEOUT,
        concurrency: int = DELIVERY_CONCURRENCY,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.path = str(path)
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.timeout = timeout
        if not (isinstance(concurrency, int) and 1 <= concurrency <= 1024):
            raise ValidationError("concurrency", "must be an integer from 1 to 1024")
        self.concurrency = concurrency
        self.allow_private = allow_private
        self._resolver = resolver
        self._lock = threading.Lock()
        if self.path not in ("", ":memory:") and not self.path.startswith("file:"):
            _create_private(self.path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Outbox({self.path!r})"

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock: committed at the end, rolled back on any error,
        so a failed write never leaves a transaction open for the next one to fall into."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ endpoints

    def check_url(self, url: str) -> None:
        """Check that deliveries can go to ``url``: its syntax, and every address its host
        resolves to under this outbox's rules (see ``allow_private``).

        Raises:
            ValidationError: on ``url``, saying what is wrong and what to do.
        """
        target = parse_target(url)
        try:
            addresses(target, self._resolver, allow_private=self.allow_private)
        except TargetRefused as err:
            raise ValidationError("url", f"{err}{ALLOW_HINT if err.allowable else ''}") from None
        except TargetUnresolvable as err:
            raise ValidationError("url", f"{err}: check the host name") from None

    def add_endpoint(
        self,
        url: str,
        *,
        event_types: Iterable[str | type[ContractEvent]] = (),
        secret: str | None = None,
    ) -> Endpoint:
        """Register a receiver; its secret is generated unless given.

        Raises:
            ValidationError: the URL is malformed, not http(s), or its host is (or resolves to)
                an address deliveries may not reach (see ``allow_private``); an event type is
                unknown; or the secret is not ``whsec_`` + base64.
        """
        self.check_url(url)
        names = sorted({event_class(e).name for e in event_types})
        secret = generate_secret() if secret is None else secret
        _key(secret)
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO endpoints (url, secret, event_types, created_at) VALUES (?, ?, ?, ?)",
                (url, secret, ",".join(names), int(time.time())),
            )
        assert cursor.lastrowid is not None
        return self.get_endpoint(cursor.lastrowid)

    def get_endpoint(self, endpoint_id: int) -> Endpoint:
        """One endpoint with its delivery state.

        Raises:
            ValidationError: no endpoint has this id.
        """
        found = [e for e in self.endpoints() if e.endpoint_id == endpoint_id]
        if not found:
            raise ValidationError("endpoint_id", f"no webhook endpoint {endpoint_id}")
        return found[0]

    def endpoints(self) -> list[Endpoint]:
        """Every endpoint, with how many messages wait and the current failure, if any."""
        with self._lock:
            rows = self._db.execute(
                """
                SELECT e.id, e.url, e.secret, e.event_types, e.created_at, e.disabled_at,
                       e.disabled_reason,
                       (SELECT COUNT(*) FROM messages m
                         WHERE m.endpoint_id = e.id AND m.delivered_at IS NULL),
                       (SELECT m.attempts FROM messages m
                         WHERE m.endpoint_id = e.id AND m.delivered_at IS NULL
                         ORDER BY m.seq LIMIT 1),
                       (SELECT a.error FROM attempts a WHERE a.endpoint_id = e.id
                         ORDER BY a.id DESC LIMIT 1)
                FROM endpoints e ORDER BY e.id
                """
            ).fetchall()
        return [
            Endpoint(
                endpoint_id=row[0],
                url=row[1],
                secret=row[2],
                event_types=tuple(t for t in row[3].split(",") if t),
                created_at=row[4],
                disabled_at=row[5],
                disabled_reason=row[6],
                pending=row[7],
                failing_attempts=row[8] or 0,
                last_error=row[9],
            )
            for row in rows
        ]

    def remove_endpoint(self, endpoint_id: int) -> None:
        """Forget an endpoint and its messages (a delivery to it in flight is not recorded).

        Raises:
            ValidationError: no endpoint has this id.
        """
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM endpoints WHERE id = ?", (endpoint_id,))
        if cursor.rowcount == 0:
            raise ValidationError("endpoint_id", f"no webhook endpoint {endpoint_id}")

    # ------------------------------------------------------------------ messages

    def enqueue(self, events: Iterable[ContractEvent], *, next_block: int | None = None) -> int:
        """Store one message per event and enabled endpoint that wants it; returns how many.

        Storing the same event again changes nothing (messages are unique per endpoint and
        ``webhook-id``). ``next_block``, when given, is saved in the same transaction as where
        the dispatcher resumes reading the chain.
        """
        created = time.time()
        added = 0
        with self._transaction() as db:
            endpoints = db.execute(
                "SELECT id, event_types FROM endpoints WHERE disabled_at IS NULL"
            ).fetchall()
            for event in events:
                body = message_body(event, created)
                kind = event.name + (".removed" if event.removed else "")
                for endpoint_id, types in endpoints:
                    if types and event.name not in types.split(","):
                        continue
                    cursor = db.execute(
                        "INSERT OR IGNORE INTO messages"
                        " (endpoint_id, msg_id, type, body, next_attempt_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (endpoint_id, message_id(event), kind, body, created),
                    )
                    added += cursor.rowcount
            if next_block is not None:
                db.execute(
                    "INSERT OR REPLACE INTO state (key, value) VALUES ('next_block', ?)",
                    (str(next_block),),
                )
        return added

    def next_block(self) -> int | None:
        """The block the dispatcher resumes reading from, or None before it first ran."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = 'next_block'").fetchone()
        return None if row is None else int(row[0])

    def pending(self) -> int:
        """How many messages wait for delivery to enabled endpoints."""
        with self._lock:
            # per endpoint, so the (endpoint_id, delivered_at, seq) index answers it however
            # many delivered messages the table holds
            row = self._db.execute(
                "SELECT SUM((SELECT COUNT(*) FROM messages m"
                " WHERE m.endpoint_id = e.id AND m.delivered_at IS NULL))"
                " FROM endpoints e WHERE e.disabled_at IS NULL"
            ).fetchone()
        return int(row[0] or 0)

    def messages(self, endpoint_id: int, *, pending_only: bool = False) -> list[Message]:
        """An endpoint's messages in delivery order."""
        query = (
            "SELECT seq, endpoint_id, msg_id, type, body, attempts, next_attempt_at, delivered_at"
            " FROM messages WHERE endpoint_id = ?"
        )
        if pending_only:
            query += " AND delivered_at IS NULL"
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq", (endpoint_id,)).fetchall()
        return [
            Message(
                seq=r[0],
                endpoint_id=r[1],
                msg_id=r[2],
                type=r[3],
                body=r[4],
                attempts=r[5],
                next_attempt_at=r[6],
                delivered_at=r[7],
            )
            for r in rows
        ]

    def attempts(self, endpoint_id: int, *, failed_only: bool = False) -> list[DeliveryAttempt]:
        """Every delivery attempt to an endpoint, oldest first (``failed_only``: failures)."""
        query = "SELECT msg_id, endpoint_id, at, status, error FROM attempts WHERE endpoint_id = ?"
        if failed_only:
            query += " AND error IS NOT NULL"
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", (endpoint_id,)).fetchall()
        return [
            DeliveryAttempt(msg_id=r[0], endpoint_id=r[1], at=r[2], status=r[3], error=r[4])
            for r in rows
        ]

    # ------------------------------------------------------------------ delivery

    def deliver_due(self, now: float | None = None) -> int:
        """Deliver, per enabled endpoint, its undelivered messages in order while they succeed.

        Endpoints are served in parallel (at most ``concurrency`` requests at once); within
        one, the oldest undelivered message goes first, and when it fails (or its retry time
        has not come) the endpoint's later messages wait. Returns how many were acknowledged.
        Blocks until the round is over; call it where no event loop runs.
        """
        return asyncio.run(self._deliver_round(now))

    async def _deliver_round(self, now: float | None) -> int:
        limit = asyncio.Semaphore(self.concurrency)
        due = self._due_endpoints(time.time() if now is None else now)
        counts = await asyncio.gather(*(self._deliver_endpoint(e, limit, now) for e in due))
        return sum(counts)

    def _due_endpoints(self, now: float) -> list[int]:
        """Enabled endpoints whose oldest undelivered message is due."""
        with self._lock:
            rows = self._db.execute(
                """
                SELECT e.id FROM endpoints e
                JOIN messages m ON m.seq = (
                    SELECT MIN(seq) FROM messages
                    WHERE endpoint_id = e.id AND delivered_at IS NULL)
                WHERE e.disabled_at IS NULL AND m.next_attempt_at <= ?
                ORDER BY e.id
                """,
                (now,),
            ).fetchall()
        return [row[0] for row in rows]

    def _head(self, endpoint_id: int) -> _Head | None:
        with self._lock:
            row = self._db.execute(
                "SELECT m.seq, m.msg_id, m.body, m.attempts, m.next_attempt_at, e.url, e.secret"
                " FROM messages m JOIN endpoints e ON e.id = m.endpoint_id"
                " WHERE m.endpoint_id = ? AND m.delivered_at IS NULL AND e.disabled_at IS NULL"
                " ORDER BY m.seq LIMIT 1",
                (endpoint_id,),
            ).fetchone()
        return None if row is None else _Head(*row)

    async def _deliver_endpoint(
        self,
        endpoint_id: int,
        limit: asyncio.Semaphore,
        now: float | None = None,
        stopping: threading.Event | None = None,
    ) -> int:
        """Deliver one endpoint's due messages in order while they succeed (and ``stopping``
        is not set); how many did."""
        delivered = 0
        while stopping is None or not stopping.is_set():
            head = self._head(endpoint_id)
            if head is None or head.next_attempt_at > (time.time() if now is None else now):
                return delivered
            async with limit:
                outcome = await self._post(head)
            if not self._record(endpoint_id, head, outcome):
                return delivered
            delivered += 1
        return delivered

    async def _post(self, head: _Head) -> _Outcome:
        """One attempt; every way it can fail is this attempt's failure, never the caller's."""
        try:
            target = parse_target(head.url)
        except ValidationError as err:  # stored by an older version that did not check
            why = str(err).removeprefix("url: ")
            return _Outcome(error=f"invalid URL: {why}", disable=f"its URL {why}")
        stamp = int(time.time())
        data = head.body.encode()
        headers = {
            "content-type": "application/json",
            "user-agent": "gpuhub-webhooks",
            "webhook-id": head.msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature_header([head.secret], head.msg_id, stamp, data),
        }
        from . import _webhook_http

        try:
            async with asyncio.timeout(self.timeout):
                check = functools.partial(
                    addresses, target, self._resolver, allow_private=self.allow_private
                )
                # a name is resolved on a thread (getaddrinfo blocks); a literal needs no lookup
                found = check() if target.literal is not None else await asyncio.to_thread(check)
                status = await _webhook_http.post(target, found, headers, data)
        except TimeoutError:
            return _Outcome(error=f"no complete answer within {self.timeout:g} s")
        except TargetRefused as err:
            return _Outcome(error=f"refused: {err}")
        except TargetUnresolvable as err:
            return _Outcome(error=str(err))
        except Exception as err:
            return _Outcome(error=_webhook_http.describe(err))
        if 200 <= status < 300:
            return _Outcome(status=status)
        if status == 410:
            return _Outcome(
                status=status, error="HTTP 410", disable="the receiver answered 410 Gone"
            )
        return _Outcome(status=status, error=f"HTTP {status}")

    def _record(self, endpoint_id: int, head: _Head, outcome: _Outcome) -> bool:
        """Record an attempt; True if the message was delivered.

        An endpoint removed while the attempt was in flight took its messages with it: then
        nothing is recorded (and False returned).
        """
        now = time.time()
        attempts = head.attempts + 1
        delay = self._backoff(attempts)
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM messages WHERE seq = ?", (head.seq,)).fetchone() is None:
                return False
            db.execute(
                "INSERT INTO attempts (endpoint_id, msg_id, at, status, error)"
                " VALUES (?, ?, ?, ?, ?)",
                (endpoint_id, head.msg_id, now, outcome.status, outcome.error),
            )
            if outcome.error is None:
                db.execute(
                    "UPDATE messages SET attempts = ?, delivered_at = ? WHERE seq = ?",
                    (attempts, now, head.seq),
                )
                return True
            db.execute(
                "UPDATE messages SET attempts = ?, next_attempt_at = ? WHERE seq = ?",
                (attempts, now + random.uniform(delay / 2, delay), head.seq),
            )
            if outcome.disable is not None:
                db.execute(
                    "UPDATE endpoints SET disabled_at = ?, disabled_reason = ? WHERE id = ?",
                    (int(now), outcome.disable, endpoint_id),
                )
        return False

    def _backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` tries: doubling from ``retry_first``,
        at most ``retry_max`` (the exponent is capped, so months of failures cannot overflow)."""
        return min(self.retry_first * 2.0 ** min(attempts - 1, 64), self.retry_max)


# ---------------------------------------------------------------------------- dispatcher


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatcherHealth:
    """How a :class:`WebhookDispatcher` is doing (``GET /health`` shows it)."""

    #: True while both workers (following the chain, delivering) run.
    alive: bool
    #: times a worker died of an unexpected error and was started again.
    restarts: int
    #: messages waiting for delivery to enabled endpoints.
    pending: int
    #: the class of the latest error: a worker's death, or a failed read of the chain
    #: (retried with backoff). A receiver's failures show on its endpoint instead.
    last_error: str | None
    #: Unix time of that error.
    last_error_at: float | None


class WebhookDispatcher:
    """Follows the chain into an :class:`Outbox` and delivers it, on two background threads.

    Nothing stops it but :meth:`stop`: a failed read of the chain (the node down, a JSON-RPC
    error, a malformed answer) is retried with backoff; each delivery's failure is that
    delivery's (recorded on its endpoint, retried with backoff); a worker that dies anyway is
    started again, after a backoff, from the position the outbox stored. :meth:`health` says
    how it is doing.

    Deliveries to different endpoints run in parallel (``Outbox.concurrency`` at most), each
    within ``Outbox.timeout``, so a slow endpoint delays only its own messages.

    Args:
        client: the marketplace to follow.
        outbox: where endpoints and messages live.
        confirmations: deliver an event only once this many blocks are on top of it.
        from_block: where to start the first time (default: the next block); later runs resume
            where the outbox says the last one stopped.
        poll_interval: seconds between chain polls (default: paced by the block time) and
            between delivery rounds.

    Example::

        outbox = Outbox("webhooks.db")
        outbox.add_endpoint("https://example.com/hooks", event_types=["RentalStarted"])
        with WebhookDispatcher(client, outbox):
            ...  # serve
    """

    def __init__(
        self,
        client: GPUHubClient,
        outbox: Outbox,
        *,
        confirmations: int = 0,
        from_block: int | None = None,
        poll_interval: float | None = None,
    ) -> None:
        self.outbox = outbox
        self._client = client
        self._confirmations = confirmations
        self._from_block = from_block
        self._poll_interval = poll_interval
        self._watch = self._new_watch()  # also checks the arguments
        self._delivery_interval = 0.05 if poll_interval is None else poll_interval
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # state the workers share with health() and the other thread, under _state
        self._state = threading.Lock()
        self._restarts = 0
        self._last_error: tuple[str, float] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def _new_watch(self) -> Watch:
        """A watch from where the outbox says reading stopped (else ``from_block``); it raises
        every failure instead of retrying, so this dispatcher sees and reports them."""
        from .watch import Watch

        return Watch(
            self._client._ops,
            self._client._run,
            from_block=self._resume_block(),
            confirmations=self._confirmations,
            poll_interval=self._poll_interval,
            retry_outages=False,
        )

    def start(self) -> WebhookDispatcher:
        """Start following the chain and delivering."""
        if self._threads:
            return self
        self._stop.clear()
        for work, name in ((self._follow, "follow"), (self._deliver, "deliver")):
            thread = threading.Thread(
                target=self._supervise, args=(work,), name=f"gpuhub-webhooks-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop both workers. Deliveries in flight get ``STOP_GRACE`` seconds to finish; slower
        ones are abandoned (and made again on the next run), like everything not delivered."""
        self._stop.set()
        self._watch.close()
        self._notify()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def health(self) -> DispatcherHealth:
        """Whether the workers run, how often one was restarted, what waits, the last error."""
        with self._state:
            last = self._last_error
            restarts = self._restarts
        alive = (
            bool(self._threads)
            and not self._stop.is_set()
            and all(t.is_alive() for t in self._threads)
        )
        return DispatcherHealth(
            alive=alive,
            restarts=restarts,
            pending=self.outbox.pending(),
            last_error=None if last is None else last[0],
            last_error_at=None if last is None else last[1],
        )

    def _note(self, err: BaseException) -> None:
        with self._state:
            self._last_error = (type(err).__name__, time.time())

    def _died(self, err: BaseException) -> None:
        self._note(err)
        with self._state:
            self._restarts += 1

    def _supervise(self, work: Callable[[], None]) -> None:
        """Run ``work`` until stopped, starting it again (after a backoff) whenever it dies."""
        delays = backoff_delays(RESTART_FIRST, RESTART_MAX)
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                work()
            except Exception as err:
                self._died(err)
                if time.monotonic() - started > RESTART_MAX:  # it had been running fine
                    delays = backoff_delays(RESTART_FIRST, RESTART_MAX)
                self._stop.wait(next(delays))

    # ------------------------------------------------------------------ following the chain

    def _follow(self) -> None:
        """Read the chain into the outbox until stopped.

        A failed read (the node down, a JSON-RPC error such as ``header not found``, a
        malformed answer) is retried with backoff, the watch keeping its place. Anything else
        that fails (storing in the outbox) kills this worker; its restart reads again from the
        position stored with the last messages, so nothing read but not stored is lost.
        """
        if self._watch.closed or self._watch.next_block != self._resume_block():
            self._watch = self._new_watch()
        watch = self._watch
        delays: Iterator[float] | None = None
        while not self._stop.is_set():
            try:
                events = watch.read_new()
                if events == []:
                    if self.outbox.next_block() != watch.next_block:
                        self.outbox.enqueue([], next_block=watch.next_block)
                    if not watch.wait():
                        return
            except GPUHubError as err:
                self._note(err)
                delays = delays or backoff_delays()
                self._stop.wait(next(delays))
                continue
            delays = None
            if events is None:
                return
            if events and self.outbox.enqueue(events, next_block=watch.next_block):
                self._notify()

    def _resume_block(self) -> int | None:
        start = self.outbox.next_block()
        return self._from_block if start is None else start

    # ------------------------------------------------------------------ delivering

    def _deliver(self) -> None:
        asyncio.run(self._deliver_forever())

    async def _deliver_forever(self) -> None:
        """Start a delivery task for each endpoint with a due message and none running, each
        round (every ``poll_interval``, or at once when messages are stored), until stopped."""
        wake = asyncio.Event()
        with self._state:
            self._loop, self._wake = asyncio.get_running_loop(), wake
        limit = asyncio.Semaphore(self.outbox.concurrency)
        running: dict[int, asyncio.Task[int]] = {}

        def finished(endpoint_id: int, task: asyncio.Task[int]) -> None:
            running.pop(endpoint_id, None)
            if not task.cancelled() and task.exception() is not None:
                # the next round starts this endpoint's task again
                self._died(task.exception())  # type: ignore[arg-type]

        try:
            while not self._stop.is_set():
                wake.clear()
                for endpoint_id in self.outbox._due_endpoints(time.time()):
                    if endpoint_id not in running:
                        task = asyncio.create_task(
                            self.outbox._deliver_endpoint(endpoint_id, limit, None, self._stop)
                        )
                        running[endpoint_id] = task
                        task.add_done_callback(functools.partial(finished, endpoint_id))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._delivery_interval):
                        await wake.wait()
        finally:
            with self._state:
                self._loop = self._wake = None
            # deliveries in flight get a moment to finish (and be recorded); slower ones are
            # abandoned and made again on the next run
            tasks = list(running.values())
            if tasks:
                await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _notify(self) -> None:
        """Wake the delivery loop (from any thread)."""
        with self._state:
            loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    def __enter__(self) -> WebhookDispatcher:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
