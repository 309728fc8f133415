"""Every error gpuhub raises.

The tree::

    GPUHubError
    ├── ValidationError (also ValueError)     bad argument, caught before anything is sent
    │   ├── UnknownOption (also TypeError)    a keyword option the call does not take
    │   ├── QueryError                        a search query that does not parse, with its position
    │   └── RelayRefused                      a signed transaction the relay will not send (another
    │                                         signer, chain or target, a nonce not next)
    ├── ContractError                         the contract reverted with one of its custom errors
    │   ├── ListingNotFound
    │   ├── NotListingProvider
    │   ├── ListingNotAvailable
    │   ├── InvalidStatusTransition
    │   ├── InvalidGpuModel
    │   ├── GpuModelNotUtf8
    │   ├── GpuModelControlCharacter
    │   ├── InvalidCapacity
    │   ├── InvalidPrice
    │   ├── InvalidUnit
    │   ├── InvalidDurationRange
    │   ├── InvalidDuration
    │   ├── TermsChanged
    │   ├── InsufficientPayment
    │   ├── PaymentTooLarge
    │   ├── CannotRentOwnListing
    │   ├── RentalNotFound
    │   ├── RentalNotActive
    │   ├── NotRenter
    │   ├── NotRentalParty
    │   ├── RentalExpired
    │   ├── RentalNotExpired
    │   ├── NoActiveRental
    │   ├── NothingToWithdraw
    │   ├── WithdrawFailed
    │   ├── Reentrancy
    │   ├── MarketplacePaused
    │   ├── NotGovernance
    │   ├── FeeTooHigh
    │   ├── InvalidAddress
    │   ├── NotGuardian
    │   ├── NotTreasury
    │   ├── InsufficientTreasury
    │   ├── PayoutLimitExceeded
    │   ├── NoVotesToClaim
    │   ├── NoVotesContract
    │   ├── BalanceOverflow
    │   ├── InvalidScore
    │   ├── CommentTooLong
    │   ├── CommentNotUtf8
    │   ├── CommentControlCharacter
    │   ├── RentalNotOver
    │   ├── AlreadyRated
    │   ├── RatingWeightOverflow
    │   ├── AccessPayloadTooLong
    │   └── ... OpenZeppelin's errors from the governor, timelock and votes contracts,
    │       such as GovernorNonexistentProposal, GovernorUnexpectedProposalState,
    │       GovernorAlreadyCastVote, TimelockUnexpectedOperationState, and the governor's
    │       own GovernorInvalidPowerQuorum
    ├── TransactionError                      a transaction failed without a custom error
    │   ├── TransactionReverted               reverted with a plain reason, a panic or no data
    │   │   └── OutOfGas                      used its whole gas limit
    │   ├── TransactionRejected               the node refused it; nothing was sent (also
    │   │   │                                 RequestRejected)
    │   │   └── InsufficientFunds             the sender cannot pay value + gas
    │   ├── TransactionTimeout                no receipt within the timeout
    │   │   └── TransactionDropped            it can never be mined (its nonce was taken)
    │   └── TransactionOutcomeUnknown         sent, then the connection failed (also
    │                                         ConnectionFailed): check tx_hash before resending
    ├── RequestRejected                       the node refused a request (its message says why)
    ├── ConnectionFailed                      the node cannot be reached
    │   └── MalformedResponse                 it answered something that is no JSON-RPC answer
    ├── ContractNotDeployed                   no marketplace code at the given address
    │   └── NotAMarketplace                   code there, but not a GPUHub marketplace
    ├── NoGovernor                            client.governance on a market without a governor
    ├── TransactionNotFound (also LookupError) no marketplace transaction has this hash
    ├── MarketIndexError                      the index cannot be used as it is; says how to rebuild
    ├── ConfigError (also ValueError)         a setting is malformed, or a needed one is missing
    ├── KeystoreError                         a keystore cannot be created, read or unlocked (wrong
    │   │                                     password, not a keystore, alias taken)
    │   └── AccountNotFound (also LookupError) no keystore has this alias or address
    ├── MissingDependency (also ImportError)  an optional extra is not installed
    ├── GPUDetectionError                     no NVIDIA GPU could be read (no driver, no
    │                                         nvidia-smi, or nvidia-smi reported an error)
    ├── AccessPayloadError (also ValueError)  an access request or grant that does not decode
    └── WebhookVerificationError (also        a webhook's headers or signature do not check
        ValueError)                           out (gpuhub.webhooks.verify)

Each :class:`ContractError` subclass has the name of a Solidity custom error in
``contracts/GPUHub.sol`` or in the governance contracts (``contracts/governance/`` and the
OpenZeppelin code they build on) and carries its fields as attributes in snake_case, so code
can match on the type and read the details::

    try:
        client.fulfill_request(7)
    except gpuhub.NotListingProvider as exc:
        print(exc.listing_id, exc.caller)

A test holds this set of classes against the errors in the shipped ABIs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .models import ProposalState

__all__ = [
    "AccessControlBadConfirmation",
    "AccessControlUnauthorizedAccount",
    "AccessPayloadError",
    "AccessPayloadTooLong",
    "AccountNotFound",
    "AlreadyRated",
    "BalanceOverflow",
    "CannotRentOwnListing",
    "CheckpointUnorderedInsertion",
    "CommentControlCharacter",
    "CommentNotUtf8",
    "CommentTooLong",
    "ConfigError",
    "ConnectionFailed",
    "ContractError",
    "ContractNotDeployed",
    "ECDSAInvalidSignature",
    "ECDSAInvalidSignatureLength",
    "ECDSAInvalidSignatureS",
    "ERC5805FutureLookup",
    "ERC6372InconsistentClock",
    "FailedCall",
    "FeeTooHigh",
    "GPUDetectionError",
    "GPUHubError",
    "GovernorAlreadyCastVote",
    "GovernorAlreadyQueuedProposal",
    "GovernorDisabledDeposit",
    "GovernorInsufficientProposerVotes",
    "GovernorInvalidPowerQuorum",
    "GovernorInvalidProposalLength",
    "GovernorInvalidQuorumFraction",
    "GovernorInvalidSignature",
    "GovernorInvalidVoteParams",
    "GovernorInvalidVoteType",
    "GovernorInvalidVotingPeriod",
    "GovernorNonexistentProposal",
    "GovernorOnlyExecutor",
    "GovernorProposalQueueingFailed",
    "GovernorProposalQueueingNotRequired",
    "GovernorRestrictedProposer",
    "GovernorUnableToCancel",
    "GovernorUnexpectedProposalState",
    "GpuModelControlCharacter",
    "GpuModelNotUtf8",
    "GrantLengthMismatch",
    "InsufficientFunds",
    "InsufficientPayment",
    "InsufficientTreasury",
    "InvalidAccountNonce",
    "InvalidAddress",
    "InvalidCapacity",
    "InvalidDuration",
    "InvalidDurationRange",
    "InvalidGpuModel",
    "InvalidPrice",
    "InvalidScore",
    "InvalidShortString",
    "InvalidStatusTransition",
    "InvalidUnit",
    "KeystoreError",
    "ListingNotAvailable",
    "ListingNotFound",
    "MalformedResponse",
    "MarketIndexError",
    "MarketplacePaused",
    "MissingDependency",
    "NoActiveRental",
    "NoGovernor",
    "NoVotesContract",
    "NoVotesToClaim",
    "NotAMarketplace",
    "NotGovernance",
    "NotGuardian",
    "NotListingProvider",
    "NotMarketplace",
    "NotRentalParty",
    "NotRenter",
    "NotTreasury",
    "NothingToWithdraw",
    "OutOfGas",
    "PaymentTooLarge",
    "PayoutLimitExceeded",
    "QueryError",
    "RatingWeightOverflow",
    "Reentrancy",
    "RelayRefused",
    "RentalExpired",
    "RentalNotActive",
    "RentalNotExpired",
    "RentalNotFound",
    "RentalNotOver",
    "RequestRejected",
    "SafeCastOverflowedUintDowncast",
    "StringTooLong",
    "TermsChanged",
    "TimelockInsufficientDelay",
    "TimelockInvalidOperationLength",
    "TimelockUnauthorizedCaller",
    "TimelockUnexecutedPredecessor",
    "TimelockUnexpectedOperationState",
    "TransactionDropped",
    "TransactionError",
    "TransactionNotFound",
    "TransactionOutcomeUnknown",
    "TransactionRejected",
    "TransactionReverted",
    "TransactionTimeout",
    "UnknownOption",
    "ValidationError",
    "VotesExpiredSignature",
    "WebhookVerificationError",
    "WithdrawFailed",
]


class GPUHubError(Exception):
    """Root of every error raised by gpuhub."""

    def _repr_html_(self) -> str:
        """The error as a table in a notebook: its name, message and fields."""
        from ._display import error_html

        return error_html(self)


class ValidationError(GPUHubError, ValueError):
    """An argument is invalid; raised before any transaction is sent.

    Attributes:
        field: the name of the offending argument.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class RelayRefused(ValidationError):
    """A signed transaction that ``relay`` will not hand to the node, and why: it does not
    decode, was signed by another account than the one named, for another chain or another
    contract than the marketplace, or at a nonce that is not its signer's next. Nothing was
    sent; ``field`` names the part at fault (``raw``, ``from``, ``chainId``, ``to``, ``nonce``)."""


