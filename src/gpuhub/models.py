"""Plain data returned by the client: frozen dataclasses and the contract's enums.

Money is ``int`` wei, time is ``int`` Unix seconds, and the enums are IntEnums in the order the
Solidity source declares them, so their values are what the contract stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = ["Listing", "ListingStatus", "PriceUnit"]


class PriceUnit(IntEnum):
    """The unit of time a listing's price is quoted in (Solidity ``GPUHub.PriceUnit``)."""

    MINUTE = 0
    HOUR = 1
    DAY = 2

    @property
    def seconds(self) -> int:
        """Length of one unit in seconds."""
        return _UNIT_SECONDS[self]


_UNIT_SECONDS = {PriceUnit.MINUTE: 60, PriceUnit.HOUR: 3600, PriceUnit.DAY: 86400}


class ListingStatus(IntEnum):
    """Where a listing is in its lifecycle (Solidity ``GPUHub.ListingStatus``)."""

    AVAILABLE = 0
    UNAVAILABLE = 1
    RENTED = 2
    REMOVED = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    """A GPU offered on the marketplace.

    Example::

        >>> listing = client.get_listing(0)
        >>> listing.gpu_model, listing.price, listing.unit
        ('NVIDIA RTX 4090', 1000000000000000, <PriceUnit.HOUR: 1>)
    """

    #: id on the contract, counting up from 0.
    listing_id: int
    #: checksummed address of the GPU's owner, who alone may change the listing.
    provider: str
    #: GPU model name, 1..64 bytes of UTF-8.
    gpu_model: str
    #: GPU memory in GB.
    capacity: int
    #: price in wei per ``unit``.
    price: int
    #: unit of time the price is quoted in.
    unit: PriceUnit
    #: shortest rental, in units.
    min_duration: int
    #: longest rental, in units.
    max_duration: int
    #: lifecycle status.
    status: ListingStatus

    @property
    def is_available(self) -> bool:
        """True when the listing can be rented now."""
        return self.status is ListingStatus.AVAILABLE

    @classmethod
    def from_abi(cls, values: Sequence[Any]) -> Listing:
        """Build from the contract's ``ListingView`` tuple, in ABI order."""
        listing_id, provider, gpu_model, capacity, price, unit, min_d, max_d, status = values
        return cls(
            listing_id=listing_id,
            provider=provider,
            gpu_model=gpu_model,
            capacity=capacity,
            price=price,
            unit=PriceUnit(unit),
            min_duration=min_d,
            max_duration=max_d,
            status=ListingStatus(status),
        )
