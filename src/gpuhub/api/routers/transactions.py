"""Transactions users sign in their own wallets: prepared here, relayed back, looked up.

``POST /v1/transactions/prepare`` is ``client.prepare``: an unsigned transaction and what it
does and costs. ``POST /v1/transactions`` is ``client.relay``: a transaction signed elsewhere,
checked and handed to the node. ``GET /v1/transactions/{tx_hash}`` is ``client.outcome``.
None spends the server's ETH, so none needs the API key; a wait for a receipt sleeps on the event
loop between reads, so waiting clients hold no worker thread.
"""

import asyncio
import functools
import operator
import time
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, create_model
from starlette.concurrency import run_in_threadpool

from ...models import PreparedTransaction, PriceUnit, TransactionOutcome
from ...units import format_wei
from .. import _schemas as s
from .._deps import READ_ERRORS, ClientDep

router = APIRouter(prefix="/v1/transactions", tags=["transactions"])

#: the longest a request waits for a receipt, in seconds.
MAX_WAIT = 60.0

Hex = Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{2})*$", description="0x-prefixed hex")]
PublicKey = Annotated[
    str,
    Field(
        pattern=r"^(0x)?[0-9a-fA-F]{66}$",
        description="the rental's compressed secp256k1 public key, 33 bytes as hex",
    ),
]


class _Args(s.Strict):
    pass


class ListingIdArgs(_Args):
    listing_id: s.Uint


class RentalIdArgs(_Args):
    rental_id: s.Uint


class UpdateListingArgs(s.UpdateListingBody):
    listing_id: s.Uint


class ExtendArgs(s.ExtendBody):
    rental_id: s.Uint


class RateArgs(s.RateBody):
    rental_id: s.Uint


class RequestAccessArgs(_Args):
    rental_id: s.Uint
    public_key: PublicKey
    ssh_key: Annotated[StrictStr, Field(max_length=1000)] | None = None


class NoArgs(_Args):
    pass


class FeeArgs(_Args):
    fee_bps: Annotated[StrictInt, Field(ge=0, le=10_000)]


class PausedArgs(_Args):
    paused: StrictBool


class GuardianArgs(_Args):
    guardian: s.Address | None


class TreasuryArgs(_Args):
    treasury: s.Address


class GovernanceArgs(_Args):
    new_governance: s.Address


class PayoutArgs(_Args):
    to: s.Address
    amount: s.Wei


#: the arguments of each write that can be prepared over HTTP (``client.prepare``'s, without
#: ``grant_access``: its connection details would reach this server in the clear; providers
#: grant from their own machine, with the client or ``gpuhub provider run``).
ARGS: dict[str, type[BaseModel]] = {
    "create_listing": s.CreateListingBody,
    "update_listing": UpdateListingArgs,
    "fulfill_request": ListingIdArgs,
    "mark_available": ListingIdArgs,
    "remove_listing": ListingIdArgs,
    "rent": s.RentBody,
    "extend_rental": ExtendArgs,
    "end_rental": RentalIdArgs,
    "settle": RentalIdArgs,
    "withdraw": s.WithdrawBody,
    "rate": RateArgs,
    "request_access": RequestAccessArgs,
    "claim_votes": NoArgs,
    "set_fee": FeeArgs,
    "set_paused": PausedArgs,
    "set_guardian": GuardianArgs,
    "set_treasury": TreasuryArgs,
    "transfer_governance": GovernanceArgs,
    "pause": NoArgs,
    "pay_from_treasury": PayoutArgs,
}
#: argument names that carry wei as decimal strings.
_WEI = frozenset({"price", "max_total", "amount"})


def _body(call: str, args: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        f"Prepare_{call}",
        __config__=ConfigDict(extra="forbid", strict=True, populate_by_name=False),
        sender=(s.Address, Field(alias="from", description="the account that will sign")),
        call=(Literal[call], Field(description="the write, named as the client method")),  # type: ignore[arg-type]
        args=(args, Field(default_factory=args)),
    )