class UnknownOption(ValidationError, TypeError):
    """A keyword option that the call does not take (``gass=...``), named in ``field``; also a
    ``TypeError``, as Python raises for an unexpected keyword argument."""


class QueryError(ValidationError):
    """A search query that does not parse or names something that does not exist.

    Attributes:
        position: 0-based offset in the query string where the problem starts.
        query: the query string.
    """

    def __init__(self, message: str, *, position: int, query: str) -> None:
        super().__init__("query", f"{message} (at position {position})")
        self.position = position
        self.query = query


class ContractError(GPUHubError):
    """The contract reverted with a custom error; subclasses are named after it.

    Attributes:
        fields: the error's arguments by their snake_case names, also set as attributes.
    """

    #: snake_case names of the Solidity error's parameters, in order.
    fields: ClassVar[tuple[str, ...]] = ()
    #: what the caller can do about it, appended to the message.
    hint: ClassVar[str] = ""

    def __init__(self, *args: Any) -> None:
        if len(args) != len(self.fields):
            raise TypeError(f"{type(self).__name__} takes {len(self.fields)} arguments")
        self.values = dict(zip(self.fields, args, strict=True))
        for name, value in self.values.items():
            # A field named like one of ContractError's own attributes (OpenZeppelin's
            # ``values``) is read as ``exc.values[name]``.
            if name not in ("values", "fields", "hint"):
                setattr(self, name, value)
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.values.items())
        message = f"{type(self).__name__}({shown})"
        hint = self._explain()
        super().__init__(f"{message}: {hint}" if hint else message)

    def _explain(self) -> str:
        """The hint for this instance (subclasses may word it from their fields)."""
        return self.hint

    def with_detail(self, detail: str) -> ContractError:
        """This error with ``detail`` (what the caller knows beyond the revert) added to its
        message; returns itself."""
        self.args = (f"{self.args[0]}; {detail}", *self.args[1:])
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), tuple(self.values.values()))


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else repr(value)


