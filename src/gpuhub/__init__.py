"""gpuhub: share and rent GPUs on Ethereum.

    >>> import gpuhub
    >>> client = gpuhub.GPUHubClient.local()      # embedded chain, marketplace deployed
    >>> client.create_listing(gpu_model="NVIDIA RTX 4090", capacity=24, price=10**14)

The client and everything that needs web3 load on first use, so ``import gpuhub`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .alerts import Alert, AlertKind, Alerts
from .events import ContractEvent
from .exceptions import (
    AlreadyRated,
    BalanceOverflow,
    CannotRentOwnListing,
    CommentTooLong,
    ConnectionFailed,
    ContractError,
    ContractNotDeployed,
    FeeTooHigh,
    GPUHubError,
    GpuModelNotUtf8,
    InsufficientFunds,
    InsufficientPayment,
    InvalidAddress,
    InvalidCapacity,
    InvalidDuration,
    InvalidDurationRange,
    InvalidGpuModel,
    InvalidPrice,
    InvalidScore,
    InvalidStatusTransition,
    InvalidUnit,
    ListingNotAvailable,
    ListingNotFound,
    MarketIndexError,
    MarketplacePaused,
    MissingDependency,
    NoActiveRental,
    NotAMarketplace,
    NotGovernance,
    NothingToWithdraw,
    NotListingProvider,
    NotRentalParty,
    NotRenter,
    OutOfGas,
    PaymentTooLarge,
    QueryError,
    Reentrancy,
    RentalExpired,
    RentalNotActive,
    RentalNotExpired,
    RentalNotFound,
    RentalNotOver,
    RequestRejected,
    TermsChanged,
    TransactionDropped,
    TransactionError,
    TransactionOutcomeUnknown,
    TransactionRejected,
    TransactionReverted,
    TransactionTimeout,
    ValidationError,
    WebhookVerificationError,
    WithdrawFailed,
)
from .models import (
    Listing,
    ListingStatus,
    MarketEvent,
    PriceUnit,
    Rating,
    Rental,
    RentalStatus,
    Reputation,
    Role,
    TxResult,
)

if TYPE_CHECKING:
    from ._transactions import PendingTransaction, TxOptions
    from .aio import AsyncGPUHubClient, AsyncPendingTransaction
    from .client import GPUHubClient
    from .index import MarketIndex
    from .search import Query, SearchResult
    from .watch import Watch

__version__ = "0.1.0"

__all__ = [
    "Alert",
    "AlertKind",
    "Alerts",
    "AlreadyRated",
    "AsyncGPUHubClient",
    "AsyncPendingTransaction",
    "BalanceOverflow",
    "CannotRentOwnListing",
    "CommentTooLong",
    "ConnectionFailed",
    "ContractError",
    "ContractEvent",
    "ContractNotDeployed",
    "FeeTooHigh",
    "GPUHubClient",
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
    "Listing",
    "ListingNotAvailable",
    "ListingNotFound",
    "ListingStatus",
    "MarketEvent",
    "MarketIndex",
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
    "PendingTransaction",
    "PriceUnit",
    "Query",
    "QueryError",
    "Rating",
    "Reentrancy",
    "Rental",
    "RentalExpired",
    "RentalNotActive",
    "RentalNotExpired",
    "RentalNotFound",
    "RentalNotOver",
    "RentalStatus",
    "Reputation",
    "RequestRejected",
    "Role",
    "SearchResult",
    "TermsChanged",
    "TransactionDropped",
    "TransactionError",
    "TransactionOutcomeUnknown",
    "TransactionRejected",
    "TransactionReverted",
    "TransactionTimeout",
    "TxOptions",
    "TxResult",
    "ValidationError",
    "Watch",
    "WebhookVerificationError",
    "WithdrawFailed",
    "__version__",
]

_LAZY = {
    "AsyncGPUHubClient": "gpuhub.aio",
    "AsyncPendingTransaction": "gpuhub.aio",
    "GPUHubClient": "gpuhub.client",
    "MarketIndex": "gpuhub.index",
    "Query": "gpuhub.search",
    "SearchResult": "gpuhub.search",
    "PendingTransaction": "gpuhub._transactions",
    "TxOptions": "gpuhub._transactions",
    "Watch": "gpuhub.watch",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gpuhub' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
