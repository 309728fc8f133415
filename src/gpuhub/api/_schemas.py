"""Request and response bodies. Strict: ``false`` or ``"12"`` is not an integer, extra fields are
refused, wei amounts in REST answers are decimal strings (JavaScript loses precision past 2**53)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from ..events import json_value
from ..governance import Proposal
from ..models import Listing, Rating, Rental, Reputation

UINT256_MAX = 2**256 - 1
Id = Annotated[StrictInt, Field(ge=0, le=2**48 - 1)]
Uint = Annotated[StrictInt, Field(ge=0, le=UINT256_MAX)]
Wei = Annotated[str, Field(pattern=r"^[0-9]{1,78}$", description="wei as a decimal string")]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="0x-prefixed address")]


def _upper(value: Any) -> Any:
    """Unit names in either case (``hour`` as the query language writes it, ``HOUR``)."""
    return value.upper() if isinstance(value, str) else value


UnitName = Annotated[Literal["MINUTE", "HOUR", "DAY"], BeforeValidator(_upper)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# ---------------------------------------------------------------- the original GPUHub routes


class AddGpuBody(Strict):
    gpuModel: StrictStr
    capacity: Uint
    price: Uint


class ListingIdBody(Strict):
    listingID: Uint


class GpuListFilter(Strict):
    maxPrice: Uint | None = None
    minCapacity: Uint | None = None


class AddGpuAnswer(BaseModel):
    success: bool
    message: str
    listingID: int


class SuccessAnswer(BaseModel):
    success: bool
    message: str


class LegacyListing(BaseModel):
    listingID: int
    provider: str
    gpuModel: str
    capacity: int
    price: int
    isAvailable: bool
    unit: UnitName
    minDuration: int
    maxDuration: int
    status: str

    @classmethod
    def of(cls, x: Listing) -> LegacyListing:
        return cls(
            listingID=x.listing_id,
            provider=x.provider,
            gpuModel=x.gpu_model,
            capacity=x.capacity,
            price=x.price,
            isAvailable=x.is_available,
            unit=x.unit.name,  # type: ignore[arg-type]
            minDuration=x.min_duration,
            maxDuration=x.max_duration,
            status=x.status.name,
        )


# ---------------------------------------------------------------- REST


class ListingOut(BaseModel):
    listing_id: int
    provider: str
    gpu_model: str
    capacity: int
    price: Wei
    unit: UnitName
    min_duration: int
    max_duration: int
    status: str
    is_available: bool

    @classmethod
    def of(cls, x: Listing) -> ListingOut:
        return cls(
            listing_id=x.listing_id,
            provider=x.provider,
            gpu_model=x.gpu_model,
            capacity=x.capacity,
            price=str(x.price),
            unit=x.unit.name,  # type: ignore[arg-type]
            min_duration=x.min_duration,
            max_duration=x.max_duration,
            status=x.status.name,
            is_available=x.is_available,
        )


class ListingPage(BaseModel):
    items: list[ListingOut]
    total: int = Field(description="listings matching the filters, before paging")
    offset: int
    limit: int


class CreateListingBody(Strict):
    gpu_model: StrictStr
    capacity: Uint
    price: Wei
    unit: UnitName = "MINUTE"
    min_duration: Uint = 1
    max_duration: Uint | None = None


class UpdateListingBody(Strict):
    gpu_model: StrictStr | None = None
    capacity: Uint | None = None
    price: Wei | None = None
    unit: UnitName | None = None
    min_duration: Uint | None = None
    max_duration: Uint | None = None


class AvailabilityBody(Strict):
    available: StrictBool


class QuoteOut(BaseModel):
    listing_id: int
    duration: int
    cost: Wei


class RentBody(Strict):
    listing_id: Uint
    duration: Uint
    max_total: Wei | None = None


class ExtendBody(Strict):
    extra: Uint


class RentalOut(BaseModel):
    rental_id: int
    listing_id: int
    renter: str
    provider: str
    start: int
    end: int
    price: Wei
    unit: UnitName
    paid: Wei
    fee_bps: int
    status: str
    is_active: bool

    @classmethod
    def of(cls, r: Rental) -> RentalOut:
        return cls(
            rental_id=r.rental_id,
            listing_id=r.listing_id,
            renter=r.renter,
            provider=r.provider,
            start=r.start,
            end=r.end,
            price=str(r.price),
            unit=r.unit.name,  # type: ignore[arg-type]
            paid=str(r.paid),
            fee_bps=r.fee_bps,
            status=r.status.name,
            is_active=r.is_active,
        )


class BalanceOut(BaseModel):
    address: str
    withdrawable: Wei


class WithdrawBody(Strict):
    to: Address | None = None


class WithdrawOut(BaseModel):
    amount: Wei


class WebhooksHealthOut(BaseModel):
    alive: bool = Field(
        description="both webhook workers (following the chain, delivering) run; they start "
        "with the first endpoint"
    )
    restarts: int = Field(description="times a worker died of an unexpected error and restarted")
    pending: int = Field(description="messages waiting for delivery to enabled endpoints")
    last_error: str | None = Field(
        description="class of the latest worker death or failed chain read (retried); "
        "a receiver's own failures show on its endpoint"
    )
    last_error_at: float | None = Field(description="Unix time of that error")


class IndexHealthOut(BaseModel):
    synced_block: int = Field(description="the last block whose events the index holds")
    lag_blocks: int = Field(description="blocks between the head and synced_block")
    following: bool = Field(
        description="this process keeps the index in sync in the background (false in the "
        "workers of `gpuhub serve --workers`, where the server process does)"
    )
    new_blocks_from: Literal["subscription", "polling"] | None = Field(
        description="how new blocks are learnt of: a newHeads subscription or paced polls"
    )
    last_error: str | None = Field(description="class of the latest failed sync (retried)")
    last_error_at: float | None = Field(description="Unix time of that error")
    synced_at: float | None = Field(description="Unix time of the last sync that succeeded")
    behind: bool = Field(
        description="the index trails the head by more than its confirmations and 5 blocks"
    )


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: the server answers, but its index is behind or not followed, "
        "or its webhook dispatcher does not run while endpoints wait"
    )
    chain_id: int
    latest_block: int
    contract_address: str
    server_account: str | None
    webhooks: WebhooksHealthOut | None = Field(
        description="the webhook dispatcher, on a server with webhooks"
    )
    index: IndexHealthOut | None = Field(
        description="the index reads are answered from, on a server with one"
    )
    worker: int | None = Field(
        default=None,
        description="the process id of the worker that answered, under `gpuhub serve --workers`",
    )


class ErrorOut(BaseModel):
    error: str = Field(description="the error's name: a Solidity custom error or a gpuhub error")
    message: str
    fields: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------- governance


class GovernanceOut(BaseModel):
    governor: str
    timelock: str
    votes: str
    guardian: str | None
    voting_delay: int = Field(description="seconds from a proposal to its vote")
    voting_period: int = Field(description="seconds a vote stays open")
    timelock_delay: int = Field(description="seconds a passed proposal waits")
    quorum_percent: int = Field(description="PARAMETER proposals: percent of claimed units")
    power_quorum_percent: int = Field(
        description="POWER proposals: percent of every unit ever granted or earned"
    )
    vote_maturity: int = Field(description="seconds units must be held before a snapshot")
    proposal_threshold: Wei
    total_units: Wei
    treasury_funds: Wei = Field(description="fees the treasury holds")
    payout_allowance: Wei = Field(description="what the treasury may pay out now")


class ActionOut(BaseModel):
    function: str = Field(description='the marketplace function, or "" for a raw call')
    args: list[Any]
    target: str | None
    value: Wei
    data: str = Field(description="raw calldata (0x...) for raw calls")


class ProposalOut(BaseModel):
    proposal_id: Wei = Field(description="the governor's id, a decimal string")
    proposer: str
    actions: list[ActionOut]
    description: str
    state: Literal[
        "PENDING", "ACTIVE", "CANCELED", "DEFEATED", "SUCCEEDED", "QUEUED", "EXPIRED", "EXECUTED"
    ]
    kind: Literal["PARAMETER", "POWER"] = Field(
        description="PARAMETER (fee, pause: ordinary quorum) or POWER (anything else)"
    )
    vote_start: int
    vote_end: int
    eta: int
    for_votes: Wei
    against_votes: Wei
    abstain_votes: Wei
    quorum: Wei

    @classmethod
    def of(cls, proposal: Proposal) -> ProposalOut:
        return cls(
            proposal_id=str(proposal.proposal_id),
            proposer=proposal.proposer,
            actions=[
                ActionOut(
                    function=a.function,
                    args=[json_value(x) for x in a.args],
                    target=a.target,
                    value=str(a.value),
                    data="0x" + a.data.hex(),
                )
                for a in proposal.actions
            ],
            description=proposal.description,
            state=proposal.state.name,  # type: ignore[arg-type]
            kind=proposal.kind.name,  # type: ignore[arg-type]
            vote_start=proposal.vote_start,
            vote_end=proposal.vote_end,
            eta=proposal.eta,
            for_votes=str(proposal.for_votes),
            against_votes=str(proposal.against_votes),
            abstain_votes=str(proposal.abstain_votes),
            quorum=str(proposal.quorum),
        )


class ProposalPage(BaseModel):
    items: list[ProposalOut]
    total: int = Field(description="proposals ever made")
    offset: int
    limit: int


class VotesOut(BaseModel):
    address: str
    votes: Wei = Field(description="votes now (own units and delegated ones)")
    units: Wei = Field(description="voting units held, whoever they are delegated to")
    pending: Wei = Field(description="units earned from fees and not claimed yet")
    delegate: str


# ---------------------------------------------------------------- reputation


class RateBody(Strict):
    score: Annotated[StrictInt, Field(ge=1, le=5)]
    comment: Annotated[
        StrictStr, Field(max_length=280, description="at most 280 bytes of UTF-8")
    ] = ""


class RatingOut(BaseModel):
    rental_id: int
    rater: str
    ratee: str
    role: Literal["RENTER", "PROVIDER"] = Field(description="the side the ratee was on")
    score: int
    billed: Wei
    comment: str
    block_number: int

    @classmethod
    def of(cls, r: Rating) -> RatingOut:
        return cls(
            rental_id=r.rental_id,
            rater=r.rater,
            ratee=r.ratee,
            role=r.role.name,  # type: ignore[arg-type]
            score=r.score,
            billed=str(r.billed),
            comment=r.comment,
            block_number=r.block_number,
        )


class ReputationOut(BaseModel):
    address: str
    provider_rating_count: int
    provider_rating_sum: int
    renter_rating_count: int
    renter_rating_sum: int
    completed_as_provider: int
    completed_as_renter: int
    terminations: int
    provider_rating_weight: int = Field(description="what the rated rentals billed, in 10^12 wei")
    provider_rating_weighted_sum: int
    renter_rating_weight: int
    renter_rating_weighted_sum: int
    provider_average: float | None
    renter_average: float | None
    provider_score: float = Field(
        description="mean weighted by what was billed, prior 3.0 at 10,000 weight units"
    )

    @classmethod
    def of(cls, r: Reputation) -> ReputationOut:
        return cls(
            address=r.address,
            provider_rating_count=r.provider_rating_count,
            provider_rating_sum=r.provider_rating_sum,
            renter_rating_count=r.renter_rating_count,
            renter_rating_sum=r.renter_rating_sum,
            completed_as_provider=r.completed_as_provider,
            completed_as_renter=r.completed_as_renter,
            terminations=r.terminations,
            provider_rating_weight=r.provider_rating_weight,
            provider_rating_weighted_sum=r.provider_rating_weighted_sum,
            renter_rating_weight=r.renter_rating_weight,
            renter_rating_weighted_sum=r.renter_rating_weighted_sum,
            provider_average=r.provider_average,
            renter_average=r.renter_average,
            provider_score=r.provider_score(),
        )