class ListingNotFound(ContractError):
    """No listing has this id."""

    fields = ("listing_id",)
    hint = "ids run from 0 to listing_count() - 1"
    listing_id: int


class NotListingProvider(ContractError):
    """Only the listing's provider may change it."""

    fields = ("listing_id", "caller")
    hint = "send from the provider's account (client.with_account(provider))"
    listing_id: int
    caller: str


class ListingNotAvailable(ContractError):
    """The listing cannot be rented in its current status."""

    fields = ("listing_id", "status")
    hint = "pick a listing whose status is AVAILABLE (list_gpus() shows them)"
    listing_id: int
    status: Any


class InvalidStatusTransition(ContractError):
    """The listing's current status does not allow the requested change."""

    fields = ("listing_id", "current", "requested")
    hint = "read the listing first; removed listings never change again"
    listing_id: int
    current: Any
    requested: Any


class InvalidGpuModel(ContractError):
    """The GPU model name must be 1 to 64 bytes long."""

    fields = ("length",)
    hint = "use a model name of 1 to 64 bytes (UTF-8)"
    length: int


class GpuModelNotUtf8(ContractError):
    """The GPU model name is not well-formed UTF-8 (the contract refuses it)."""

    fields = ("offset",)
    hint = "the byte at this offset starts an invalid UTF-8 sequence; send text, not raw bytes"
    offset: int


class GpuModelControlCharacter(ContractError):
    """The GPU model name holds a control character (U+0000..U+001F, U+007F or U+0080..U+009F),
    which the contract refuses so that every database and terminal can hold the name."""

    fields = ("offset",)
    hint = "the character at this byte offset is a control character; send printable text"
    offset: int


class InvalidCapacity(ContractError):
    """Capacity (GPU memory in GB) must be between 1 and 65535."""

    fields = ("capacity",)
    hint = "capacity is GPU memory in GB, 1 to 65535"
    capacity: int


