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
first, and a failing message holds back the ones after it. Failures (any other status, a timeout,
a refused connection) are retried with exponential backoff and jitter (capped at an hour by
default) and recorded: :meth:`Outbox.attempts` and :meth:`Outbox.endpoints` show them. A ``410
Gone`` answer disables the endpoint. The dispatcher stores how far it has read the chain in the
same transaction as the messages, so a restart resumes there and redelivers what was not
acknowledged; a receiver sees a message twice only after an attempt it answered too late (or
whose answer was lost), always with the same ``webhook-id``.

The outbox uses the standard library's ``sqlite3``: it is one small queue written by one process,
and ``sqlite3`` adds no dependency to gpuhub's core.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import hmac
import json
import os
import random
import secrets as secrets_module
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .events import ContractEvent, event_class
from .exceptions import ValidationError, WebhookVerificationError

if TYPE_CHECKING:
    from .client import GPUHubClient

__all__ = [
    "DeliveryAttempt",
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
#: seconds to wait for a receiver's answer.
DELIVERY_TIMEOUT = 10.0


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


class Outbox:
    """Webhook endpoints and the messages owed to them, in one SQLite file.

    The file holds each endpoint's signing secret, as signing needs it; a new file is created
    with mode 0600 (owner only). See docs/security.md.

    Args:
        path: the SQLite file (created if missing), or ``":memory:"``.
        retry_first: seconds before the first retry; doubles each time, with jitter.
        retry_max: the longest wait between retries.
        timeout: seconds to wait for a receiver's answer.

    Safe to share between threads (one connection behind a lock).
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
        timeout: float = DELIVERY_TIMEOUT,
    ) -> None:
        self.path = str(path)
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.timeout = timeout
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

    # ------------------------------------------------------------------ endpoints

    def add_endpoint(
        self,
        url: str,
        *,
        event_types: Iterable[str | type[ContractEvent]] = (),
        secret: str | None = None,
    ) -> Endpoint:
        """Register a receiver; its secret is generated unless given.

        Raises:
            ValidationError: the URL is not http(s), an event type is unknown, or the secret
                is not ``whsec_`` + base64.
        """
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError("url", "must be an http:// or https:// URL")
        if len(url) > 2048:
            raise ValidationError("url", "must be at most 2048 characters")
        names = sorted({event_class(e).name for e in event_types})
        secret = generate_secret() if secret is None else secret
        _key(secret)
        with self._lock:
            cursor = self._db.execute(
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
        """Forget an endpoint and its messages.

        Raises:
            ValidationError: no endpoint has this id.
        """
        with self._lock:
            cursor = self._db.execute("DELETE FROM endpoints WHERE id = ?", (endpoint_id,))
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
        with self._lock:
            endpoints = self._db.execute(
                "SELECT id, event_types FROM endpoints WHERE disabled_at IS NULL"
            ).fetchall()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    body = message_body(event, created)
                    kind = event.name + (".removed" if event.removed else "")
                    for endpoint_id, types in endpoints:
                        if types and event.name not in types.split(","):
                            continue
                        cursor = self._db.execute(
                            "INSERT OR IGNORE INTO messages"
                            " (endpoint_id, msg_id, type, body, next_attempt_at)"
                            " VALUES (?, ?, ?, ?, ?)",
                            (endpoint_id, message_id(event), kind, body, created),
                        )
                        added += cursor.rowcount
                if next_block is not None:
                    self._db.execute(
                        "INSERT OR REPLACE INTO state (key, value) VALUES ('next_block', ?)",
                        (str(next_block),),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    def next_block(self) -> int | None:
        """The block the dispatcher resumes reading from, or None before it first ran."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = 'next_block'").fetchone()
        return None if row is None else int(row[0])

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

        An endpoint's oldest undelivered message goes first; when it fails (or its retry time
        has not come) the endpoint's later messages wait. Returns how many were acknowledged.
        """
        delivered = 0
        with self._lock:
            endpoints = self._db.execute(
                "SELECT id, url, secret FROM endpoints WHERE disabled_at IS NULL ORDER BY id"
            ).fetchall()
        for endpoint_id, url, secret in endpoints:
            while True:
                current = time.time() if now is None else now
                with self._lock:
                    head = self._db.execute(
                        "SELECT seq, msg_id, body, attempts, next_attempt_at FROM messages"
                        " WHERE endpoint_id = ? AND delivered_at IS NULL ORDER BY seq LIMIT 1",
                        (endpoint_id,),
                    ).fetchone()
                if head is None or head[4] > current:
                    break
                seq, msg_id, body, attempts, _ = head
                status, error = self._post(url, secret, msg_id, body)
                if not self._record(seq, endpoint_id, msg_id, attempts + 1, status, error):
                    break
                delivered += 1
        return delivered

    def _post(self, url: str, secret: str, msg_id: str, body: str) -> tuple[int | None, str | None]:
        stamp = int(time.time())
        data = body.encode()
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={
                "content-type": "application/json",
                "user-agent": "gpuhub-webhooks",
                "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": signature_header([secret], msg_id, stamp, data),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(65_536)
                status = int(response.status)
        except urllib.error.HTTPError as err:
            return err.code, f"HTTP {err.code}"
        except TimeoutError:
            return None, f"no answer within {self.timeout} s"
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, TimeoutError):
                return None, f"no answer within {self.timeout} s"
            return None, f"connection failed ({type(reason).__name__})"
        if 200 <= status < 300:
            return status, None
        return status, f"HTTP {status}"

    def _record(
        self,
        seq: int,
        endpoint_id: int,
        msg_id: str,
        attempts: int,
        status: int | None,
        error: str | None,
    ) -> int:
        now = time.time()
        delay = self._backoff(attempts)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO attempts (endpoint_id, msg_id, at, status, error)"
                " VALUES (?, ?, ?, ?, ?)",
                (endpoint_id, msg_id, now, status, error),
            )
            if error is None:
                self._db.execute(
                    "UPDATE messages SET attempts = ?, delivered_at = ? WHERE seq = ?",
                    (attempts, now, seq),
                )
            else:
                self._db.execute(
                    "UPDATE messages SET attempts = ?, next_attempt_at = ? WHERE seq = ?",
                    (attempts, now + random.uniform(delay / 2, delay), seq),
                )
                if status == 410:
                    self._db.execute(
                        "UPDATE endpoints SET disabled_at = ?, disabled_reason = ? WHERE id = ?",
                        (int(now), "the receiver answered 410 Gone", endpoint_id),
                    )
            self._db.execute("COMMIT")
        return 1 if error is None else 0

    def _backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` tries: doubling from ``retry_first``,
        at most ``retry_max`` (the exponent is capped, so months of failures cannot overflow)."""
        return min(self.retry_first * 2.0 ** min(attempts - 1, 64), self.retry_max)


