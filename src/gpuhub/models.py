"""Plain data returned by the client: frozen dataclasses and the contract's enums.

Money is ``int`` wei, time is ``int`` Unix seconds, and the enums are IntEnums in the order the
Solidity source declares them, so their values are what the contract stores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = [
    "Listing",
    "ListingStatus",
    "MarketEvent",
    "PayoutAllowance",
    "PreparedTransaction",
    "PriceUnit",
    "ProposalKind",
    "ProposalState",
    "Rating",
    "Rental",
    "RentalStatus",
    "Reputation",
    "Role",
    "TransactionOutcome",
    "TxResult",
    "VoteSupport",
]

#: basis points in one whole (fees are quoted in basis points).
BPS = 10_000


class _Named(IntEnum):
    """An IntEnum whose repr is its qualified name (``PriceUnit.HOUR``), not ``<PriceUnit.HOUR:
    1>``; it still equals, hashes and stores as its number."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class _Readable:
    """Short text for terminals and logs, an HTML table for notebooks (see ``_display``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        from ._display import summary

        return f"<{summary(self)}>"

    def __str__(self) -> str:
        from ._display import summary

        return summary(self)

    def _repr_html_(self) -> str:
        from ._display import record_html

        return record_html(self)


class PriceUnit(_Named):
    """The unit of time a listing's price is quoted in (Solidity ``GPUHub.PriceUnit``)."""

    MINUTE = 0
    HOUR = 1
    DAY = 2

    @property
    def seconds(self) -> int:
        """Length of one unit in seconds."""
        return _UNIT_SECONDS[self]


_UNIT_SECONDS = {PriceUnit.MINUTE: 60, PriceUnit.HOUR: 3600, PriceUnit.DAY: 86400}


class ProposalState(_Named):
    """Where a governance proposal is (OpenZeppelin ``IGovernor.ProposalState``, in its order)."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


class ProposalKind(_Named):
    """How a proposal is decided (Solidity ``GPUHubGovernor.ProposalKind``).

    PARAMETER proposals only change the fee or the pause switch (they move no money) and need
    the ordinary quorum; POWER proposals (payouts, a new treasury, guardian or governance, calls
    to the governor or timelock, anything else) need the power quorum, a share of every voting
    unit ever granted or earned.
    """

    PARAMETER = 0
    POWER = 1


class VoteSupport(_Named):
    """A vote's direction (OpenZeppelin ``GovernorCountingSimple.VoteType``)."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2


class ListingStatus(_Named):
    """Where a listing is in its lifecycle (Solidity ``GPUHub.ListingStatus``)."""

    AVAILABLE = 0
    UNAVAILABLE = 1
    RENTED = 2
    REMOVED = 3


class RentalStatus(_Named):
    """Where a rental is (Solidity ``GPUHub.RentalStatus``)."""

    ACTIVE = 0
    ENDED_BY_RENTER = 1
    ENDED_BY_PROVIDER = 2
    SETTLED = 3


class Role(_Named):
    """The side of a rental an account was on (Solidity ``GPUHub.Role``)."""

    RENTER = 0
    PROVIDER = 1


#: The contracts' enums by their ABI ``internalType``: decoded event arguments and error fields
#: come back as these IntEnums.
ABI_ENUMS: dict[str, type[IntEnum]] = {
    "enum GPUHub.ListingStatus": ListingStatus,
    "enum GPUHub.PriceUnit": PriceUnit,
    "enum GPUHub.RentalStatus": RentalStatus,
    "enum GPUHub.Role": Role,
    "enum IGovernor.ProposalState": ProposalState,
}