class InvalidPrice(ContractError):
    """Price must be between 1 wei and 2**96 - 1 wei per unit."""

    fields = ("price",)
    hint = "price is wei per unit, 1 to 2**96 - 1"
    price: int


class InvalidUnit(ContractError):
    """Unit must be MINUTE (0), HOUR (1) or DAY (2)."""

    fields = ("unit",)
    hint = "use gpuhub.PriceUnit.MINUTE, HOUR or DAY"
    unit: int


class InvalidDurationRange(ContractError):
    """Duration bounds must satisfy 1 <= min_duration <= max_duration <= 2**24 - 1."""

    fields = ("min_duration", "max_duration")
    hint = "durations are counted in units: 1 <= min_duration <= max_duration <= 16777215"
    min_duration: int
    max_duration: int


class InvalidDuration(ContractError):
    """A rental's length is outside the listing's bounds."""

    fields = ("duration", "min_duration", "max_duration")
    hint = "rent (or extend to a total) between min_duration and max_duration units"
    duration: int
    min_duration: int
    max_duration: int


class TermsChanged(ContractError):
    """The listing's price or unit is no longer what the renter accepted (a provider edit landed
    first); nothing was charged."""

    fields = ("listing_id", "price", "unit")
    hint = "quote() again and rent at the new terms, or raise max_total"
    listing_id: int
    price: int
    unit: Any


class InsufficientPayment(ContractError):
    """The ETH sent does not cover the cost."""

    fields = ("required", "sent")
    hint = "send at least quote(listing_id, duration) wei"
    required: int
    sent: int


class PaymentTooLarge(ContractError):
    """A rental's escrow cannot exceed 2**96 - 1 wei (its ``paid`` slot); nothing is truncated."""

    fields = ("amount", "max_payment")
    hint = "rent or extend for fewer units"
    amount: int
    max_payment: int


class CannotRentOwnListing(ContractError):
    """A provider cannot rent their own listing."""

    fields = ("listing_id",)
    hint = "rent from another account"
    listing_id: int


class RentalNotFound(ContractError):
    """No rental has this id."""

    fields = ("rental_id",)
    hint = "ids run from 0 to rental_count() - 1"
    rental_id: int


class RentalNotActive(ContractError):
    """The rental has already ended or been settled."""

    fields = ("rental_id", "status")
    hint = "read it with get_rental(); its balances are already credited"
    rental_id: int
    status: Any


class NotRenter(ContractError):
    """Only the renter may do this."""

    fields = ("rental_id", "caller")
    hint = "send from the renter's account"
    rental_id: int
    caller: str


class NotRentalParty(ContractError):
    """Only the renter or the provider may end a rental before its end time."""

    fields = ("rental_id", "caller")
    hint = "send from the renter's or the provider's account, or settle() after the end time"
    rental_id: int
    caller: str


class RentalExpired(ContractError):
    """The rental's end time has passed; it can no longer be extended."""

    fields = ("rental_id", "end")
    hint = "settle() it and rent again"
    rental_id: int
    end: int


class RentalNotExpired(ContractError):
    """The rental runs until its end time; it cannot be settled yet."""

    fields = ("rental_id", "end")
    hint = "wait until the end time, or end it early as its renter or provider"
    rental_id: int
    end: int


class NoActiveRental(ContractError):
    """The listing is not rented right now."""

    fields = ("listing_id",)
    hint = "only RENTED listings have an active rental"
    listing_id: int


class NothingToWithdraw(ContractError):
    """The account's withdrawable balance is zero."""

    fields = ("account",)
    hint = "balance_of(address) shows what can be withdrawn"
    account: str


class WithdrawFailed(ContractError):
    """The receiving address refused the ETH; the balance is kept."""

    fields = ("to", "amount")
    hint = "withdraw_to() an address that accepts ETH"
    to: str
    amount: int


class Reentrancy(ContractError):
    """A call re-entered the contract during a withdrawal."""

    fields = ()
    hint = "withdrawals cannot be nested"


class MarketplacePaused(ContractError):
    """New listings and rentals are paused; ending, settling and withdrawing still work."""

    fields = ()
    hint = "try again once governance resumes the marketplace"


class NotGovernance(ContractError):
    """Only the governance address (``governance``) may change the marketplace's parameters."""

    fields = ("caller", "governance")
    hint = (
        "send from the governance address; where that is a governor's timelock, propose the "
        "change (client.governance.propose(...)) and let the vote decide"
    )
    caller: str
    governance: str


