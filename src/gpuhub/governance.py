"""Governance: participation votes, proposals and the typed actions they carry.

The marketplace's parameters (fee, treasury, pause switch, guardian, governance itself) belong to
an OpenZeppelin Governor whose timelock is the marketplace's governance address and treasury.
Votes are earned by paying the protocol: every rental that ends with a fee earns one voting unit
per wei of fee, half to its renter and the rest to its provider, minted by ``claim_votes()``.
Founders get a
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

The treasury cannot be bought with its own money: proposals that can move money or power (POWER,
see :class:`ProposalKind`) need a share of every voting unit ever granted or earned, above the
5% the treasury may pay out per 30 days; votes count only once held for ``vote_maturity()``
seconds; the guardian may cancel a proposal before it executes (docs/governance.md).

Every operation is a sans-I/O plan (:class:`GovernancePlans`), run by :class:`Governance` with
blocking I/O and by :class:`AsyncGovernance` awaited (``aclient.governance``), as the clients run
``_ops``. This module imports no web3 at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from . import _core
from .events import decoder_for
from .exceptions import (
    GovernorUnexpectedProposalState,
    NoGovernor,
    TimelockUnexpectedOperationState,
    ValidationError,
)
from .models import ProposalKind, ProposalState, TxResult, VoteSupport

if TYPE_CHECKING:
    from web3.types import BlockIdentifier

    from ._abi import ContractAbi
    from ._ops import Operations, Sent
    from ._transactions import Plan, Receipt, TxOptions

__all__ = [
    "BOOTSTRAP_UNITS",
    "Action",
    "AsyncGovernance",
    "Governance",
    "GovernancePlans",
    "GovernanceSettings",
    "Proposal",
    "ProposalKind",
    "ProposalState",
    "VoteSupport",
]

T = TypeVar("T")

#: voting units granted to each bootstrap holder by default (as many as 1 ETH of fees earns).
BOOTSTRAP_UNITS = 10**18
#: votes an account needs to propose, by default: 1% of the founders' grant; each unit is a wei
#: of fee, so an account earns it by paying 0.02 ETH of fees as a renter (half of each fee).
PROPOSAL_THRESHOLD = 10**16
#: the most a proposal's page may hold (``proposals(limit=...)``, the HTTP API's pages).
MAX_PROPOSAL_PAGE = 100

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
        quorum_percent: percent of the units claimed by the snapshot that must vote FOR or
            ABSTAIN on a PARAMETER proposal (fee, pause), 0..100.
        power_quorum_percent: percent of every unit ever granted or earned (claimed or not) that
            must vote FOR or ABSTAIN on a POWER proposal (payouts, roles, anything else); above
            the 5% the treasury may pay out per period, so that a capture costs its captor more
            in fees than it can take (docs/governance.md), and at most 100.
        vote_maturity: seconds units must be held before a proposal's snapshot to count in it.
        proposal_threshold: votes (matured) an account needs to propose.
        timelock_delay: seconds a passed proposal waits in the timelock before it can execute.
        guardian: an address that may pause (never unpause) and cancel proposals before they
            execute; None for none.
        bootstrap: voting units granted at deployment by address; None grants the deployer
            ``BOOTSTRAP_UNITS``; an empty mapping grants nobody (votes then come from fees only).
    """

    voting_delay: int = _DAY
    voting_period: int = 7 * _DAY
    quorum_percent: int = 4
    power_quorum_percent: int = 20
    vote_maturity: int = 7 * _DAY
    proposal_threshold: int = PROPOSAL_THRESHOLD
    timelock_delay: int = 2 * _DAY
    guardian: str | None = None
    bootstrap: Mapping[str, int] | None = None

    @classmethod
    def dev(cls, **overrides: Any) -> GovernanceSettings:
        """Short periods for dev chains: 1 s delay, 10 min vote, 1 min timelock; votes that
        count at once (no maturity) and no proposal threshold, so a demo claims, proposes and
        votes in one go, even within the second a node mines the deployment in."""
        return cls(
            **{
                "voting_delay": 1,
                "voting_period": 600,
                "timelock_delay": 60,
                "vote_maturity": 0,
                "proposal_threshold": 0,
                **overrides,
            }
        )

    def checked(self) -> GovernanceSettings:
        """These settings, or ValidationError naming the first one out of range."""
        _core.check_int("voting_delay", self.voting_delay, high=2**48 - 1)
        _core.check_int("voting_period", self.voting_period, low=1, high=2**32 - 1)
        _core.check_int("quorum_percent", self.quorum_percent, high=100)
        least = _core.MAX_PAYOUT_BPS // 100 + 1
        _core.check_int("power_quorum_percent", self.power_quorum_percent, low=least, high=100)
        _core.check_int("vote_maturity", self.vote_maturity)
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
        """Hand the treasury role to ``address``: it may then pay out the fees held, within the
        same payout limit (a POWER proposal)."""
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
        """Pay ``amount`` wei of the treasury's fees to ``to``: at most what
        ``client.payout_allowance()`` says when it executes (5% of the fees per 30 days)."""
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
        kind: PARAMETER (only fee and pause changes: the ordinary quorum) or POWER (anything
            else: the power quorum).
        vote_start: Unix time the vote opens (the snapshot: votes held then count).
        vote_end: Unix time the vote closes.
        eta: Unix time it can execute once queued; 0 while not queued.
        for_votes: units voted FOR.
        against_votes: units voted AGAINST.
        abstain_votes: units voted ABSTAIN.
        quorum: FOR + ABSTAIN units it needs: for a POWER proposal, the power share of every
            unit granted or earned when it was proposed; for a PARAMETER one, the ordinary share
            of the units claimed at its snapshot (of those claimed so far while the vote has not
            opened).
    """

    proposal_id: int
    proposer: str
    actions: tuple[Action, ...]
    description: str
    state: ProposalState
    kind: ProposalKind
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


class GovernancePlans:
    """Every governance operation as a sans-I/O plan, on a marketplace's ``Operations``.

    The shells (:class:`Governance`, :class:`AsyncGovernance`) only run these plans, so the
    blocking and the awaited forms cannot drift apart.
    """

    def __init__(self, market: Operations, governor: str, votes: str, timelock: str) -> None:
        from ._abi import packaged

        self.market = market
        self.governor = governor
        self.votes_address = votes
        self.timelock = timelock
        self._gov: ContractAbi = packaged("GPUHubGovernor")
        self._votes: ContractAbi = packaged("GPUHubVotes")
        self._lock: ContractAbi = packaged("GPUHubTimelock")

    @classmethod
    def find(cls, market: Operations) -> Plan[GovernancePlans]:
        """The governor, votes and timelock the marketplace names.

        Raises:
            NoGovernor: a plain address holds the marketplace's powers.
        """
        from ._abi import packaged

        governor = yield from market.call("governor")
        if int(governor, 16) == 0:
            holder = yield from market.call("governance")
            raise NoGovernor(
                f"this marketplace has no governor: {holder} holds its powers directly and "
                "sends set_fee, set_treasury and set_paused itself"
            )
        votes = yield from market.call("votes")
        timelock = yield from market.call_at(
            governor, packaged("GPUHubGovernor").functions["timelock"], ()
        )
        return cls(market, governor, votes, timelock)

    # ------------------------------------------------------------------ settings

    def voting_delay(self) -> Plan[int]:
        """Seconds from a proposal to the opening of its vote."""
        return int((yield from self._governor_call("votingDelay")))

    def voting_period(self) -> Plan[int]:
        """Seconds a vote stays open."""
        return int((yield from self._governor_call("votingPeriod")))

    def timelock_delay(self) -> Plan[int]:
        """Seconds a passed proposal waits in the timelock."""
        fn = self._lock.functions["getMinDelay"]
        return int((yield from self.market.call_at(self.timelock, fn, ())))

    def proposal_threshold(self) -> Plan[int]:
        """Votes an account needs to propose."""
        return int((yield from self._governor_call("proposalThreshold")))

    def quorum_percent(self) -> Plan[int]:
        """Percent of the claimed units a PARAMETER proposal needs FOR or ABSTAIN."""
        return int((yield from self._governor_call("quorumNumerator")))

    def power_quorum_percent(self) -> Plan[int]:
        """Percent of every unit ever granted or earned a POWER proposal needs."""
        return int((yield from self._governor_call("powerQuorumNumerator")))

    def vote_maturity(self) -> Plan[int]:
        """Seconds units must be held before a proposal's snapshot to count in it."""
        return int((yield from self._governor_call("voteMaturity")))

    # ------------------------------------------------------------------ votes

    def votes(self, address: str | None, timepoint: int | None) -> Plan[int]:
        """Votes of ``address`` now, or at Unix time ``timepoint``."""
        who = self._who(address)
        if timepoint is None:
            return int((yield from self._votes_call("getVotes", who)))
        when = _core.check_int("timepoint", timepoint)
        return int((yield from self._votes_call("getPastVotes", who, when)))

    def voting_power(self, address: str | None, timepoint: int) -> Plan[int]:
        """Votes of ``address`` that count in a vote whose snapshot is ``timepoint``: the least
        it held then and ``vote_maturity()`` seconds before."""
        who = self._who(address)
        when = _core.check_int("timepoint", timepoint)
        return int((yield from self._governor_call("getVotes", who, when)))

    def pending_votes(self, address: str | None) -> Plan[int]:
        """Units earned by ``address`` and not claimed yet."""
        return int((yield from self.market.call("pendingVotes", self._who(address))))

    def units(self, address: str | None) -> Plan[int]:
        """Voting units ``address`` holds."""
        return int((yield from self._votes_call("unitsOf", self._who(address))))

    def total_units(self) -> Plan[int]:
        """Every voting unit minted so far."""
        return int((yield from self._votes_call("totalUnits")))

    def delegate_of(self, address: str | None) -> Plan[str]:
        """Whom ``address`` delegates its votes to."""
        return str((yield from self._votes_call("delegates", self._who(address))))

    def claim_votes(self, tx: TxOptions) -> Plan[int]:
        """Mint the sender's earned units; returns how many."""

        def claimed(receipt: Receipt) -> Plan[int]:
            from ._transactions import done

            (event,) = self.market.events(receipt, "VotesClaimed")
            return done(int(event["units"]))

        return (yield from _mined(self.market.transact("claimVotes", [], claimed, tx), tx))

    def delegate(self, to: str, tx: TxOptions) -> Plan[TxResult]:
        """Give the sender's votes to ``to``."""
        fn = self._votes.functions["delegate"]
        args = [_core.check_address("to", to)]
        sent = self.market.transact_at(self.votes_address, fn, args, _tx_result, tx)
        return (yield from _mined(sent, tx))

    # ------------------------------------------------------------------ proposals

    def propose(self, actions: Sequence[Action], description: str, tx: TxOptions) -> Plan[Proposal]:
        """Propose ``actions``; the proposal as of the block that mined it."""
        if isinstance(actions, Action) or not isinstance(actions, Sequence) or not actions:
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

        def proposed(receipt: Receipt) -> Plan[Proposal]:
            emitter = (self.governor, decoder_for("GPUHubGovernor"))
            (event,) = self.market.events(receipt, "ProposalCreated", emitter)
            return (yield from self._proposal(_created(event), receipt.block_number))

        fn = self._gov.functions["propose"]
        args = [targets, values, calldatas, description]
        sent = self.market.transact_at(self.governor, fn, args, proposed, tx)
        return (yield from _mined(sent, tx))

    def vote(
        self, proposal_id: int, support: VoteSupport, reason: str, tx: TxOptions
    ) -> Plan[Proposal]:
        """Vote on an ACTIVE proposal."""
        if isinstance(support, bool) or not isinstance(support, int) or support not in (0, 1, 2):
            raise ValidationError("support", "use gpuhub.VoteSupport.FOR, AGAINST or ABSTAIN")
        if not isinstance(reason, str):
            raise ValidationError("reason", "expected a str")
        created = yield from self._created(proposal_id)
        fn, args = (
            ("castVoteWithReason", [proposal_id, int(support), reason])
            if reason
            else ("castVote", [proposal_id, int(support)])
        )
        return (yield from self._step(created, fn, args, tx))

    def queue(self, proposal_id: int, tx: TxOptions) -> Plan[Proposal]:
        """Queue a SUCCEEDED proposal in the timelock."""
        created = yield from self._created(proposal_id)
        return (yield from self._step(created, "queue", _operation(created), tx))

    def execute(self, proposal_id: int, tx: TxOptions) -> Plan[Proposal]:
        """Execute a QUEUED proposal whose delay has passed."""
        created = yield from self._created(proposal_id)
        return (yield from self._step(created, "execute", _operation(created), tx))

    def cancel(self, proposal_id: int, tx: TxOptions) -> Plan[Proposal]:
        """Cancel a proposal: its proposer while it is PENDING, the guardian before it executes."""
        created = yield from self._created(proposal_id)
        return (yield from self._step(created, "cancel", _operation(created), tx))

    def proposal(self, proposal_id: int) -> Plan[Proposal]:
        """One proposal by id."""
        return (yield from self._proposal((yield from self._created(proposal_id))))

    def proposals(self, offset: int, limit: int | None) -> Plan[list[Proposal]]:
        """Up to ``limit`` proposals from the ``offset``-th, oldest first, read in one batch."""
        _core.check_int("offset", offset)
        if limit is not None:
            _core.check_int("limit", limit, low=1, high=MAX_PROPOSAL_PAGE)
        created = yield from self._all_created()
        end = len(created) if limit is None else offset + limit
        return (yield from self._proposals(created[offset:end]))

    def proposal_count(self) -> Plan[int]:
        """How many proposals were ever made."""
        return len((yield from self._all_created()))

    # ------------------------------------------------------------------ plumbing

    def _governor_call(self, name: str, *args: Any, block: BlockIdentifier = "latest") -> Plan[Any]:
        return (
            yield from self.market.call_at(self.governor, self._gov.functions[name], args, block)
        )

    def _votes_call(self, name: str, *args: Any, block: BlockIdentifier = "latest") -> Plan[Any]:
        fn = self._votes.functions[name]
        return (yield from self.market.call_at(self.votes_address, fn, args, block))

    def _step(self, created: _Created, fn: str, args: list[Any], tx: TxOptions) -> Plan[Proposal]:
        def stepped(receipt: Receipt) -> Plan[Proposal]:
            return self._proposal(created, receipt.block_number)

        sending = self.market.transact_at(self.governor, self._gov.functions[fn], args, stepped, tx)
        try:
            return (yield from _mined(sending, tx))
        except (GovernorUnexpectedProposalState, TimelockUnexpectedOperationState) as err:
            detail = yield from self._when(created)
            raise err.with_detail(detail) from None

    def _when(self, created: _Created) -> Plan[str]:
        """When the proposal can take its next step, in words."""
        state = ProposalState((yield from self._governor_call("state", created.proposal_id)))
        if state is ProposalState.PENDING:
            return f"voting starts after {_utc(created.vote_start)}; {_WAIT}"
        if state is ProposalState.ACTIVE:
            return f"voting ends at {_utc(created.vote_end)}; {_WAIT}"
        if state is ProposalState.QUEUED:
            eta = int((yield from self._governor_call("proposalEta", created.proposal_id)))
            return f"it can execute from {_utc(eta)}; {_WAIT}"
        if state is ProposalState.SUCCEEDED:
            return "it passed: queue it first"
        return f"it is {state.name} and can take no further step"

    def _proposal(self, created: _Created, block: BlockIdentifier = "latest") -> Plan[Proposal]:
        (found,) = yield from self._proposals([created], block)
        return found

    def _proposals(
        self, created: Sequence[_Created], block: BlockIdentifier = "latest"
    ) -> Plan[list[Proposal]]:
        """The proposals ``created`` announced, as of ``block``, in one batch of calls."""
        from ._transactions import Batch

        if not created:
            return []
        names = ("state", "proposalVotes", "proposalEta", "proposalKind", "proposalQuorum")
        fns = [self._gov.functions[name] for name in names]
        requests = tuple(
            self.market.call_request(fn, (c.proposal_id,), block, self.governor)
            for c in created
            for fn in fns
        )
        answers = yield Batch(requests)
        found = []
        for i, one in enumerate(created):
            raw = answers[i * len(fns) : (i + 1) * len(fns)]
            state, tally, eta, kind, quorum = (
                fn.result(self.market.returned(answer, self.governor))
                for fn, answer in zip(fns, raw, strict=True)
            )
            against, for_, abstain = tally
            found.append(
                Proposal(
                    proposal_id=one.proposal_id,
                    proposer=one.proposer,
                    actions=tuple(
                        self._decode(t, v, d)
                        for t, v, d in zip(one.targets, one.values, one.calldatas, strict=True)
                    ),
                    description=one.description,
                    state=ProposalState(state),
                    kind=ProposalKind(kind),
                    vote_start=one.vote_start,
                    vote_end=one.vote_end,
                    eta=int(eta),
                    for_votes=int(for_),
                    against_votes=int(against),
                    abstain_votes=int(abstain),
                    quorum=int(quorum),
                )
            )
        return found

    def _created(self, proposal_id: int) -> Plan[_Created]:
        _core.check_int("proposal_id", proposal_id)
        # The governor's own check, so an unknown id raises GovernorNonexistentProposal.
        yield from self._governor_call("state", proposal_id)
        for created in (yield from self._all_created()):
            if created.proposal_id == proposal_id:
                return created
        raise ValidationError("proposal_id", f"no ProposalCreated event for {proposal_id}")

    def _all_created(self) -> Plan[list[_Created]]:
        from ._transactions import Log, Rpc

        decoder = decoder_for("GPUHubGovernor")
        query = {
            "address": self.governor,
            "fromBlock": "0x0",
            "toBlock": "latest",
            "topics": [decoder.topics["ProposalCreated"]],
        }
        logs = [Log.parse(raw) for raw in ((yield Rpc("eth_getLogs", [query])) or [])]
        found = (decoder.args_of("ProposalCreated", log.topics, log.data) for log in logs)
        return [_created(args) for args in found if args is not None]

    def _encode(self, action: Action) -> tuple[str, int, bytes]:
        if not action.function:
            return str(action.target), action.value, action.data
        fn = self.market.fn(action.function)
        return self.market.conn.address, action.value, fn.calldata_bytes(list(action.args))

    def _decode(self, target: str, value: int, data: bytes) -> Action:
        if target == self.market.conn.address:
            fn = self.market.conn.abi.function_for(data)
            if fn is not None:
                try:
                    args = fn.arguments(data)
                except Exception:  # calldata that does not decode is shown raw
                    pass
                else:
                    return Action(function=fn.name, args=args, value=value)
        return Action(function="", target=target, value=value, data=bytes(data))

    def _who(self, address: str | None) -> str:
        if address is None:
            return self.market.require_sender().address
        return _core.check_address("address", address)