#: A rating weighs what its rental billed, in units of this many wei (10**12, a millionth of an
#: ether) rounded down (the contract's RATING_WEIGHT_UNIT): a rental billed for seconds weighs 0.
RATING_WEIGHT_UNIT = 10**12
#: Default prior of :meth:`Reputation.provider_score`: the middle of the 1..5 scale.
PRIOR_MEAN = 3.0
#: Default weight of that prior, in rating weight units: every provider starts as if rentals
#: billed 0.01 ETH in all (about a day of one GPU) had rated it 3.
PRIOR_WEIGHT = 10_000


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Listing(_Readable):
    """A GPU offered on the marketplace.

    Example::

        >>> listing = client.get_listing(0)
        >>> listing.gpu_model, listing.price, listing.unit
        ('NVIDIA RTX 4090', 1000000000000000, PriceUnit.HOUR)
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

    def _summary(self) -> str:
        from ._display import short, value_text

        return (
            f"Listing #{self.listing_id}: {value_text('gpu_model', self.gpu_model)}, "
            f"{self.capacity} GB, {value_text('price', self.price, self)}, {self.status.name}, "
            f"provider {short(self.provider)}"
        )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Rental(_Readable):
    """A rental: ETH in escrow for a listing, billed per second at the price locked at its start.

    The billing helpers mirror the contract to the wei::

        >>> rental = renter.rent(listing_id, 3)
        >>> client.chain.advance_time(1800)
        >>> rental.cost_at(client.chain.now()), rental.refund_at(client.chain.now())
    """

    #: id on the contract, counting up from 0.
    rental_id: int
    #: the rented listing.
    listing_id: int
    #: who pays.
    renter: str
    #: who is paid (the listing's provider).
    provider: str
    #: Unix time the rental started.
    start: int
    #: Unix time it runs until (extensions move it).
    end: int
    #: wei per ``unit``, locked at the start.
    price: int
    #: unit of the locked price.
    unit: PriceUnit
    #: wei held in escrow for it (the cost of every unit bought).
    paid: int
    #: platform fee in basis points, locked at the start.
    fee_bps: int
    #: lifecycle status.
    status: RentalStatus

    @property
    def is_active(self) -> bool:
        """True until the rental is ended or settled."""
        return self.status is RentalStatus.ACTIVE

    @property
    def duration(self) -> int:
        """Units bought (extensions included); unchanged by an early end, which moves ``end``."""
        return self.paid // self.price

    def cost_at(self, now: int) -> int:
        """Wei owed for the time used up to ``now``: per second, rounded down, at most ``paid``."""
        elapsed = max(0, min(now, self.end) - self.start)
        return min(self.price * elapsed // self.unit.seconds, self.paid)

    def refund_at(self, now: int) -> int:
        """Wei the renter gets back if the rental ends at ``now``."""
        return self.paid - self.cost_at(now)

    def fee_at(self, now: int) -> int:
        """The platform's part of ``cost_at(now)``, rounded down."""
        return self.cost_at(now) * self.fee_bps // BPS

    def provider_share_at(self, now: int) -> int:
        """The provider's part of ``cost_at(now)``."""
        return self.cost_at(now) - self.fee_at(now)

    @classmethod
    def from_abi(cls, values: Sequence[Any]) -> Rental:
        """Build from the contract's ``RentalView`` tuple, in ABI order."""
        rental_id, listing_id, renter, provider, start, end, price, unit, paid, fee, status = values
        return cls(
            rental_id=rental_id,
            listing_id=listing_id,
            renter=renter,
            provider=provider,
            start=start,
            end=end,
            price=price,
            unit=PriceUnit(unit),
            paid=paid,
            fee_bps=fee,
            status=RentalStatus(status),
        )

    def _summary(self) -> str:
        from ._display import short, value_text, when

        return (
            f"Rental #{self.rental_id} of listing #{self.listing_id}: "
            f"{value_text('price', self.price, self)}, {value_text('paid', self.paid)} paid, "
            f"{when(self.start)} to {when(self.end)}, {self.status.name}, "
            f"renter {short(self.renter)}"
        )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class TxResult(_Readable):
    """A mined transaction that has no model to return (governance changes)."""

    #: 0x-prefixed transaction hash.
    tx_hash: str
    #: block it was mined in.
    block_number: int
    #: gas it used.
    gas_used: int


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class MarketEvent(_Readable):
    """One event the marketplace contract emitted, decoded."""

    #: the Solidity event's name, e.g. ``"RentalStarted"``.
    name: str
    #: block it was emitted in.
    block_number: int
    #: 0x-prefixed hash of the transaction that emitted it.
    tx_hash: str
    #: position of the log in its block.
    log_index: int
    #: the event's arguments by their Solidity names; enums as IntEnums, addresses checksummed.
    args: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Rating(_Readable):
    """One side's rating of the other after a rental, as the ``Rated`` event carries it.

    Example::

        >>> rating = renter.rate(rental.rental_id, 5, comment="fast and stable")
        >>> rating.ratee == rental.provider, rating.role
        (True, Role.PROVIDER)
    """

    #: the rental rated.
    rental_id: int
    #: who rated (the renter or the listing's provider).
    rater: str
    #: who was rated (the other side).
    ratee: str
    #: the side the ratee was on: PROVIDER when the renter rated the provider.
    role: Role
    #: 1..5.
    score: int
    #: wei the rental billed; the rating weighs ``billed // RATING_WEIGHT_UNIT``.
    billed: int
    #: free text, at most 280 bytes of UTF-8 (kept in the event only, never in storage).
    comment: str
    #: block the rating was mined in.
    block_number: int

    @classmethod
    def from_event(cls, args: Mapping[str, Any], block_number: int) -> Rating:
        """Build from a decoded ``Rated`` event's arguments (by their Solidity names)."""
        return cls(
            rental_id=args["rentalId"],
            rater=args["rater"],
            ratee=args["ratee"],
            role=Role(args["role"]),
            score=args["score"],
            billed=args["billed"],
            comment=args["comment"],
            block_number=block_number,
        )

    def _summary(self) -> str:
        from ._display import short, value_text

        return (
            f"Rating of rental #{self.rental_id}: {self.score}/5 for the "
            f"{self.role.name.lower()} {short(self.ratee)} from {short(self.rater)}, "
            f"billed {value_text('billed', self.billed)}"
        )


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Reputation(_Readable):
    """What the contract counts about one address; nobody reports these numbers but the contract.

    A rental counts as completed (for both sides) when its renter ended it or it was settled; a
    rental its provider ended early counts only as one of the provider's ``terminations``. Each
    rating also weighs what its rental billed (in ``RATING_WEIGHT_UNIT`` wei, rounded down), so
    scores follow money paid rather than the number of ratings.

    Example::

        >>> rep = client.reputation(provider_address)
        >>> rep.provider_average, rep.completed_as_provider, rep.terminations
        (4.5, 12, 1)
        >>> rep.provider_score()  # weighted by what was billed; little weight stays near 3.0
    """

    #: the account.
    address: str
    #: ratings received as a provider (from renters).
    provider_rating_count: int
    #: sum of their scores.
    provider_rating_sum: int
    #: ratings received as a renter (from providers).
    renter_rating_count: int
    #: sum of their scores.
    renter_rating_sum: int
    #: rentals completed as the provider (ended by the renter or settled).
    completed_as_provider: int
    #: rentals completed as the renter (ended by the renter or settled).
    completed_as_renter: int
    #: rentals this account ended early as their provider.
    terminations: int
    #: what the rentals rated as a provider billed, in RATING_WEIGHT_UNIT wei (rounded down each).
    provider_rating_weight: int
    #: the sum of each of those ratings' score times its weight.
    provider_rating_weighted_sum: int
    #: what the rentals rated as a renter billed, in RATING_WEIGHT_UNIT wei (rounded down each).
    renter_rating_weight: int
    #: the sum of each of those ratings' score times its weight.
    renter_rating_weighted_sum: int

    @property
    def provider_average(self) -> float | None:
        """Mean score received as a provider, or None without ratings."""
        if self.provider_rating_count == 0:
            return None
        return self.provider_rating_sum / self.provider_rating_count

    @property
    def renter_average(self) -> float | None:
        """Mean score received as a renter, or None without ratings."""
        if self.renter_rating_count == 0:
            return None
        return self.renter_rating_sum / self.renter_rating_count

    def provider_score(
        self, *, prior_mean: float = PRIOR_MEAN, prior_weight: int = PRIOR_WEIGHT
    ) -> float:
        """The provider ratings' mean weighted by what each rental billed, with a prior, for
        ranking providers.

        ``(S + m * C) / (W + m)`` with ``S`` the weighted sum of scores and ``W`` their weight
        (``provider_rating_weighted_sum`` and ``provider_rating_weight``, in RATING_WEIGHT_UNIT
        wei), prior mean ``C`` (default 3.0, the middle of the scale) and prior weight ``m``
        (default 10,000 units, 0.01 ETH). A provider rated by little money sits near the prior:
        ratings of rentals billed for a second weigh nothing, and moving a score takes rentals
        that pay the provider in proportion (docs/security.md). With no weight the score is the
        prior mean. The index's ``rating`` field and searches compute this same float.
        """
        if isinstance(prior_weight, bool) or not isinstance(prior_weight, int) or prior_weight < 0:
            raise ValueError("prior_weight must be a whole number of weight units >= 0")
        weight = self.provider_rating_weight + prior_weight
        if weight == 0:
            return prior_mean
        return (self.provider_rating_weighted_sum + prior_weight * prior_mean) / weight

    @classmethod
    def from_abi(cls, address: str, values: Sequence[Any]) -> Reputation:
        """Build from the contract's ``ReputationView`` tuple, in ABI order."""
        (
            p_count,
            p_sum,
            r_count,
            r_sum,
            as_provider,
            as_renter,
            terminations,
            p_weight,
            p_weighted,
            r_weight,
            r_weighted,
        ) = values
        return cls(
            address=address,
            provider_rating_count=p_count,
            provider_rating_sum=p_sum,
            renter_rating_count=r_count,
            renter_rating_sum=r_sum,
            completed_as_provider=as_provider,
            completed_as_renter=as_renter,
            terminations=terminations,
            provider_rating_weight=p_weight,
            provider_rating_weighted_sum=p_weighted,
            renter_rating_weight=r_weight,
            renter_rating_weighted_sum=r_weighted,
        )

    def _summary(self) -> str:
        from ._display import short

        return (
            f"Reputation of {short(self.address)}: as provider {self.provider_rating_count} "
            f"ratings (score {self.provider_score():.2f}), {self.completed_as_provider} "
            f"completed, {self.terminations} terminated; as renter {self.completed_as_renter} "
            "completed"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutAllowance:
    """What the treasury may pay out now (``client.payout_allowance()``).

    The marketplace pays at most 5% (MAX_PAYOUT_BPS) of the fees its treasury holds per 30-day
    period; a period starts with its first payout.

    Example::

        >>> client.payout_allowance()
        PayoutAllowance(amount=250000000000000000, period_ends=0)
    """

    #: wei the treasury can still pay out in the current period (or in the next, if none runs).
    amount: int
    #: Unix time the running period ends, after which a new allowance opens; 0 while none runs.
    period_ends: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedTransaction:
    """An unsigned transaction for a wallet to sign, and what it does (``client.prepare``).

    Every check the client makes before a send has passed, and the node's gas estimate ran it on
    the latest state, so a call that would revert was refused with its typed error instead.

    Example::

        >>> prepared = client.prepare("rent", sender=me, listing_id=3, duration=2)
        >>> prepared.summary
        'Rent listing 3 (NVIDIA RTX 4090, 24 GB) for 2 hours at 0.05 ETH/hour: ...'
        >>> signed = account.sign_transaction(prepared.transaction)   # eth-account, a KMS ...
        >>> client.relay(signed.raw_transaction, sender=me)
    """

    #: the operation, as the client method is named (``"rent"``).
    call: str
    #: the account that must sign it.
    sender: str
    #: the fields to sign, as eth-account's ``sign_transaction`` takes them: ``type`` (2, or 0
    #: on a chain without EIP-1559 fees), ``chainId``, ``nonce`` (the sender's next), ``to``,
    #: ``data`` (0x hex), ``value`` (wei), ``gas`` (the estimate plus the client's margin) and
    #: ``maxFeePerGas``/``maxPriorityFeePerGas`` (or ``gasPrice``).
    transaction: Mapping[str, int | str]
    #: what it does and costs, in one paragraph of plain words.
    summary: str
    #: the amounts the summary speaks of, in wei, by name (for a rent: ``quote``, ``escrow``,
    #: ``excess``, ``refund_per_unit``, ``refund_at_half``; always ``max_gas_fee``).
    amounts: Mapping[str, int]

    def to_rpc(self) -> dict[str, str]:
        """The transaction as EIP-1193 ``eth_sendTransaction`` takes it: ``from`` added, numbers
        as hex quantities."""
        fields = {"from": self.sender, **self.transaction}
        return {k: hex(v) if isinstance(v, int) else v for k, v in fields.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionOutcome:
    """What a marketplace transaction did (``client.relay``, ``client.outcome``).

    A reverted transaction has no outcome: reading it raises its typed error.
    """

    #: 0x-prefixed transaction hash.
    tx_hash: str
    #: the account that signed it.
    sender: str
    #: False while it waits to be mined (the fields below are then empty).
    mined: bool
    #: block it was mined in.
    block_number: int | None = None
    #: gas it used.
    gas_used: int | None = None
    #: the marketplace events it emitted, typed (``gpuhub.events``), in order.
    events: Sequence[Any] = ()
    #: the listings it created or changed, as of its block.
    listings: Sequence[Listing] = ()
    #: the rentals it created or changed, as of its block.
    rentals: Sequence[Rental] = ()