class FeeTooHigh(ContractError):
    """The platform fee is capped."""

    fields = ("fee_bps", "max_fee_bps")
    hint = "the fee is in basis points, at most max_fee_bps"
    fee_bps: int
    max_fee_bps: int


class InvalidAddress(ContractError):
    """The zero address and the marketplace's own address are not allowed here."""

    fields = ("account",)
    hint = "pass the address of an account or contract that can receive ETH and act on its own"
    account: str


class NotGuardian(ContractError):
    """Only the pause guardian (or governance) may pause."""

    fields = ("caller",)
    hint = "pause from the guardian's account; only governance unpauses"
    caller: str


class NotTreasury(ContractError):
    """Only the treasury may pay out treasury funds."""

    fields = ("caller",)
    hint = "treasury payouts are proposals: Action.pay(to, amount)"
    caller: str


class InsufficientTreasury(ContractError):
    """A treasury payout asks for more than the treasury holds (or for nothing)."""

    fields = ("amount", "available")
    hint = "pay at most client.treasury_funds() wei, and more than 0"
    amount: int
    available: int


class PayoutLimitExceeded(ContractError):
    """A treasury payout above what the current period still allows (5% of the fees held when
    the period's first payout was made, per 30 days)."""

    fields = ("amount", "allowance", "next_period")
    hint = "pay at most allowance wei now (client.payout_allowance()), the rest from next_period on"
    amount: int
    allowance: int
    next_period: int


class NoVotesToClaim(ContractError):
    """The account has no earned votes waiting to be claimed."""

    fields = ("account",)
    hint = "votes are earned when a rental with a fee ends; governance.pending_votes() shows them"
    account: str


class NoVotesContract(ContractError):
    """This marketplace has no votes contract: no governor was ever installed."""

    fields = ()
    hint = "deploy with GPUHubClient.deploy(w3) (a governor by default) to earn and claim votes"


# ---------------------------------------------------------------- governance contracts' errors
# OpenZeppelin's own custom errors in the governor, the timelock and the votes contract.


class AccessControlBadConfirmation(ContractError):
    """A role can only be renounced by its holder, for itself."""

    fields = ()
    hint = "renounce roles from the account that holds them"


class AccessControlUnauthorizedAccount(ContractError):
    """The timelock refused a caller without the role the call needs."""

    fields = ("account", "needed_role")
    hint = "timelock operations go through the governor: propose, vote, queue, execute"
    account: str
    needed_role: bytes


class CheckpointUnorderedInsertion(ContractError):
    """A vote checkpoint was written out of order (an OpenZeppelin internal check)."""

    fields = ()


class ECDSAInvalidSignature(ContractError):
    """A signature (delegation or vote by signature) does not recover to a signer."""

    fields = ()
    hint = "sign again with the voter's key"


class ECDSAInvalidSignatureLength(ContractError):
    """A signature has the wrong length."""

    fields = ("length",)
    hint = "a signature is 65 bytes"
    length: int


class ECDSAInvalidSignatureS(ContractError):
    """A signature's s value is in the upper half (malleable)."""

    fields = ("s",)
    hint = "sign again with a standard signer"
    s: bytes


class ERC5805FutureLookup(ContractError):
    """Past votes were asked for a time that has not passed yet."""

    fields = ("timepoint", "clock")
    hint = "ask for a timepoint before the latest block's timestamp"
    timepoint: int
    clock: int


class ERC6372InconsistentClock(ContractError):
    """The governor's clock does not match its token's."""

    fields = ()
    hint = "deploy the governor over a timestamp-clock token"


class FailedCall(ContractError):
    """A call a proposal made (or a governor relay) reverted without a reason."""

    fields = ()
    hint = "check each action's target and arguments"


class GovernorAlreadyCastVote(ContractError):
    """This account has already voted on the proposal."""

    fields = ("voter",)
    hint = "each account votes once per proposal"
    voter: str


class GovernorAlreadyQueuedProposal(ContractError):
    """The proposal is already queued in the timelock."""

    fields = ("proposal_id",)
    hint = "execute it once the timelock delay has passed"
    proposal_id: int


class GovernorDisabledDeposit(ContractError):
    """The governor does not take ETH."""

    fields = ()
    hint = "send funds to the treasury (the timelock) instead"


class GovernorInsufficientProposerVotes(ContractError):
    """The proposer's votes are below the proposal threshold."""

    fields = ("proposer", "votes", "threshold")
    hint = "claim votes (governance.claim_votes()) or have someone delegate to you"
    proposer: str
    votes: int
    threshold: int