class Governance:
    """The marketplace's governor, votes and timelock, on a client's connection and account.

    Get it as ``client.governance``; the governor is found from the marketplace. Reads work on a
    read-only client; writes send from the client's account.
    """

    def __init__(self, plans: GovernancePlans, run: Callable[[Plan[Any]], Any]) -> None:
        self._plans = plans
        self._run = run

    def __repr__(self) -> str:
        sender = self._plans.market.sender
        return f"Governance(governor={self.address}, account={sender and sender.address})"

    @property
    def address(self) -> str:
        """The governor's address."""
        return self._plans.governor

    @property
    def timelock(self) -> str:
        """The timelock's address: the marketplace's governance address and treasury."""
        return self._plans.timelock

    @property
    def votes_address(self) -> str:
        """The participation votes contract's address."""
        return self._plans.votes_address

    def voting_delay(self) -> int:
        """Seconds from a proposal to the opening of its vote."""
        return int(self._run(self._plans.voting_delay()))

    def voting_period(self) -> int:
        """Seconds a vote stays open."""
        return int(self._run(self._plans.voting_period()))

    def timelock_delay(self) -> int:
        """Seconds a passed proposal waits in the timelock."""
        return int(self._run(self._plans.timelock_delay()))

    def proposal_threshold(self) -> int:
        """Votes an account needs to propose."""
        return int(self._run(self._plans.proposal_threshold()))

    def quorum_percent(self) -> int:
        """Percent of the units claimed by its snapshot a PARAMETER proposal (fee, pause) needs
        FOR or ABSTAIN."""
        return int(self._run(self._plans.quorum_percent()))

    def power_quorum_percent(self) -> int:
        """Percent of every unit ever granted or earned, claimed or not, a POWER proposal
        (payouts, roles, anything else) needs FOR or ABSTAIN."""
        return int(self._run(self._plans.power_quorum_percent()))

    def vote_maturity(self) -> int:
        """Seconds units must be held before a proposal's snapshot to count in its vote."""
        return int(self._run(self._plans.vote_maturity()))

    def votes(self, address: str | None = None, *, timepoint: int | None = None) -> int:
        """Votes ``address`` (default: this account) has now, or had at Unix time ``timepoint``
        (which must have passed)."""
        return int(self._run(self._plans.votes(address, timepoint)))

    def voting_power(self, address: str | None = None, *, timepoint: int) -> int:
        """Votes ``address`` (default: this account) casts in a vote whose snapshot is Unix time
        ``timepoint`` (which must have passed): the least it held then and ``vote_maturity()``
        seconds before. ``proposal.vote_start`` is a proposal's snapshot."""
        return int(self._run(self._plans.voting_power(address, timepoint)))

    def pending_votes(self, address: str | None = None) -> int:
        """Units ``address`` (default: this account) has earned and not claimed yet."""
        return int(self._run(self._plans.pending_votes(address)))

    def units(self, address: str | None = None) -> int:
        """Voting units ``address`` (default: this account) holds, whoever it delegates to."""
        return int(self._run(self._plans.units(address)))

    def total_units(self) -> int:
        """Every voting unit minted so far (bootstrap grants and claims)."""
        return int(self._run(self._plans.total_units()))

    def delegate_of(self, address: str | None = None) -> str:
        """Whom ``address`` (default: this account) delegates its votes to."""
        return str(self._run(self._plans.delegate_of(address)))

    def claim_votes(self, **tx: Unpack[TxOptions]) -> int:
        """Mint this account's earned units; returns how many.

        Raises:
            NoVotesToClaim: nothing is pending (``pending_votes()`` is 0).
        """
        return int(self._run(self._plans.claim_votes(tx)))

    def delegate(self, to: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Give this account's votes to ``to`` (itself to take them back)."""
        result: TxResult = self._run(self._plans.delegate(to, tx))
        return result

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
        result: Proposal = self._run(self._plans.propose(actions, description, tx))
        return result

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
        result: Proposal = self._run(self._plans.vote(proposal_id, support, reason, tx))
        return result

    def queue(self, proposal_id: int, **tx: Unpack[TxOptions]) -> Proposal:
        """Queue a SUCCEEDED proposal in the timelock; it can execute ``timelock_delay()`` later.

        Raises:
            GovernorUnexpectedProposalState: it has not passed (still voting, defeated, short of
                quorum, or queued already).
        """
        result: Proposal = self._run(self._plans.queue(proposal_id, tx))
        return result

    def execute(self, proposal_id: int, **tx: Unpack[TxOptions]) -> Proposal:
        """Execute a QUEUED proposal whose timelock delay has passed; anyone may.

        Raises:
            TimelockUnexpectedOperationState: the delay has not passed yet.
            GovernorUnexpectedProposalState: it was never queued, or has run already.
        """
        result: Proposal = self._run(self._plans.execute(proposal_id, tx))
        return result

    def cancel(self, proposal_id: int, **tx: Unpack[TxOptions]) -> Proposal:
        """Cancel a proposal; it is CANCELED for good. Its proposer may while it is PENDING; the
        marketplace's guardian at any time before it executes (queued in the timelock too),
        except a proposal that only replaces the guardian.

        Raises:
            GovernorUnableToCancel: this account may not cancel it.
            GovernorUnexpectedProposalState: it has executed, expired or been canceled already.
        """
        result: Proposal = self._run(self._plans.cancel(proposal_id, tx))
        return result

    def proposal(self, proposal_id: int) -> Proposal:
        """One proposal by id.

        Raises:
            GovernorNonexistentProposal: no proposal has this id.
        """
        result: Proposal = self._run(self._plans.proposal(proposal_id))
        return result

    def proposals(self, *, offset: int = 0, limit: int | None = None) -> list[Proposal]:
        """Proposals oldest first, from the ``offset``-th, at most ``limit`` of them (1..100;
        None for all), read from the governor's ProposalCreated events and one batch of calls.

        Example::

            >>> gov.proposals(offset=gov.proposal_count() - 10, limit=10)   # the latest ten
        """
        result: list[Proposal] = self._run(self._plans.proposals(offset, limit))
        return result

    def proposal_count(self) -> int:
        """How many proposals were ever made (``proposals()`` pages through them)."""
        return int(self._run(self._plans.proposal_count()))


class AsyncGovernance:
    """:class:`Governance` awaited: ``aclient.governance``, every method a coroutine.

    The governor is found from the marketplace on the first call, so a market without one raises
    ``NoGovernor`` there.
    """

    def __init__(
        self,
        find: Callable[[], Awaitable[GovernancePlans]],
        run: Callable[[Plan[Any]], Awaitable[Any]],
    ) -> None:
        self._find = find
        self._run = run
        self._found: GovernancePlans | None = None

    def __repr__(self) -> str:
        governor = self._found.governor if self._found else "(not looked up yet)"
        return f"AsyncGovernance(governor={governor})"

    async def _plans(self) -> GovernancePlans:
        if self._found is None:
            self._found = await self._find()
        return self._found

    async def address(self) -> str:
        """The governor's address."""
        return (await self._plans()).governor

    async def timelock(self) -> str:
        """The timelock's address: the marketplace's governance address and treasury."""
        return (await self._plans()).timelock

    async def votes_address(self) -> str:
        """The participation votes contract's address."""
        return (await self._plans()).votes_address

    async def voting_delay(self) -> int:
        """Seconds from a proposal to the opening of its vote."""
        return int(await self._run((await self._plans()).voting_delay()))

    async def voting_period(self) -> int:
        """Seconds a vote stays open."""
        return int(await self._run((await self._plans()).voting_period()))

    async def timelock_delay(self) -> int:
        """Seconds a passed proposal waits in the timelock."""
        return int(await self._run((await self._plans()).timelock_delay()))

    async def proposal_threshold(self) -> int:
        """Votes an account needs to propose."""
        return int(await self._run((await self._plans()).proposal_threshold()))

    async def quorum_percent(self) -> int:
        """Percent of the claimed units a PARAMETER proposal needs FOR or ABSTAIN."""
        return int(await self._run((await self._plans()).quorum_percent()))

    async def power_quorum_percent(self) -> int:
        """Percent of every unit ever granted or earned a POWER proposal needs."""
        return int(await self._run((await self._plans()).power_quorum_percent()))

    async def vote_maturity(self) -> int:
        """Seconds units must be held before a proposal's snapshot to count in its vote."""
        return int(await self._run((await self._plans()).vote_maturity()))

    async def votes(self, address: str | None = None, *, timepoint: int | None = None) -> int:
        """Votes ``address`` (default: this account) has now, or had at ``timepoint``."""
        return int(await self._run((await self._plans()).votes(address, timepoint)))

    async def voting_power(self, address: str | None = None, *, timepoint: int) -> int:
        """Votes ``address`` casts in a vote whose snapshot is ``timepoint``."""
        return int(await self._run((await self._plans()).voting_power(address, timepoint)))

    async def pending_votes(self, address: str | None = None) -> int:
        """Units ``address`` (default: this account) has earned and not claimed yet."""
        return int(await self._run((await self._plans()).pending_votes(address)))

    async def units(self, address: str | None = None) -> int:
        """Voting units ``address`` (default: this account) holds."""
        return int(await self._run((await self._plans()).units(address)))

    async def total_units(self) -> int:
        """Every voting unit minted so far."""
        return int(await self._run((await self._plans()).total_units()))

    async def delegate_of(self, address: str | None = None) -> str:
        """Whom ``address`` (default: this account) delegates its votes to."""
        return str(await self._run((await self._plans()).delegate_of(address)))

    async def claim_votes(self, **tx: Unpack[TxOptions]) -> int:
        """Mint this account's earned units; returns how many."""
        return int(await self._run((await self._plans()).claim_votes(tx)))

    async def delegate(self, to: str, **tx: Unpack[TxOptions]) -> TxResult:
        """Give this account's votes to ``to``."""
        result: TxResult = await self._run((await self._plans()).delegate(to, tx))
        return result

    async def propose(
        self, actions: Sequence[Action], description: str, **tx: Unpack[TxOptions]
    ) -> Proposal:
        """Propose ``actions`` with a description."""
        result: Proposal = await self._run((await self._plans()).propose(actions, description, tx))
        return result

    async def vote(
        self,
        proposal_id: int,
        support: VoteSupport,
        *,
        reason: str = "",
        **tx: Unpack[TxOptions],
    ) -> Proposal:
        """Vote on an ACTIVE proposal."""
        plans = await self._plans()
        result: Proposal = await self._run(plans.vote(proposal_id, support, reason, tx))
        return result

    async def queue(self, proposal_id: int, **tx: Unpack[TxOptions]) -> Proposal:
        """Queue a SUCCEEDED proposal in the timelock."""
        result: Proposal = await self._run((await self._plans()).queue(proposal_id, tx))
        return result

    async def execute(self, proposal_id: int, **tx: Unpack[TxOptions]) -> Proposal:
        """Execute a QUEUED proposal whose timelock delay has passed."""
        result: Proposal = await self._run((await self._plans()).execute(proposal_id, tx))
        return result

    async def cancel(self, proposal_id: int, **tx: Unpack[TxOptions]) -> Proposal:
        """Cancel a proposal (its proposer while PENDING, the guardian before it executes)."""
        result: Proposal = await self._run((await self._plans()).cancel(proposal_id, tx))
        return result

    async def proposal(self, proposal_id: int) -> Proposal:
        """One proposal by id."""
        result: Proposal = await self._run((await self._plans()).proposal(proposal_id))
        return result

    async def proposals(self, *, offset: int = 0, limit: int | None = None) -> list[Proposal]:
        """Proposals oldest first, from the ``offset``-th, at most ``limit`` (1..100) of them."""
        plans = await self._plans()
        result: list[Proposal] = await self._run(plans.proposals(offset, limit))
        return result

    async def proposal_count(self) -> int:
        """How many proposals were ever made."""
        return int(await self._run((await self._plans()).proposal_count()))


def _mined(sending: Plan[Sent[T]], tx: TxOptions) -> Plan[T]:
    """``_ops.mined``, imported on first use so that ``import gpuhub`` loads no ABI codec."""
    from ._ops import mined

    return mined(sending, tx)


_WAIT = "wait, or advance time on a dev chain (client.chain.advance_time)"


def _utc(timestamp: int) -> str:
    from ._display import when

    return f"{timestamp} ({when(timestamp)})"


def _tx_result(receipt: Receipt) -> Plan[TxResult]:
    """``_ops.tx_result``, imported on first use (as ``_mined``)."""
    from ._ops import tx_result

    return tx_result(receipt)


def _operation(created: _Created) -> list[Any]:
    from eth_utils.crypto import keccak

    return [
        list(created.targets),
        list(created.values),
        list(created.calldatas),
        keccak(text=created.description),
    ]


def _created(args: Mapping[str, Any]) -> _Created:
    from eth_utils.address import to_checksum_address

    return _Created(
        proposal_id=int(args["proposalId"]),
        proposer=str(args["proposer"]),
        targets=tuple(to_checksum_address(t) for t in args["targets"]),
        values=tuple(int(v) for v in args["values"]),
        calldatas=tuple(bytes(c) for c in args["calldatas"]),
        vote_start=int(args["voteStart"]),
        vote_end=int(args["voteEnd"]),
        description=str(args["description"]),
    )
