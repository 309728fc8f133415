"""Every error gpuhub raises.

The tree::

    GPUHubError
    ├── ValidationError (also ValueError)     bad argument, caught before anything is sent
    │   └── QueryError                        a search query that does not parse, with its position
    ├── ContractError                         the contract reverted with one of its custom errors
    │   ├── ListingNotFound
    │   ├── NotListingProvider
    │   ├── ListingNotAvailable
    │   ├── InvalidStatusTransition
    │   ├── InvalidGpuModel
    │   ├── GpuModelNotUtf8
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
    │   ├── BalanceOverflow
    │   ├── InvalidScore
    │   ├── CommentTooLong
    │   ├── RentalNotOver
    │   └── AlreadyRated
    ├── TransactionError                      a transaction failed without a custom error
    │   ├── TransactionReverted               reverted with a plain reason, a panic or no data
    │   │   └── OutOfGas                      used its whole gas limit
    │   ├── TransactionRejected               the node refused it; nothing was sent (also
    │   │   │                                 RequestRejected)
    │   │   └── InsufficientFunds             the sender cannot pay value + gas
    │   ├── TransactionTimeout                no receipt within the timeout
    │   │   └── TransactionDropped            the node lost it (restart, nonce gap)
    │   └── TransactionOutcomeUnknown         sent, then the connection failed (also
    │                                         ConnectionFailed): check tx_hash before resending
    ├── RequestRejected                       the node refused a request (its message says why)
    ├── ConnectionFailed                      the node cannot be reached
    ├── ContractNotDeployed                   no marketplace code at the given address
    │   └── NotAMarketplace                   code there, but not a GPUHub marketplace
    ├── MarketIndexError                      the index cannot be used as it is; says how to rebuild
    ├── MissingDependency (also ImportError)  an optional extra is not installed
    └── WebhookVerificationError (also        a webhook's headers or signature do not check
        ValueError)                           out (gpuhub.webhooks.verify)

Each :class:`ContractError` subclass has the name of a Solidity custom error in
``contracts/GPUHub.sol`` and carries its fields as attributes in snake_case, so code can match
on the type and read the details::

    try:
        client.fulfill_request(7)
    except gpuhub.NotListingProvider as exc:
        print(exc.listing_id, exc.caller)

A test holds this set of classes against the errors in the shipped ABI.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyRated",
    "BalanceOverflow",
    "CannotRentOwnListing",
    "CommentTooLong",
    "ConnectionFailed",
    "ContractError",
    "ContractNotDeployed",
    "FeeTooHigh",
    "GPUHubError",
    "GpuModelNotUtf8",
    "InsufficientFunds",
    "InsufficientPayment",
    "InvalidAddress",
    "InvalidCapacity",
    "InvalidDuration",
    "InvalidDurationRange",
    "InvalidGpuModel",
    "InvalidPrice",
    "InvalidScore",
    "InvalidStatusTransition",
    "InvalidUnit",
    "ListingNotAvailable",
    "ListingNotFound",
    "MarketIndexError",
    "MarketplacePaused",
    "MissingDependency",
    "NoActiveRental",
    "NotAMarketplace",
    "NotGovernance",
    "NotListingProvider",
    "NotRentalParty",
    "NotRenter",
    "NothingToWithdraw",
    "OutOfGas",
    "PaymentTooLarge",
    "QueryError",
    "Reentrancy",
    "RentalExpired",
    "RentalNotActive",
    "RentalNotExpired",
    "RentalNotFound",
    "RentalNotOver",
    "RequestRejected",
    "TermsChanged",
    "TransactionDropped",
    "TransactionError",
    "TransactionOutcomeUnknown",
    "TransactionRejected",
    "TransactionReverted",
    "TransactionTimeout",
    "ValidationError",
    "WebhookVerificationError",
    "WithdrawFailed",
]


class GPUHubError(Exception):
    """Root of every error raised by gpuhub."""


class ValidationError(GPUHubError, ValueError):
    """An argument is invalid; raised before any transaction is sent.

    Attributes:
        field: the name of the offending argument.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


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
            setattr(self, name, value)
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.values.items())
        message = f"{type(self).__name__}({shown})"
        super().__init__(f"{message}: {self.hint}" if self.hint else message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), tuple(self.values.values()))


def _show(value: Any) -> str:
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
    """Only the governance address may change the marketplace's parameters."""

    fields = ("caller",)
    hint = "send from the governance account"
    caller: str


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
    """The node no longer has the transaction in sequence (it restarted from older state, or
    dropped an earlier one): it will not be mined as sent. The client has re-read its nonce, so
    sending again is safe once ``tx_hash`` is confirmed unknown to the node."""


class ConnectionFailed(GPUHubError):
    """The Ethereum node could not be reached."""


class TransactionOutcomeUnknown(TransactionError, ConnectionFailed):
    """The connection failed after the transaction was handed to the node: it may have been
    mined and paid for. Look it up by ``tx_hash`` (``w3.eth.get_transaction_receipt``) before
    sending it again; ``tx_hash`` is None only when the node signs and never answered."""


class MarketIndexError(GPUHubError):
    """The market index cannot be used as it is (another schema version, another marketplace,
    or a reorganisation deeper than it keeps undo records for); the message says how to rebuild."""


class ContractNotDeployed(GPUHubError):
    """There is no GPUHub contract code at the given address on this chain."""


class NotAMarketplace(ContractNotDeployed):
    """The address holds a contract, but not a GPUHub marketplace this client can speak to."""


class MissingDependency(GPUHubError, ImportError):
    """An optional part of gpuhub needs an extra that is not installed."""


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
