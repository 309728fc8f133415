"""Governance: participation votes, proposals and the typed actions they carry.

The marketplace's parameters (fee, treasury, pause switch, guardian, governance itself) belong to
an OpenZeppelin Governor whose timelock is the marketplace's governance address and treasury.
Votes are earned by paying the protocol: every rental that ends with a fee earns its renter and its
provider half the fee each, in wei-sized voting units, minted by ``claim_votes()``. Founders get a
bootstrap grant at deployment (the deployer by default), so the market can govern itself before
fees accrue.

    >>> gov = client.governance                        # found from the marketplace
    >>> gov.claim_votes()                               # mint what ending rentals earned
    >>> p = gov.propose([gpuhub.Action.set_fee(100)], "Lower the fee to 1%")
    >>> client.chain.advance_time(gov.voting_delay() + 1)    # dev chains only
    >>> gov.vote(p.proposal_id, gpuhub.VoteSupport.FOR)
    >>> client.chain.advance_time(gov.voting_period())
    >>> gov.queue(p.proposal_id)
    >>> client.chain.advance_time(gov.timelock_delay())
    >>> gov.execute(p.proposal_id).state
    <ProposalState.EXECUTED: 7>

This module imports no web3 at import time; ``client.governance`` wires it to a connection.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from . import _core
from ._artifact import abi
from .exceptions import (
    GovernorUnexpectedProposalState,
    TimelockUnexpectedOperationState,
    ValidationError,
)
from .models import ProposalState, TxResult, VoteSupport

if TYPE_CHECKING:
    from web3.types import BlockIdentifier, TxReceipt

    from ._transactions import TxOptions
    from .client import GPUHubClient

__all__ = [
    "BOOTSTRAP_UNITS",
    "Action",
    "Governance",
    "GovernanceSettings",
    "Proposal",
    "ProposalState",
    "VoteSupport",
]

T = TypeVar("T")

#: voting units granted to each bootstrap holder by default (as many as 2 ETH of fees earn).
BOOTSTRAP_UNITS = 10**18

_DAY = 86_400


@dataclass(frozen=True, slots=True, kw_only=True)
class GovernanceSettings:
    """The governor's parameters, fixed at deployment (a passed proposal can change them later).

    Periods are seconds: the votes contract's clock is the block timestamp (EIP-6372), so they
    mean the same on every chain. The defaults are the production ones; ``dev()`` gives short
    periods for dev chains, which ``GPUHubClient.local()`` and ``deploy`` use there.

    Attributes:
        voting_delay: seconds from a proposal to the start of its vote (the vote's snapshot).
        voting_period: seconds the vote stays open.
        quorum_percent: percent of all voting units that must vote FOR or ABSTAIN, 0..100.
        proposal_threshold: votes an account needs to propose.
        timelock_delay: seconds a passed proposal waits in the timelock before it can execute.
        guardian: an address that may pause (never unpause) at once; None for none.
        bootstrap: voting units granted at deployment by address; None grants the deployer
            ``BOOTSTRAP_UNITS``; an empty mapping grants nobody (votes then come from fees only).
    """

    voting_delay: int = _DAY
    voting_period: int = 7 * _DAY
    quorum_percent: int = 4
    proposal_threshold: int = 0
    timelock_delay: int = 2 * _DAY
    guardian: str | None = None
    bootstrap: Mapping[str, int] | None = None

    @classmethod
    def dev(cls, **overrides: Any) -> GovernanceSettings:
        """Short periods for dev chains: 1 s delay, 10 min vote, 1 min timelock."""
        return cls(**{"voting_delay": 1, "voting_period": 600, "timelock_delay": 60, **overrides})

    def checked(self) -> GovernanceSettings:
        """These settings, or ValidationError naming the first one out of range."""
        _core.check_int("voting_delay", self.voting_delay, high=2**48 - 1)
        _core.check_int("voting_period", self.voting_period, low=1, high=2**32 - 1)
        _core.check_int("quorum_percent", self.quorum_percent, high=100)
        _core.check_int("proposal_threshold", self.proposal_threshold)
        _core.check_int("timelock_delay", self.timelock_delay)
        for who, units in (self.bootstrap or {}).items():
            _core.check_int(f"bootstrap[{who}]", units, high=2**208 - 1)
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """One call a proposal makes, built by the constructors below.

    Attributes:
        function: the marketplace function called (``"setFee"``, ...), or ``""`` for a call
            given as raw ``data`` to ``target``.
        args: its arguments, in order.
        target: the called contract; None means the marketplace.
        value: wei sent with the call (from the timelock's own ETH).
        data: raw calldata, for calls the constructors do not cover.
    """

    function: str
    args: tuple[Any, ...] = ()
    target: str | None = None
    value: int = 0
    data: bytes = field(default=b"", repr=False)

    @classmethod
    def set_fee(cls, fee_bps: int) -> Action:
        """Set the platform fee in basis points (at most 1,000, as the contract enforces)."""
        return cls(
            function="setFee", args=(_core.check_int("fee_bps", fee_bps, high=_core.MAX_FEE_BPS),)
        )

    @classmethod
    def set_treasury(cls, address: str) -> Action:
        """Send future fees to ``address`` (fees accrued so far stay with the timelock)."""
        return cls(function="setTreasury", args=(_core.check_address("address", address),))

    @classmethod
    def pause(cls) -> Action:
        """Stop new listings and rentals (ending, settling and withdrawing go on)."""
        return cls(function="setPaused", args=(True,))

    @classmethod
    def unpause(cls) -> Action:
        """Resume new listings and rentals."""
        return cls(function="setPaused", args=(False,))

    @classmethod
    def pay(cls, to: str, amount: int) -> Action:
        """Pay ``amount`` wei of the treasury's fees to ``to``."""
        return cls(
            function="payFromTreasury",
            args=(_core.check_address("to", to), _core.check_int("amount", amount, low=1)),
        )

    @classmethod
    def transfer_governance(cls, address: str) -> Action:
        """Hand the marketplace's powers to ``address`` (a new governor's timelock, a multisig);
        this governor stops governing."""
        return cls(function="transferGovernance", args=(_core.check_address("address", address),))

    @classmethod
    def set_guardian(cls, address: str | None) -> Action:
        """Let ``address`` pause at once; None removes the guardian."""
        who = _core.ZERO_ADDRESS if address is None else _core.check_address("address", address)
        return cls(function="setGuardian", args=(who,))

    @classmethod
    def call(cls, target: str, data: bytes, *, value: int = 0) -> Action:
        """Any other call, given as raw calldata (a governor setting, say)."""
        if not isinstance(data, bytes):
            raise ValidationError("data", f"expected bytes, got {type(data).__name__}")
        return cls(
            function="",
            target=_core.check_address("target", target),
            value=_core.check_int("value", value),
            data=data,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    """A governance proposal as the governor holds it.

    Attributes:
        proposal_id: the governor's id (a hash of the actions and the description).
        proposer: who proposed it.
        actions: the calls it makes when executed.
        description: its text, as proposed.
        state: where it is (PENDING, ACTIVE, ... EXECUTED).
        vote_start: Unix time the vote opens (the snapshot: votes held then count).
        vote_end: Unix time the vote closes.
        eta: Unix time it can execute once queued; 0 while not queued.
        for_votes: units voted FOR.
        against_votes: units voted AGAINST.
        abstain_votes: units voted ABSTAIN.
        quorum: FOR + ABSTAIN units it needs (at its snapshot; from the latest supply while
            the vote has not opened).
    """

    proposal_id: int
    proposer: str
    actions: tuple[Action, ...]
    description: str
    state: ProposalState
    vote_start: int
    vote_end: int
    eta: int
    for_votes: int
    against_votes: int
    abstain_votes: int
    quorum: int


@dataclass(frozen=True, slots=True)
class _Created:
    """A ProposalCreated event: what queue and execute must repeat."""

    proposal_id: int
    proposer: str
    targets: tuple[str, ...]
    values: tuple[int, ...]
    calldatas: tuple[bytes, ...]
    vote_start: int
    vote_end: int
    description: str


class Governance:
    """The marketplace's governor, votes and timelock, on a client's connection and account.

    Get it as ``client.governance``; the governor is found from the marketplace. Reads work on a
    read-only client; writes send from the client's account.
    """

    def __init__(self, client: GPUHubClient, governor: str) -> None:
        w3 = client.w3
        self._client = client
        contract: Any = w3.eth.contract
        self._governor = contract(address=governor, abi=abi("GPUHubGovernor"))
        self._votes = contract(address=client._call("votes"), abi=abi("GPUHubVotes"))
        self._timelock = contract(
            address=self._read(self._governor, "timelock"), abi=abi("GPUHubTimelock")
        )

    def __repr__(self) -> str:
        return f"Governance(governor={self.address}, account={self._client.address})"

    # ------------------------------------------------------------------ addresses and settings

    @property
    def address(self) -> str:
        """The governor's address."""
        return str(self._governor.address)

    @property
    def timelock(self) -> str:
        """The timelock's address: the marketplace's governance address and treasury."""
        return str(self._timelock.address)

    @property
    def votes_address(self) -> str:
        """The participation votes contract's address."""
        return str(self._votes.address)

    def voting_delay(self) -> int:
        """Seconds from a proposal to the opening of its vote."""
        return int(self._read(self._governor, "votingDelay"))

    def voting_period(self) -> int:
        """Seconds a vote stays open."""
        return int(self._read(self._governor, "votingPeriod"))

    def timelock_delay(self) -> int:
        """Seconds a passed proposal waits in the timelock."""
        return int(self._read(self._timelock, "getMinDelay"))

    def proposal_threshold(self) -> int:
        """Votes an account needs to propose."""
        return int(self._read(self._governor, "proposalThreshold"))

    def quorum_percent(self) -> int:
        """Percent of all voting units a proposal needs FOR or ABSTAIN."""
        return int(self._read(self._governor, "quorumNumerator"))

    # ------------------------------------------------------------------ votes

    def votes(self, address: str | None = None, *, timepoint: int | None = None) -> int:
        """Votes ``address`` (default: this account) has now, or had at Unix time ``timepoint``
        (which must have passed)."""
        who = self._who(address)
        if timepoint is None:
            return int(self._read(self._votes, "getVotes", who))
        return int(
            self._read(self._votes, "getPastVotes", who, _core.check_int("timepoint", timepoint))
        )

    def pending_votes(self, address: str | None = None) -> int:
        """Units ``address`` (default: this account) has earned and not claimed yet."""
        return int(self._client._call("pendingVotes", self._who(address)))

    def units(self, address: str | None = None) -> int:
        """Voting units ``address`` (default: this account) holds, whoever it delegates to."""
        return int(self._read(self._votes, "unitsOf", self._who(address)))

    def total_units(self) -> int:
        """Every voting unit minted so far (bootstrap grants and claims)."""
        return int(self._read(self._votes, "totalUnits"))

    def delegate_of(self, address: str | None = None) -> str:
        """Whom ``address`` (default: this account) delegates its votes to."""
        return str(self._read(self._votes, "delegates", self._who(address)))

    def claim_votes(self, **tx: Unpack[TxOptions]) -> int:
        """Mint this account's earned units; returns how many.

        Raises:
            NoVotesToClaim: nothing is pending (``pending_votes()`` is 0).
        """

        def claimed(receipt: TxReceipt) -> int:
            (event,) = self._client._events(receipt, "VotesClaimed")
            return int(event["units"])

        return self._client._transact("claimVotes", [], claimed, True, tx)  # type: ignore[return-value]

    def delegate(self, to: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Give this account's votes to ``to`` (itself to take them back)."""
        return self._send(self._votes, "delegate", [_core.check_address("to", to)], _tx_result, tx)

    # ------------------------------------------------------------------ proposals

    def propose(
        self, actions: Sequence[Action], description: str, **tx: Unpack[TxOptions]
    ) -> Proposal:
        """Propose ``actions`` (built with ``gpuhub.Action``) with a description.

        The vote opens ``voting_delay()`` seconds later; the same actions with the same
        description cannot be proposed twice.

        Raises:
            ValidationError: no actions, or an action that is not an ``Action``.
            GovernorInsufficientProposerVotes: this account's votes are below the threshold.
        """
        if isinstance(actions, Action) or not actions:
            raise ValidationError("actions", "give a list of one or more gpuhub.Action")
        if not isinstance(description, str):
            raise ValidationError("description", "expected a str")
        targets, values, calldatas = [], [], []
        for action in actions:
            if not isinstance(action, Action):
                raise ValidationError("actions", f"expected gpuhub.Action, got {action!r}")
            target, value, data = self._encode(action)
            targets.append(target)
            values.append(value)
            calldatas.append(data)

        def proposed(receipt: TxReceipt) -> Proposal:
            from web3.logs import DISCARD

            (event,) = self._governor.events.ProposalCreated().process_receipt(
                receipt, errors=DISCARD
            )
            return self._proposal(_created(event["args"]), block=receipt["blockNumber"])

        return self._send(
            self._governor, "propose", [targets, values, calldatas, description], proposed, tx
        )

    def vote(
        self,
        proposal_id: int,
        support: VoteSupport,
        *,
        reason: str = "",
        **tx: Unpack[TxOptions],
    ) -> Proposal:
        """Vote on an ACTIVE proposal with this account's votes at its snapshot.

        Raises:
            GovernorUnexpectedProposalState: the vote is not open (the message says when it is).
            GovernorAlreadyCastVote: this account has voted already.
        """
        if isinstance(support, bool) or not isinstance(support, int) or support not in (0, 1, 2):
            raise ValidationError("support", "use gpuhub.VoteSupport.FOR, AGAINST or ABSTAIN")
        if not isinstance(reason, str):
            raise ValidationError("reason", "expected a str")
        created = self._created(proposal_id)
        fn, args = (
            ("castVoteWithReason", [proposal_id, int(support), reason])
            if reason
            else ("castVote", [proposal_id, int(support)])
        )
        return self._step(created, fn, args, tx)

    def queue(self, proposal_id: int, **tx: Unpack[TxOptions]) -> Proposal:
        """Queue a SUCCEEDED proposal in the timelock; it can execute ``timelock_delay()`` later.

        Raises:
            GovernorUnexpectedProposalState: it has not passed (still voting, defeated, short of
                quorum, or queued already).
        """
        created = self._created(proposal_id)
        return self._step(created, "queue", self._operation(created), tx)

    def execute(self, proposal_id: int, **tx: Unpack[TxOptions]) -> Proposal:
        """Execute a QUEUED proposal whose timelock delay has passed; anyone may.

        Raises:
            TimelockUnexpectedOperationState: the delay has not passed yet.
            GovernorUnexpectedProposalState: it was never queued, or has run already.
        """
        created = self._created(proposal_id)
        return self._step(created, "execute", self._operation(created), tx)

    def proposal(self, proposal_id: int) -> Proposal:
        """One proposal by id.

        Raises:
            GovernorNonexistentProposal: no proposal has this id.
        """
        return self._proposal(self._created(proposal_id))

    def proposals(self) -> list[Proposal]:
        """Every proposal, oldest first (read from the governor's ProposalCreated events)."""
        return [self._proposal(created) for created in self._all_created()]

    # ------------------------------------------------------------------ plumbing

    def _step(self, created: _Created, fn: str, args: list[Any], tx: TxOptions) -> Proposal:
        def done(receipt: TxReceipt) -> Proposal:
            return self._proposal(created, block=receipt["blockNumber"])

        try:
            return self._send(self._governor, fn, args, done, tx)
        except (GovernorUnexpectedProposalState, TimelockUnexpectedOperationState) as err:
            raise err.with_detail(self._when(created)) from None

    def _when(self, created: _Created) -> str:
        """When the proposal can take its next step, in words."""
        state = ProposalState(self._read(self._governor, "state", created.proposal_id))
        if state is ProposalState.PENDING:
            return f"voting starts after {_utc(created.vote_start)}; {_WAIT}"
        if state is ProposalState.ACTIVE:
            return f"voting ends at {_utc(created.vote_end)}; {_WAIT}"
        if state is ProposalState.QUEUED:
            eta = int(self._read(self._governor, "proposalEta", created.proposal_id))
            return f"it can execute from {_utc(eta)}; {_WAIT}"
        if state is ProposalState.SUCCEEDED:
            return "it passed: queue it first"
        return f"it is {state.name} and can take no further step"

    def _proposal(self, created: _Created, *, block: BlockIdentifier = "latest") -> Proposal:
        pid = created.proposal_id
        gov = self._governor
        state = ProposalState(self._read(gov, "state", pid, block=block))
        against, for_, abstain = self._read(gov, "proposalVotes", pid, block=block)
        eta = int(self._read(gov, "proposalEta", pid, block=block))
        with self._client._conn.io():
            now = int(self._client.w3.eth.get_block(block)["timestamp"])
        if created.vote_start < now:
            quorum = int(self._read(gov, "quorum", created.vote_start, block=block))
        else:  # the snapshot is still ahead: the same fraction of the units minted so far
            numerator = int(self._read(gov, "quorumNumerator", block=block))
            denominator = int(self._read(gov, "quorumDenominator", block=block))
            quorum = int(self._read(self._votes, "totalUnits", block=block)) * numerator
            quorum //= denominator
        return Proposal(
            proposal_id=pid,
            proposer=created.proposer,
            actions=tuple(
                self._decode(t, v, d)
                for t, v, d in zip(created.targets, created.values, created.calldatas, strict=True)
            ),
            description=created.description,
            state=state,
            vote_start=created.vote_start,
            vote_end=created.vote_end,
            eta=eta,
            for_votes=int(for_),
            against_votes=int(against),
            abstain_votes=int(abstain),
            quorum=quorum,
        )

    def _created(self, proposal_id: int) -> _Created:
        _core.check_int("proposal_id", proposal_id)
        # The governor's own check, so an unknown id raises GovernorNonexistentProposal.
        self._read(self._governor, "state", proposal_id)
        for created in self._all_created():
            if created.proposal_id == proposal_id:
                return created
        raise ValidationError("proposal_id", f"no ProposalCreated event for {proposal_id}")

    def _all_created(self) -> Iterable[_Created]:
        conn = self._client._conn
        event = self._governor.events.ProposalCreated()
        with conn.io():
            logs = conn.w3.eth.get_logs(
                {
                    "address": self._governor.address,
                    "fromBlock": 0,
                    "toBlock": "latest",
                    "topics": [event.topic],
                }
            )
        for log in logs:
            yield _created(event.process_log(log)["args"])

    def _operation(self, created: _Created) -> list[Any]:
        from eth_utils.crypto import keccak

        return [
            list(created.targets),
            list(created.values),
            list(created.calldatas),
            keccak(text=created.description),
        ]

    def _encode(self, action: Action) -> tuple[str, int, bytes]:
        market = self._client.contract
        if not action.function:
            return str(action.target), action.value, action.data
        data = market.encode_abi(action.function, args=list(action.args))
        return str(market.address), action.value, bytes.fromhex(data[2:])

    def _decode(self, target: str, value: int, data: bytes) -> Action:
        market = self._client.contract
        if target == market.address:
            try:
                fn, args = market.decode_function_input(data)
            except ValueError:
                pass
            else:
                names = [i["name"] for i in fn.abi["inputs"]]
                return Action(
                    function=fn.abi["name"], args=tuple(args[n] for n in names), value=value
                )
        return Action(function="", target=target, value=value, data=bytes(data))

    def _who(self, address: str | None) -> str:
        if address is None:
            return self._client._require_sender().address
        return _core.check_address("address", address)

    def _read(self, contract: Any, fn: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        return self._client._read(contract, fn, *args, block=block)

    def _send(
        self,
        contract: Any,
        fn: str,
        args: list[Any],
        finish: Callable[[TxReceipt], T],
        tx: TxOptions,
    ) -> T:
        result: T = self._client._transact(fn, args, finish, True, tx, contract=contract)  # type: ignore[assignment]
        return result


_WAIT = "wait, or advance time on a dev chain (client.chain.advance_time)"


def _utc(timestamp: int) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return f"{timestamp} ({moment:%Y-%m-%d %H:%M:%S} UTC)"


def _tx_result(receipt: TxReceipt) -> TxResult:
    return TxResult(
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        block_number=receipt["blockNumber"],
        gas_used=receipt["gasUsed"],
    )


def _created(args: Mapping[str, Any]) -> _Created:
    return _Created(
        proposal_id=int(args["proposalId"]),
        proposer=str(args["proposer"]),
        targets=tuple(str(t) for t in args["targets"]),
        values=tuple(int(v) for v in args["values"]),
        calldatas=tuple(bytes(c) for c in args["calldatas"]),
        vote_start=int(args["voteStart"]),
        vote_end=int(args["voteEnd"]),
        description=str(args["description"]),
    )