_BODIES = tuple(_body(call, args) for call, args in ARGS.items())
if TYPE_CHECKING:
    PrepareBody = Any
else:
    PrepareBody = Annotated[functools.reduce(operator.or_, _BODIES), Field(discriminator="call")]


class AmountOut(BaseModel):
    wei: s.Wei
    display: str = Field(description="the same amount in ETH, every digit kept")


class PreparedOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    call: str
    sender: str = Field(alias="from", serialization_alias="from")
    transaction: dict[str, str] = Field(
        description="for EIP-1193 eth_sendTransaction (or to sign): from, to, data, value, gas, "
        "nonce, chainId, type, and maxFeePerGas/maxPriorityFeePerGas (or gasPrice), numbers as "
        "hex quantities"
    )
    summary: str = Field(description="what it does and costs, in plain words")
    amounts: dict[str, AmountOut] = Field(
        description="the amounts the summary names (a rent: quote, escrow, excess, "
        "refund_per_unit, refund_at_half); always max_gas_fee"
    )

    @classmethod
    def of(cls, prepared: PreparedTransaction) -> "PreparedOut":
        return cls.model_validate(
            {
                "call": prepared.call,
                "from": prepared.sender,
                "transaction": prepared.to_rpc(),
                "summary": prepared.summary,
                "amounts": {
                    name: AmountOut(wei=str(wei), display=format_wei(wei))
                    for name, wei in prepared.amounts.items()
                },
            }
        )


class RelayBody(s.Strict):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)

    raw: Annotated[Hex, Field(max_length=2 + 2 * 128 * 1024, description="the signed bytes")]
    sender: s.Address = Field(alias="from", description="the account that signed it")
    wait: StrictBool = Field(default=False, description="answer once it is mined")
    timeout: Annotated[float, Field(gt=0, le=MAX_WAIT)] = Field(
        default=30.0, description=f"seconds to wait, at most {MAX_WAIT:g}"
    )


class OutcomeOut(BaseModel):
    tx_hash: str
    sender: str = Field(alias="from", serialization_alias="from")
    mined: bool = Field(description="false while it waits to be mined (answered with 202)")
    block_number: int | None
    gas_used: int | None
    events: list[dict[str, Any]] = Field(
        description="the marketplace events it emitted, as GET /events sends them"
    )
    listings: list[s.ListingOut] = Field(description="listings it created or changed")
    rentals: list[s.RentalOut] = Field(description="rentals it created or changed")

    @classmethod
    def of(cls, outcome: TransactionOutcome) -> "OutcomeOut":
        return cls.model_validate(
            {
                "tx_hash": outcome.tx_hash,
                "from": outcome.sender,
                "mined": outcome.mined,
                "block_number": outcome.block_number,
                "gas_used": outcome.gas_used,
                "events": [e.to_json(amounts_as_text=True) for e in outcome.events],
                "listings": [s.ListingOut.of(x) for x in outcome.listings],
                "rentals": [s.RentalOut.of(r) for r in outcome.rentals],
            }
        )


_RELAY_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    202: {"model": OutcomeOut, "description": "sent, not mined yet (or not within the wait)"},
    403: {"model": s.ErrorOut, "description": "the contract refuses this sender"},
    409: {"model": s.ErrorOut, "description": "the call conflicts with the current state"},
}


@router.post(
    "/prepare",
    response_model=PreparedOut,
    response_model_by_alias=True,
    responses={
        **READ_ERRORS,
        403: {"model": s.ErrorOut, "description": "the contract refuses this sender"},
        409: {"model": s.ErrorOut, "description": "the call conflicts with the current state"},
    },
)
def prepare(client: ClientDep, body: PrepareBody) -> PreparedOut:
    """An unsigned EIP-1559 transaction of one write for `from` to sign, and what it does.

    The write's own checks, its reads and the node's gas estimate run as for a send, so a call
    that would revert is answered with its custom error's name and fields, not prepared. Send
    `transaction` with the wallet (`eth_sendTransaction`), or sign it elsewhere and relay the
    bytes to `POST /v1/transactions`. No API key: the signer pays.
    """
    args = body.args.model_dump(exclude_unset=True)
    for name in _WEI & args.keys():
        args[name] = None if args[name] is None else int(args[name])
    if args.get("unit") is not None:
        args["unit"] = PriceUnit[args["unit"]]
    prepared = client.prepare(body.call, sender=body.sender, **args)
    return PreparedOut.of(prepared)


