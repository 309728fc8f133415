"""gpuhub: share and rent GPUs on Ethereum.

    >>> import gpuhub
    >>> client = gpuhub.GPUHubClient.local()      # embedded chain, marketplace deployed
    >>> client.create_listing(gpu_model="NVIDIA RTX 4090", capacity=24, price=10**14)

The client and everything that needs web3 load on first use, so ``import gpuhub`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import (
    ConnectionFailed,
    ContractError,
    ContractNotDeployed,
    GPUHubError,
    InvalidCapacity,
    InvalidDurationRange,
    InvalidGpuModel,
    InvalidPrice,
    InvalidStatusTransition,
    InvalidUnit,
    ListingNotAvailable,
    ListingNotFound,
    MissingDependency,
    NotListingProvider,
    TransactionError,
    TransactionReverted,
    TransactionTimeout,
    ValidationError,
)
from .models import Listing, ListingStatus, PriceUnit

if TYPE_CHECKING:
    from ._transactions import PendingTransaction, TxOptions
    from .client import GPUHubClient

__version__ = "0.1.0"

__all__ = [
    "ConnectionFailed",
    "ContractError",
    "ContractNotDeployed",
    "GPUHubClient",
    "GPUHubError",
    "InvalidCapacity",
    "InvalidDurationRange",
    "InvalidGpuModel",
    "InvalidPrice",
    "InvalidStatusTransition",
    "InvalidUnit",
    "Listing",
    "ListingNotAvailable",
    "ListingNotFound",
    "ListingStatus",
    "MissingDependency",
    "NotListingProvider",
    "PendingTransaction",
    "PriceUnit",
    "TransactionError",
    "TransactionReverted",
    "TransactionTimeout",
    "TxOptions",
    "ValidationError",
    "__version__",
]

_LAZY = {
    "GPUHubClient": "gpuhub.client",
    "PendingTransaction": "gpuhub._transactions",
    "TxOptions": "gpuhub._transactions",
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
