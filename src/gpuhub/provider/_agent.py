"""The provider agent: follows its listings' rentals on the chain and runs the provider's hooks.

One loop, one thread for the chain, a pool of threads for the hooks:

- each tick reads the marketplace's events since the last block processed (rentals started,
  extended and ended; access requests) and records what they mean for this provider's
  listings in the state file before moving its block marker;
- every ``reconcile_every`` blocks it reads the contract's state of every rental it holds open
  and of every listing it serves, so a rental that ended, or started, while it was away (agent
  down, node restarted, events missed) is caught: the chain's state, not only its events;
- a rental with an access request gets the start hook once, and its output encrypted to the
  renter (``grantAccess``); a rental over (ended by either side, settled, or past its end time)
  whose start hook ran gets the stop hook once; expired rentals are settled; the balance is
  withdrawn above a threshold;
- hooks run in the pool, at most one at a time per rental, with a timeout; a failure is retried
  with backoff, up to ``hook_attempts`` runs, and never holds up other rentals. A start hook that
  never succeeds ends the rental (the renter pays only the seconds used).

"Exactly once" holds across restarts of the agent and of the node: a hook's outcome is committed
to the state file before the agent moves on. Only a crash during a hook leaves its outcome
unknown; the hook then runs again (``GPUHUB_ATTEMPT`` says which run it is), as it does after a
failure, so hooks must be safe to run twice: the examples remove what an earlier run left.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _access
from ..events import AccessRequested, RentalEnded, RentalExtended, RentalStarted
from ..exceptions import (
    AccessPayloadError,
    ContractError,
    GPUHubError,
    RentalNotFound,
    ValidationError,
)
from ..models import RentalStatus
from ._hooks import HookResult, backoff, run_hook
from ._state import AgentState, RentalRecord

if TYPE_CHECKING:
    from ..client import GPUHubClient

#: blocks read per eth_getLogs request.
LOG_CHUNK = 2_000

_CLOSED_REASON = {
    RentalStatus.ENDED_BY_RENTER: "ended_by_renter",
    RentalStatus.ENDED_BY_PROVIDER: "ended_by_provider",
    RentalStatus.SETTLED: "settled",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    """How the agent serves rentals; every field but ``start_hook`` has a default."""

    #: the command line run when a rental starts (split as a shell would, run without one).
    start_hook: str
    #: the command line run when a rental whose start hook ran is over; None: nothing to run.
    stop_hook: str | None = None
    #: seconds a hook may run before it is killed (and retried).
    hook_timeout: float = 300.0
    #: runs of a hook before the agent gives up on it.
    hook_attempts: int = 5
    #: first retry delay, seconds; it doubles per retry up to ``retry_cap``.
    retry_base: float = 5.0
    retry_cap: float = 300.0
    #: seconds between ticks.
    poll_interval: float = 1.0
    #: blocks between two reconciliations against the contract's state.
    reconcile_every: int = 10
    #: settle this provider's rentals once their end time has passed.
    settle: bool = True
    #: withdraw the balance once it reaches this many wei; None: never.
    withdraw_above: int | None = None
    #: end a rental whose start hook never succeeded, so its renter stops paying.
    end_on_failed_start: bool = True
    #: hooks run at the same time, at most.
    workers: int = 8


class ProviderAgent:
    """Serves this provider's listings: hooks on rentals, access handed to renters.

    Args:
        client: the marketplace, sending as the provider.
        state: the agent's state file (whose listings to serve, and where it stopped).
        config: hooks, timeouts, retries and money settings.
        logger: where the one-line JSON records of each action go (``gpuhub.provider``).

    Example::

        >>> state = AgentState("agent.db", chain_id=client.chain_id,
        ...                    marketplace=client.contract_address, provider=client.address)
        >>> agent = ProviderAgent(client, state, AgentConfig(start_hook="./start.sh"))
        >>> agent.run(stop)          # until stop.set() (the command sets it on SIGTERM)
    """

    def __init__(
        self,
        client: GPUHubClient,
        state: AgentState,
        config: AgentConfig,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        if client.address is None:
            raise GPUHubError(
                "the agent sends transactions: give the client the provider's account"
            )
        self.client = client
        self.state = state
        self.config = config
        self.logger = logger or logging.getLogger("gpuhub.provider")
        self._pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="hook")
        #: rental id -> (hook kind, attempt, the run in the pool)
        self._running: dict[int, tuple[str, int, Future[HookResult]]] = {}
        self._last_reconcile: int | None = None
        self._now = 0

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set, then wait for the hooks in flight, record what they did
        and return. A tick that fails (the node down, say) is logged and retried next time."""
        self.log("agent_started", provider=self.client.address, listings=len(self.state.listings()))
        failures = 0
        while not stop.is_set():
            try:
                self.tick()
                failures = 0
            except GPUHubError as exc:
                failures += 1
                self.log("tick_failed", level=logging.WARNING, error=str(exc), failures=failures)
            except Exception as exc:  # one bad tick must not end the service
                failures += 1
                self.logger.exception("unexpected error in the agent's tick")
                self.log("tick_failed", level=logging.ERROR, error=repr(exc), failures=failures)
            wait = self.config.poll_interval * (min(2**failures, 30) if failures else 1)
            stop.wait(wait)
        self.drain()
        self.log("agent_stopped")

    def drain(self) -> None:
        """Wait for the hooks in flight (each within its timeout) and record their outcomes."""
        for future in [run for _, _, run in self._running.values()]:
            future.exception()
        self._collect(send=False)
        self._pool.shutdown(wait=True)

    def tick(self) -> None:
        """One round: new events, reconciliation when due, hooks, grants, money."""
        head = self.client.block_number()
        self._now = int(self.client.w3.eth.get_block(head)["timestamp"])
        last = self.state.last_block
        if last is None or last > head:
            # First run, or the chain went back (a node restarted from older state, a dev
            # chain's revert): read on from its head; replayed events change nothing twice.
            last = head
            self.state.set_last_block(head)
        while last < head:
            upto = min(head, last + LOG_CHUNK)
            self._apply(
                self.client.get_events(
                    last + 1,
                    upto,
                    event_types=(RentalStarted, RentalExtended, RentalEnded, AccessRequested),
                )
            )
            self.state.set_last_block(upto)
            last = upto
        if (
            self._last_reconcile is None
            or head < self._last_reconcile  # the chain went back: hold everything against it
            or head - self._last_reconcile >= self.config.reconcile_every
        ):
            self.reconcile()
            self._last_reconcile = head
        self._expire()
        self._collect(send=True)
        self._schedule()

    # ------------------------------------------------------------------ what the chain says

    def _apply(self, events: Iterable[Any]) -> None:
        for event in events:
            try:
                if isinstance(event, RentalStarted):
                    self._started(event.rental_id, event.listing_id, event.renter, event.end)
                elif isinstance(event, RentalExtended):
                    record = self.state.rental(event.rental_id)
                    if record is not None and record.closed is None:
                        self.state.save(record, end_time=event.end)
                        self.log("rental_extended", rental_id=event.rental_id, end=event.end)
                elif isinstance(event, RentalEnded):
                    record = self.state.rental(event.rental_id)
                    if record is not None and record.closed is None:
                        self._close(record, _CLOSED_REASON[event.status])
                elif isinstance(event, AccessRequested):
                    self._requested(event.rental_id, event.payload)
            except Exception as exc:  # a hostile payload or one odd event skips that event only
                self.log("event_skipped", level=logging.WARNING, event=event.name, error=repr(exc))

    def _started(self, rental_id: int, listing_id: int, renter: str, end: int) -> None:
        gpu = self.state.gpu_of(listing_id)
        if gpu is None:
            return  # not one of this agent's listings
        record = RentalRecord(
            rental_id=rental_id, listing_id=listing_id, gpu_uuid=gpu, renter=renter, end_time=end
        )
        if self.state.add_rental(record):
            self.log(
                "rental_started",
                rental_id=rental_id,
                listing_id=listing_id,
                gpu=gpu,
                renter=renter,
                end=end,
            )

    def _requested(self, rental_id: int, payload: bytes) -> None:
        record = self.state.rental(rental_id)
        if record is None or record.closed is not None:
            return
        try:
            key, ssh_key = _access.decode_request(payload)
        except AccessPayloadError as exc:
            self.log(
                "access_request_refused",
                level=logging.WARNING,
                rental_id=rental_id,
                reason=exc.reason,
            )
            return
        changes: dict[str, Any] = {"request_key": key, "ssh_key": ssh_key}
        if record.start == "waiting":
            changes.update(start="due", retry_at=0.0)
        self.state.save(record, **changes)
        self.log("access_requested", rental_id=rental_id, ssh_key=ssh_key is not None)

    def reconcile(self) -> None:
        """Hold the state against the contract's: close what ended unseen, find what started
        unseen, settle what expired, withdraw above the threshold."""
        for record in self.state.rentals():
            if record.closed is not None:
                continue
            try:
                rental = self.client.get_rental(record.rental_id)
            except RentalNotFound:
                # The block that started it was reorganised away (or the node went back to an
                # older state): nothing runs for it any more.
                self._close(record, "dropped")
                continue
            if rental.status != RentalStatus.ACTIVE:
                self._close(record, _CLOSED_REASON[rental.status])
            elif rental.end != record.end_time:
                self.state.save(record, end_time=rental.end)
        for uuid, listing_id in self.state.listings().items():
            try:
                active = self.client.active_rental(listing_id)
            except ContractError as exc:  # a listing the chain no longer has (reorganised)
                self.log(
                    "listing_unreadable",
                    level=logging.WARNING,
                    listing_id=listing_id,
                    error=str(exc),
                )
                continue
            if active is None:
                continue
            if self.state.rental(active.rental_id) is None:
                self._started(active.rental_id, listing_id, active.renter, active.end)
                self.log("rental_found", rental_id=active.rental_id, gpu=uuid)
                self._replay_requests(active.rental_id)
            if self.config.settle and active.end <= self._now:
                self._settle(active.rental_id)
        self._expire()
        self._withdraw()
        self.log("reconciled", open=len(self.state.rentals()))

    def _replay_requests(self, rental_id: int) -> None:
        """The access requests of a rental found by reconciliation (its events were missed)."""
        for event in self.client.get_events(self.state.first_block, event_types=(AccessRequested,)):
            if isinstance(event, AccessRequested) and event.rental_id == rental_id:
                self._requested(rental_id, event.payload)

    def _expire(self) -> None:
        """Close the rentals whose end time the chain's clock has passed (stop hook due)."""
        for record in self.state.rentals():
            if record.closed is None and record.end_time <= self._now:
                self._close(record, "expired")

    def _settle(self, rental_id: int) -> None:
        try:
            self.client.settle(rental_id)
            self.log("settled", rental_id=rental_id)
        except ContractError as exc:  # settled or ended by someone else meanwhile
            self.log("settle_skipped", rental_id=rental_id, error=str(exc))

    def _withdraw(self) -> None:
        threshold = self.config.withdraw_above
        if threshold is None:
            return
        balance = self.client.balance_of()
        if balance >= threshold and balance > 0:
            amount = self.client.withdraw()
            self.log("withdrawn", wei=amount)

    def _close(self, record: RentalRecord, reason: str) -> RentalRecord:
        stop = "due" if record.start_attempts > 0 and self.config.stop_hook else "none"
        self.log("rental_over", rental_id=record.rental_id, reason=reason, stop_hook=stop == "due")
        return self.state.save(record, closed=reason, stop=stop, retry_at=0.0)

    # ------------------------------------------------------------------ hooks and grants

    def _schedule(self) -> None:
        now = time.time()
        for record in self.state.rentals():
            if record.rental_id in self._running or record.retry_at > now:
                continue
            if record.closed is None and record.start == "due":
                self._submit(record, "start")
            elif record.closed is None and record.start == "done":
                if record.request_key is not None and record.request_key != record.granted_key:
                    self._grant(record)
            elif record.closed is not None and record.stop == "due":
                self._submit(record, "stop")
            elif record.closed is None and record.start == "failed":
                self._end_failed(record)

    def _submit(self, record: RentalRecord, kind: str) -> None:
        attempts = (record.start_attempts if kind == "start" else record.stop_attempts) + 1
        # Counted before it runs: after a crash mid-hook the record shows it may have run.
        record = self.state.save(record, **{f"{kind}_attempts": attempts})
        command = self.config.start_hook if kind == "start" else self.config.stop_hook
        assert command is not None
        env = self.hook_env(record, kind, attempts)
        self.log(f"{kind}_hook", rental_id=record.rental_id, attempt=attempts)
        future = self._pool.submit(run_hook, command, env, timeout=self.config.hook_timeout)
        self._running[record.rental_id] = (kind, attempts, future)

    def hook_env(self, record: RentalRecord, kind: str, attempt: int) -> dict[str, str]:
        """The ``GPUHUB_*`` variables a hook sees (docs: "Share a GPU")."""
        env = {
            "GPUHUB_EVENT": kind,
            "GPUHUB_RENTAL_ID": str(record.rental_id),
            "GPUHUB_LISTING_ID": str(record.listing_id),
            "GPUHUB_RENTER": record.renter,
            "GPUHUB_END": str(record.end_time),
            "GPUHUB_GPU_UUID": record.gpu_uuid,
            "GPUHUB_SSH_KEY": record.ssh_key or "",
            "GPUHUB_ENCRYPTION_KEY": "0x" + record.request_key.hex() if record.request_key else "",
            "GPUHUB_ATTEMPT": str(attempt),
            "GPUHUB_CHAIN_ID": str(self.client.chain_id),
            "GPUHUB_MARKETPLACE": self.client.contract_address,
        }
        if kind == "stop":
            env["GPUHUB_STOP_REASON"] = record.closed or ""
        return env

    def _collect(self, *, send: bool) -> None:
        for rental_id, (kind, attempt, future) in list(self._running.items()):
            if not future.done():
                continue
            del self._running[rental_id]
            record = self.state.rental(rental_id)
            if record is None:
                continue
            result = future.result()
            if kind == "start":
                self._started_hook(record, attempt, result, send=send)
            else:
                self._stopped_hook(record, attempt, result)

    def _started_hook(
        self, record: RentalRecord, attempt: int, result: HookResult, *, send: bool
    ) -> None:
        details = result.output
        error = result.error
        if result.ok and not details:
            error = "printed nothing: a start hook prints the connection details"
        elif result.ok and len(details.encode()) > _access.MAX_DETAILS:
            error = f"printed more than the {_access.MAX_DETAILS} bytes a grant can carry"
        if not error:
            record = self.state.save(record, start="done", details=details, retry_at=0.0)
            self.log(
                "start_hook_done",
                rental_id=record.rental_id,
                attempt=attempt,
                seconds=round(result.seconds, 3),
            )
            if send and record.closed is None:
                self._grant(record)
            return
        self._failed(record, "start", attempt, error)

    def _stopped_hook(self, record: RentalRecord, attempt: int, result: HookResult) -> None:
        if result.ok:
            self.state.save(record, stop="done", retry_at=0.0)
            self.log(
                "stop_hook_done",
                rental_id=record.rental_id,
                attempt=attempt,
                seconds=round(result.seconds, 3),
            )
            return
        self._failed(record, "stop", attempt, result.error)

    def _failed(self, record: RentalRecord, kind: str, attempt: int, error: str) -> None:
        if attempt < self.config.hook_attempts:
            delay = backoff(attempt, base=self.config.retry_base, cap=self.config.retry_cap)
            self.state.save(record, retry_at=time.time() + delay)
            self.log(
                f"{kind}_hook_failed",
                level=logging.WARNING,
                rental_id=record.rental_id,
                attempt=attempt,
                error=error,
                retry_in=round(delay, 1),
            )
            return
        record = self.state.save(record, **{kind: "failed"})
        self.log(
            f"{kind}_hook_gave_up",
            level=logging.ERROR,
            rental_id=record.rental_id,
            attempts=attempt,
            error=error,
        )
        if kind == "start" and record.closed is None:
            self._end_failed(record)

    def _end_failed(self, record: RentalRecord) -> None:
        """End a rental whose start hook never succeeded, so its renter stops paying; tried
        again later if the node cannot be reached now."""
        if not self.config.end_on_failed_start or record.retry_at > time.time():
            return
        # Not before retry_cap from now, whatever happens: the ending's event closes it first.
        self.state.save(record, retry_at=time.time() + self.config.retry_cap)
        try:
            self.client.end_rental(record.rental_id)
            self.log("rental_ended", rental_id=record.rental_id, reason="start hook failed")
        except ContractError as exc:  # over already
            self.log("end_skipped", rental_id=record.rental_id, error=str(exc))

    def _grant(self, record: RentalRecord) -> None:
        assert record.request_key is not None and record.details is not None
        try:
            self.client.grant_access(
                record.rental_id, record.details, public_key=record.request_key
            )
        except (ContractError, ValidationError) as exc:
            self.state.save(record, granted_key=record.request_key)  # not retried: it cannot pass
            self.log(
                "grant_refused", level=logging.WARNING, rental_id=record.rental_id, error=str(exc)
            )
            return
        self.state.save(record, granted_key=record.request_key)
        self.log("access_granted", rental_id=record.rental_id)

    # ------------------------------------------------------------------ logging

    def log(self, action: str, *, level: int = logging.INFO, **fields: Any) -> None:
        """One JSON line: the time, the action and its fields (never a key or the details)."""
        line: Mapping[str, Any] = {"ts": round(time.time(), 3), "action": action, **fields}
        self.logger.log(level, json.dumps(line, default=str))