class GovernorInvalidProposalLength(ContractError):
    """A proposal's targets, values and calldatas differ in length (or are empty)."""

    fields = ("targets", "calldatas", "values")
    hint = "give at least one action"
    targets: int
    calldatas: int


class GovernorInvalidQuorumFraction(ContractError):
    """The quorum fraction is above its denominator."""

    fields = ("quorum_numerator", "quorum_denominator")
    hint = "the quorum is a percentage, 0 to 100"
    quorum_numerator: int
    quorum_denominator: int


class GovernorInvalidSignature(ContractError):
    """A vote by signature does not match the voter."""

    fields = ("voter",)
    hint = "sign the ballot with the voter's key"
    voter: str


class GovernorInvalidVoteParams(ContractError):
    """Vote parameters were given where none are taken."""

    fields = ()
    hint = "vote without params"


class GovernorInvalidVoteType(ContractError):
    """The vote is not AGAINST (0), FOR (1) or ABSTAIN (2)."""

    fields = ()
    hint = "use gpuhub.VoteSupport"


class GovernorInvalidVotingPeriod(ContractError):
    """The voting period must be at least one second."""

    fields = ("voting_period",)
    hint = "set a voting period above 0"
    voting_period: int


class GovernorNonexistentProposal(ContractError):
    """No proposal has this id."""

    fields = ("proposal_id",)
    hint = "governance.proposals() lists them"
    proposal_id: int


class GovernorOnlyExecutor(ContractError):
    """Only the governor's executor (its timelock) may call this."""

    fields = ("account",)
    hint = "change governor settings by proposal"
    account: str


class GovernorProposalQueueingFailed(ContractError):
    """The timelock did not accept the proposal for queueing."""

    fields = ("proposal_id",)
    hint = "check the timelock's roles: the governor must be its proposer"
    proposal_id: int


class GovernorProposalQueueingNotRequired(ContractError):
    """This proposal needs no queueing."""

    fields = ("proposal_id",)
    hint = "execute it directly"
    proposal_id: int


class GovernorRestrictedProposer(ContractError):
    """The description restricts who may submit this proposal."""

    fields = ("proposer",)
    hint = "propose from the account named in the description"
    proposer: str


class GovernorUnableToCancel(ContractError):
    """This account may not cancel the proposal (or not any more)."""

    fields = ("proposal_id", "account")
    hint = (
        "the proposer cancels before voting starts; the guardian at any time before execution, "
        "except a proposal that only replaces the guardian"
    )
    proposal_id: int
    account: str


class GovernorUnexpectedProposalState(ContractError):
    """The proposal is not in a state that allows this step.

    Attributes:
        expected: the states that would have allowed it, decoded from ``expected_states``.
    """

    fields = ("proposal_id", "current", "expected_states")
    proposal_id: int
    current: ProposalState
    expected_states: bytes
    expected: tuple[ProposalState, ...]

    def __init__(self, *args: Any) -> None:
        if len(args) == len(self.fields):
            bitmap = int.from_bytes(args[2], "big") if isinstance(args[2], bytes) else 0
            self.expected = tuple(s for s in ProposalState if bitmap >> s & 1)
            args = (args[0], ProposalState(args[1]), args[2])
        super().__init__(*args)

    def _explain(self) -> str:
        wanted = " or ".join(s.name for s in self.expected) or "another state"
        return f"the proposal is {self.current.name}; this step needs it {wanted}"


class GovernorInvalidPowerQuorum(ContractError):
    """The power quorum must be above the marketplace's payout limit per period and at most 100%."""

    fields = ("numerator", "payout_limit_bps")
    hint = "use a power quorum percent above payout_limit_bps / 100, up to 100"
    numerator: int
    payout_limit_bps: int


class GrantLengthMismatch(ContractError):
    """Bootstrap holders and amounts differ in length."""

    fields = ("holders", "amounts")
    hint = "give one amount per holder"
    holders: int
    amounts: int


class InvalidAccountNonce(ContractError):
    """A signature's nonce is not the account's next one."""

    fields = ("account", "current_nonce")
    hint = "sign again with the current nonce"
    account: str
    current_nonce: int


class InvalidShortString(ContractError):
    """A short string could not be decoded (an OpenZeppelin internal check)."""

    fields = ()


class NotMarketplace(ContractError):
    """Only the marketplace mints votes."""

    fields = ("caller",)
    hint = "claim votes through the marketplace (governance.claim_votes())"
    caller: str