class WebhookDispatcher:
    """Follows the chain into an :class:`Outbox` and delivers it, on two background threads.

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
        start = outbox.next_block()
        self.outbox = outbox
        self._watch = client.watch(
            from_block=from_block if start is None else start,
            confirmations=confirmations,
            poll_interval=poll_interval,
        )
        self._delivery_interval = 0.05 if poll_interval is None else poll_interval
        self._stop = threading.Event()
        self._wake = threading.Event()  # new messages: deliver now rather than at the next round
        self._threads: list[threading.Thread] = []

    def start(self) -> WebhookDispatcher:
        """Start following the chain and delivering."""
        for target, name in ((self._follow, "follow"), (self._deliver, "deliver")):
            thread = threading.Thread(target=target, name=f"gpuhub-webhooks-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop both threads; what is not delivered stays in the outbox for the next run."""
        self._stop.set()
        self._wake.set()
        self._watch.close()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _follow(self) -> None:
        while not self._stop.is_set():
            events = self._watch.read_new()
            if events is None:
                return
            moved = events or self.outbox.next_block() != self._watch.next_block
            if moved and self.outbox.enqueue(events, next_block=self._watch.next_block):
                self._wake.set()
            if not events and not self._watch.wait():
                return

    def _deliver(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.outbox.deliver_due()
            self._wake.wait(self._delivery_interval)

    def __enter__(self) -> WebhookDispatcher:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