@router.post(
    "",
    response_model=OutcomeOut,
    response_model_by_alias=True,
    responses=_RELAY_ERRORS,
)
async def relay(
    client: ClientDep, request: Request, body: RelayBody, response: Response
) -> OutcomeOut:
    """Relay a transaction signed elsewhere (a KMS, a hardware wallet) and answer what it did.

    Refused with 422 `RelayRefused` (`fields.field` says which part) when it does not decode, is
    signed by another account than `from`, for another chain, to another contract than the
    marketplace, at a nonce that is not the signer's next, or with less gas than the call needs;
    a call that would revert is answered with its custom error and not sent. The same bytes
    relayed again are not sent again: the answer is the first one's outcome. 202 while it is
    not mined (`wait: false`, or not within `timeout`).
    """
    found = await run_in_threadpool(lambda: client.relay(body.raw, sender=body.sender, wait=False))
    if body.wait and not found.mined:
        found = await _waited(client, request, found.tx_hash, body.timeout)
    if not found.mined:
        response.status_code = 202
    return OutcomeOut.of(found)


@router.get(
    "/{tx_hash}",
    response_model=OutcomeOut,
    response_model_by_alias=True,
    responses=_RELAY_ERRORS,
)
async def outcome(
    client: ClientDep,
    request: Request,
    response: Response,
    tx_hash: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")],
    wait: bool = False,
    timeout: Annotated[float, Query(gt=0, le=MAX_WAIT)] = 30.0,
) -> OutcomeOut:
    """What a marketplace transaction did: its events, and the listings and rentals it created
    or changed (404 `TransactionNotFound` for one the node does not have or that went elsewhere;
    a reverted one answers its custom error). 202 while it waits to be mined."""
    found = await run_in_threadpool(lambda: client.outcome(tx_hash))
    if wait and not found.mined:
        found = await _waited(client, request, tx_hash, timeout)
    if not found.mined:
        response.status_code = 202
    return OutcomeOut.of(found)


#: transactions the server waits on at once. Each wait reads the node at every poll, so waits
#: on one hash share one reader, and a wait for yet another hash past this answers at once with
#: what is known (202 while it is pending): waits cannot multiply the node's load.
MAX_WAITING = 16


async def _waited(
    client: Any, request: Request, tx_hash: str, timeout: float
) -> TransactionOutcome:
    """The outcome once mined, or as it is after ``timeout``: waits on one hash share one reader
    that reads it again at the server's poll interval for up to MAX_WAIT seconds."""
    waiting: dict[str, asyncio.Future[TransactionOutcome]] = request.app.state.waiting
    key = tx_hash.lower()
    reader = waiting.get(key)
    if reader is None:
        if len(waiting) >= MAX_WAITING:
            return await run_in_threadpool(lambda: client.outcome(tx_hash))
        poll: float = request.app.state.event_poll_interval
        reader = asyncio.ensure_future(_read_until_mined(client, tx_hash, poll))
        waiting[key] = reader
        reader.add_done_callback(lambda _: waiting.pop(key, None))
    try:
        return await asyncio.wait_for(asyncio.shield(reader), timeout)
    except TimeoutError:
        return await run_in_threadpool(lambda: client.outcome(tx_hash))


async def _read_until_mined(client: Any, tx_hash: str, poll: float) -> TransactionOutcome:
    deadline = time.monotonic() + MAX_WAIT
    while True:
        await asyncio.sleep(poll)
        found: TransactionOutcome = await run_in_threadpool(lambda: client.outcome(tx_hash))
        if found.mined or time.monotonic() >= deadline:
            return found