class SafeCastOverflowedUintDowncast(ContractError):
    """A number does not fit the smaller integer it is stored in."""

    fields = ("bits", "value")
    hint = "use a smaller value (periods fit uint32 seconds, delays uint48)"
    bits: int
    value: int


class StringTooLong(ContractError):
    """A string is longer than its short-string slot."""

    fields = ("str",)
    hint = "use a shorter name"
    str: str


class TimelockInsufficientDelay(ContractError):
    """The delay asked for is below the timelock's minimum."""

    fields = ("delay", "min_delay")
    hint = "queue through the governor, which uses the timelock's delay"
    delay: int
    min_delay: int


class TimelockInvalidOperationLength(ContractError):
    """An operation's targets, payloads and values differ in length."""

    fields = ("targets", "payloads", "values")
    hint = "give one value and one payload per target"
    targets: int
    payloads: int


class TimelockUnauthorizedCaller(ContractError):
    """Only the timelock itself may change its settings."""

    fields = ("caller",)
    hint = "change the timelock's delay by proposal"
    caller: str


class TimelockUnexecutedPredecessor(ContractError):
    """The operation waits for another one to be executed first."""

    fields = ("predecessor_id",)
    hint = "execute the predecessor first"
    predecessor_id: bytes


class TimelockUnexpectedOperationState(ContractError):
    """The timelock operation is not ready (or not queued, or already done)."""

    fields = ("operation_id", "expected_states")
    hint = "wait until the proposal's eta (client.chain.advance_time on a dev chain), then execute"
    operation_id: bytes
    expected_states: bytes


class VotesExpiredSignature(ContractError):
    """A delegation signature has expired."""

    fields = ("expiry",)
    hint = "sign again with a later expiry"
    expiry: int


class BalanceOverflow(ContractError):
    """A credit would push a withdrawable balance past 2**96 - 1 wei; nothing was credited."""

    fields = ("account", "balance")
    hint = "withdraw() first; no real balance gets near 2**96 wei"
    account: str
    balance: int


class InvalidScore(ContractError):
    """A rating's score must be 1 to 5."""

    fields = ("score",)
    hint = "rate with a score from 1 to 5"
    score: int


class CommentTooLong(ContractError):
    """A rating's comment is longer than the contract takes (280 bytes of UTF-8)."""

    fields = ("length", "max_length")
    hint = "shorten the comment to at most max_length bytes of UTF-8"
    length: int
    max_length: int


class CommentNotUtf8(ContractError):
    """A rating's comment is not well-formed UTF-8 (the contract refuses it)."""

    fields = ("offset",)
    hint = "the byte at this offset starts an invalid UTF-8 sequence; send text, not raw bytes"
    offset: int


class CommentControlCharacter(ContractError):
    """A rating's comment holds a control character (U+0000..U+001F, U+007F or
    U+0080..U+009F), which the contract refuses."""

    fields = ("offset",)
    hint = "the character at this byte offset is a control character; write one line of text"
    offset: int


class RentalNotOver(ContractError):
    """A rental can be rated only once it has ended or been settled."""

    fields = ("rental_id",)
    hint = "end_rental() or settle() it first, then rate"
    rental_id: int


class AlreadyRated(ContractError):
    """Each side rates the other at most once per rental."""

    fields = ("rental_id", "rater")
    hint = "ratings are final; ratings(rental_id=...) shows the one already given"
    rental_id: int
    rater: str


class RatingWeightOverflow(ContractError):
    """The ratee's rating weight would pass 2**48 units (more than all ETH there is billed to
    one account); only a dev chain that mints more gets here, and nothing was counted."""

    fields = ("account", "weight")
    hint = "rate rentals of real-world size"
    account: str
    weight: int


class AccessPayloadTooLong(ContractError):
    """An access request or grant is longer than the contract takes (MAX_ACCESS_PAYLOAD)."""

    fields = ("length", "max_length")
    hint = "shorten the SSH key (use ed25519) or the connection details"
    length: int
    max_length: int


class TransactionError(GPUHubError):
    """A transaction or call failed without one of the contract's custom errors."""

    def __init__(self, message: str, *, tx_hash: str | None = None) -> None:
        super().__init__(message if tx_hash is None else f"{message} (transaction {tx_hash})")
        self.tx_hash = tx_hash


class TransactionReverted(TransactionError):
    """Reverted with a plain reason string, a panic code, or no data."""


class OutOfGas(TransactionReverted):
    """The transaction used its whole gas limit and was reverted; send it with a higher ``gas``."""


class RequestRejected(GPUHubError):
    """The node refused a request (a read, a log query); its message says why."""


class TransactionRejected(TransactionError, RequestRejected):
    """The node refused the transaction before it was sent (its message says why); nothing was
    mined and nothing was spent."""


class InsufficientFunds(TransactionRejected):
    """The sending account cannot pay the transaction's value plus its gas."""


class TransactionTimeout(TransactionError):
    """The transaction was sent but no receipt arrived in time; it may still be mined."""


class TransactionDropped(TransactionTimeout):
    """The transaction can never be mined, and nothing of it ran: the node forgot it (it
    restarted from older state) and its nonce has been taken by another transaction since, or
    the node refused it when it was handed over again. The client has re-read its nonce; send
    the operation again if it is still wanted.

    A transaction that can still be mined is never reported so: one the node forgot is handed
    over again at its own nonce, and one queued behind nonces the node lost has them filled
    with empty transfers, so it runs once, as sent."""


class ConnectionFailed(GPUHubError):
    """The Ethereum node could not be reached."""


class MalformedResponse(ConnectionFailed):
    """The node, or a proxy in front of it, answered with something that is not a JSON-RPC
    answer to the request: not JSON (an HTML page, a truncated body), nested deeper than any
    answer, a result of the wrong shape (null, not hex, missing fields) or a batch whose ids do
    not match its requests. Nothing of it was used; a send it answered raises
    :class:`TransactionOutcomeUnknown` instead, since the node may have taken the transaction."""


class TransactionOutcomeUnknown(TransactionError, ConnectionFailed):
    """The connection failed after the transaction was handed to the node: it may have been
    mined and paid for. Look it up by ``tx_hash`` (``w3.eth.get_transaction_receipt``) before
    sending it again; ``tx_hash`` is None only when the node signs and never answered."""


class MarketIndexError(GPUHubError):
    """The market index cannot be used as it is (another schema version, another marketplace,
    or a reorganisation deeper than it keeps undo records for); the message says how to rebuild."""


class ConfigError(GPUHubError, ValueError):
    """A setting is malformed (a config file that does not parse, an unknown key), or one the
    operation needs is missing (no marketplace address known for the chain); the message names the
    setting and where it was read."""


class KeystoreError(GPUHubError):
    """A keystore cannot be created, read or unlocked: a wrong password, a file that is not a
    keystore, an alias already taken. Never carries a key or a password."""


class AccountNotFound(KeystoreError, LookupError):
    """No keystore has this alias or address.

    Attributes:
        name: the alias or address asked for.
    """

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class ContractNotDeployed(GPUHubError):
    """There is no GPUHub contract code at the given address on this chain."""


class TransactionNotFound(GPUHubError, LookupError):
    """No transaction to the marketplace has this hash: the node never saw it (or forgot it), or
    it went to another contract.

    Attributes:
        tx_hash: the hash looked up.
    """

    def __init__(self, message: str, *, tx_hash: str) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class NoGovernor(GPUHubError):
    """The marketplace has no governor: a plain address (a multisig, say) holds its powers."""


class NotAMarketplace(ContractNotDeployed):
    """The address holds a contract, but not a GPUHub marketplace this client can speak to."""


class MissingDependency(GPUHubError, ImportError):
    """An optional part of gpuhub needs an extra that is not installed."""


class GPUDetectionError(GPUHubError):
    """No NVIDIA GPU could be read: neither NVML nor ``nvidia-smi`` answered, or ``nvidia-smi``
    reported an error (driver not loaded, driver and library versions that differ). The message
    says what was tried and what to do."""


class AccessPayloadError(GPUHubError, ValueError):
    """An access request or grant read from the chain does not decode: another format version,
    a public key that is not on the curve, an SSH key that is not one, or a ciphertext this key
    cannot open. Payloads come from the other party, so the reader skips them.

    Attributes:
        reason: what is wrong with the payload.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"access payload: {reason}")
        self.reason = reason


class WebhookVerificationError(GPUHubError, ValueError):
    """A received webhook is missing a header, is too old or too new, or has no valid signature."""


def contract_error_classes() -> dict[str, type[ContractError]]:
    """Every ContractError subclass by its Solidity name."""
    found: dict[str, type[ContractError]] = {}
    pending = list(ContractError.__subclasses__())
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found
