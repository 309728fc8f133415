"""Transactions that wallets sign elsewhere: prepared here, signed there, relayed back.

``prepare`` runs an operation's plan from ``_ops`` with a :class:`~._transactions.Preparer`
where the sender stands: every argument check, read and encoding happens as for a send, the gas
estimate runs the call on the latest state (a call that would revert raises its typed error),
and the plan ends with the unsigned transaction instead of signing it. A summary of what it does
and costs comes with it, its amounts in wei.

``relay`` takes the signed bytes back: it decodes them, checks the signer, the chain, the target
and the nonce, skips what the node already has (a replay answers the first outcome: the same
signed bytes can be mined only once), checks that the call would run with the gas it was signed
with, and hands it to the node. ``outcome`` reads what a marketplace transaction did.

Sans-I/O, like ``_ops``: both clients run these plans.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import _access, _core
from ._ops import Operations, Sent, _mined, update_changes
from ._transactions import (
    Batch,
    Drafted,
    Plan,
    Receipt,
    Rpc,
    TxOptions,
    data_bytes,
    quantity,
    replay_error,
    wait_for_receipt,
)
from .events import (
    ContractEvent,
    ListingCreated,
    ListingStatusChanged,
    ListingUpdated,
    Rated,
    RentalEnded,
    RentalExtended,
    RentalStarted,
    default_decoder,
)
from .exceptions import (
    MalformedResponse,
    RelayRefused,
    TransactionNotFound,
    TransactionRejected,
    UnknownOption,
    ValidationError,
)
from .models import Listing, PreparedTransaction, PriceUnit, Rental, TransactionOutcome
from .units import format_duration, format_price, format_wei

#: largest signed transaction relayed, in bytes (nodes refuse past 128 KiB).
MAX_RAW_BYTES = 128 * 1024
#: words in a node's answer to a transaction it has already.
_KNOWN = ("already known", "known transaction", "already imported")
_TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}\Z")

Summary = tuple[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class Call:
    """One write that can be prepared: the plan that would send it and its summary."""

    #: ``(ops, tx, **args)``: the operation's plan from ``_ops``.
    send: Callable[..., Plan[Sent[Any]]]
    #: ``(ops, transaction, **args)``: what it does, and the amounts it speaks of.
    describe: Callable[..., Plan[Summary]]

    def parameters(self) -> list[inspect.Parameter]:
        """The call's own arguments, in order."""
        return list(inspect.signature(self.send).parameters.values())[2:]


# ---------------------------------------------------------------------- preparing


def prepare(ops: Operations, call: str, args: Mapping[str, Any]) -> Plan[PreparedTransaction]:
    """The unsigned transaction of ``call(**args)`` from ``ops``'s sender (a ``Preparer``)."""
    entry, bound = bind(call, args)
    sender = ops.require_sender()
    try:
        yield from entry.send(ops, TxOptions(), **bound)
    except Drafted as drafted:
        transaction = drafted.transaction
    else:  # pragma: no cover - every call's plan sends
        raise AssertionError(f"{call} sent nothing")
    text, amounts = yield from entry.describe(ops, transaction, **bound)
    fee = int(transaction.get("maxFeePerGas", transaction.get("gasPrice", 0)))
    gas = int(transaction["gas"])
    amounts["max_gas_fee"] = gas * fee
    each = format_wei(fee, "gwei")
    text += f" Gas: at most {format_wei(gas * fee)} ({gas:,} gas at up to {each} each)."
    return PreparedTransaction(
        call=call, sender=sender.address, transaction=transaction, summary=text, amounts=amounts
    )


def bind(call: str, args: Mapping[str, Any]) -> tuple[Call, dict[str, Any]]:
    """The entry for ``call`` and its arguments with defaults filled in; a ValidationError
    naming the call's arguments for a missing or unknown one."""
    entry = CALLS.get(call) if isinstance(call, str) else None
    if entry is None:
        raise ValidationError("call", f"expected one of {', '.join(sorted(CALLS))}, got {call!r}")
    params = entry.parameters()
    takes = ", ".join(p.name for p in params) or "no arguments"
    names = {p.name for p in params}
    for name in args:
        if name not in names:
            raise UnknownOption(str(name), f"{call} takes {takes}")
    bound = {}
    for p in params:
        if p.name in args:
            bound[p.name] = args[p.name]
        elif p.default is inspect.Parameter.empty:
            raise ValidationError(p.name, f"{call} needs it (it takes {takes})")
        else:
            bound[p.name] = p.default
    return entry, bound


# Each call: the operation's plan, as the client method of the same name sends it.


def _create_listing(
    ops: Operations,
    tx: TxOptions,
    *,
    gpu_model: str,
    capacity: int,
    price: int,
    unit: PriceUnit = PriceUnit.MINUTE,
    min_duration: int = 1,
    max_duration: int | None = None,
) -> Plan[Sent[Any]]:
    return ops.create_listing(
        gpu_model=gpu_model,
        capacity=capacity,
        price=price,
        unit=_core.check_unit(unit),
        min_duration=min_duration,
        max_duration=max_duration,
        tx=tx,
    )


def _update_listing(
    ops: Operations,
    tx: TxOptions,
    *,
    listing_id: int,
    gpu_model: str | None = None,
    capacity: int | None = None,
    price: int | None = None,
    unit: PriceUnit | None = None,
    min_duration: int | None = None,
    max_duration: int | None = None,
) -> Plan[Sent[Any]]:
    changes = update_changes(
        gpu_model=gpu_model,
        capacity=capacity,
        price=price,
        unit=None if unit is None else _core.check_unit(unit),
        min_duration=min_duration,
        max_duration=max_duration,
    )
    return ops.update_listing(listing_id, changes, tx)


def _fulfill_request(ops: Operations, tx: TxOptions, *, listing_id: int) -> Plan[Sent[Any]]:
    return ops.status_change("fulfillRequest", listing_id, tx)


def _mark_available(ops: Operations, tx: TxOptions, *, listing_id: int) -> Plan[Sent[Any]]:
    return ops.status_change("markAvailable", listing_id, tx)


def _remove_listing(ops: Operations, tx: TxOptions, *, listing_id: int) -> Plan[Sent[Any]]:
    return ops.status_change("removeListing", listing_id, tx)


def _rent(
    ops: Operations, tx: TxOptions, *, listing_id: int, duration: int, max_total: int | None = None
) -> Plan[Sent[Any]]:
    return ops.rent(listing_id, duration, max_total, tx)


def _extend_rental(
    ops: Operations, tx: TxOptions, *, rental_id: int, extra: int
) -> Plan[Sent[Any]]:
    return ops.extend_rental(rental_id, extra, tx)


def _end_rental(ops: Operations, tx: TxOptions, *, rental_id: int) -> Plan[Sent[Any]]:
    return ops.rental_write("endRental", rental_id, tx)


def _settle(ops: Operations, tx: TxOptions, *, rental_id: int) -> Plan[Sent[Any]]:
    return ops.rental_write("settle", rental_id, tx)


def _withdraw(ops: Operations, tx: TxOptions, *, to: str | None = None) -> Plan[Sent[Any]]:
    return ops.withdraw(to, tx)


def _rate(
    ops: Operations, tx: TxOptions, *, rental_id: int, score: int, comment: str = ""
) -> Plan[Sent[Any]]:
    return ops.rate(rental_id, score, comment, tx)


def _request_access(
    ops: Operations,
    tx: TxOptions,
    *,
    rental_id: int,
    public_key: bytes | str,
    ssh_key: str | None = None,
) -> Plan[Sent[Any]]:
    _core.check_int("rental_id", rental_id)
    payload = _access.encode_request(_key_bytes(public_key), ssh_key)
    return ops.transact("requestAccess", [rental_id, payload], _mined, tx)


def _grant_access(
    ops: Operations,
    tx: TxOptions,
    *,
    rental_id: int,
    details: str,
    public_key: bytes | str | None = None,
) -> Plan[Sent[Any]]:
    key = None if public_key is None else _key_bytes(public_key)
    return ops.grant_access(rental_id, details, key, tx)


def _claim_votes(ops: Operations, tx: TxOptions) -> Plan[Sent[Any]]:
    return ops.transact("claimVotes", [], _mined, tx)


def _set_fee(ops: Operations, tx: TxOptions, *, fee_bps: int) -> Plan[Sent[Any]]:
    return ops.set_fee(fee_bps, tx)


def _set_paused(ops: Operations, tx: TxOptions, *, paused: bool) -> Plan[Sent[Any]]:
    return ops.set_paused(paused, tx)


def _set_guardian(ops: Operations, tx: TxOptions, *, guardian: str | None) -> Plan[Sent[Any]]:
    return ops.set_guardian(guardian, tx)


def _set_treasury(ops: Operations, tx: TxOptions, *, treasury: str) -> Plan[Sent[Any]]:
    return ops.governance_tx("setTreasury", [_core.check_address("treasury", treasury)], tx)


def _transfer_governance(ops: Operations, tx: TxOptions, *, new_governance: str) -> Plan[Sent[Any]]:
    address = _core.check_address("new_governance", new_governance)
    return ops.governance_tx("transferGovernance", [address], tx)


def _pause(ops: Operations, tx: TxOptions) -> Plan[Sent[Any]]:
    return ops.governance_tx("pause", [], tx)


def _pay_from_treasury(ops: Operations, tx: TxOptions, *, to: str, amount: int) -> Plan[Sent[Any]]:
    return ops.pay_from_treasury(to, amount, tx)


def _key_bytes(value: bytes | str) -> bytes:
    """A public key given as bytes or as (0x) hex."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            pass
    raise ValidationError("public_key", "expected a compressed secp256k1 public key, 33 bytes hex")


# Each call: what it does and costs, in words and wei. The plan ran first, so ids exist.


def _said(text: str, **amounts: int) -> Plan[Summary]:
    return (text, dict(amounts))
    yield  # pragma: no cover - makes this a generator


def _units(count: int, unit: PriceUnit) -> str:
    word = unit.name.lower()
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _about(listing: Listing) -> str:
    return f"listing {listing.listing_id} ({listing.gpu_model}, {listing.capacity} GB)"


def _describe_create_listing(
    ops: Operations,
    transaction: Mapping[str, Any],
    *,
    gpu_model: str,
    capacity: int,
    price: int,
    unit: PriceUnit = PriceUnit.MINUTE,
    min_duration: int = 1,
    max_duration: int | None = None,
) -> Plan[Summary]:
    unit = _core.check_unit(unit)
    longest = _core.max_duration_for(unit) if max_duration is None else max_duration
    return (
        yield from _said(
            f"List a {gpu_model} with {capacity} GB at {format_price(price, unit)}, for rentals "
            f"of {min_duration} to {_units(longest, unit)}; you become its provider and are "
            "credited as renters use it.",
            price=price,
        )
    )


def _describe_update_listing(
    ops: Operations, transaction: Mapping[str, Any], *, listing_id: int, **changes: Any
) -> Plan[Summary]:
    current = yield from ops.get_listing(listing_id)
    shown = []
    for name, value in changes.items():
        if value is None or value == getattr(current, name):
            continue
        before, after = getattr(current, name), value
        if name == "price":
            before, after = format_wei(before), format_wei(after)
        elif name == "unit":
            before, after = before.name.lower(), PriceUnit(after).name.lower()
        shown.append(f"{name.replace('_', ' ')} {before} -> {after}")
    what = ", ".join(shown) or "nothing (the terms given are the ones it has)"
    price = current.price if changes.get("price") is None else changes["price"]
    return (
        f"Change the terms of {_about(current)}: {what}. A rental already running keeps its own.",
        {"price": price},
    )


def _describe_status(verb: str) -> Callable[..., Plan[Summary]]:
    def describe(
        ops: Operations, transaction: Mapping[str, Any], *, listing_id: int
    ) -> Plan[Summary]:
        listing = yield from ops.get_listing(listing_id)
        return (f"{verb.format(_about(listing))}.", {})

    return describe


def _describe_rent(
    ops: Operations,
    transaction: Mapping[str, Any],
    *,
    listing_id: int,
    duration: int,
    max_total: int | None = None,
) -> Plan[Summary]:
    listing = yield from ops.get_listing(listing_id)
    unit, price = listing.unit, listing.price
    quote = price * duration
    value = int(transaction["value"])
    excess = value - quote
    # Billed per second at the locked price, rounded down in the renter's favour (GPUHub._billed).
    half = duration * unit.seconds // 2
    refund_at_half = quote - price * half // unit.seconds
    text = (
        f"Rent {_about(listing)} from {listing.provider} for {_units(duration, unit)} "
        f"({format_duration(duration * unit.seconds)}) at {format_price(price, unit)}: the quote "
        f"is {format_wei(quote)}, paid into escrow."
    )
    if excess:
        text += (
            f" {format_wei(excess)} more is sent (the most you accept to pay) and credited "
            "back to your balance at once, to withdraw."
        )
    text += (
        " Billing is per second: ended early, by you or the provider, the unused time comes "
        f"back to your balance ({format_wei(price)} per {unit.name.lower()} not used; "
        f"{format_wei(refund_at_half)} if ended halfway)."
    )
    return (
        text,
        {
            "quote": quote,
            "escrow": quote,
            "excess": excess,
            "refund_per_unit": price,
            "refund_at_half": refund_at_half,
        },
    )


def _describe_extend_rental(
    ops: Operations, transaction: Mapping[str, Any], *, rental_id: int, extra: int
) -> Plan[Summary]:
    rental = yield from ops.get_rental(rental_id)
    cost = rental.price * extra
    return (
        f"Extend rental {rental_id} by {_units(extra, rental.unit)} at its locked "
        f"{format_price(rental.price, rental.unit)}: {format_wei(cost)} more into escrow; it "
        f"then ends at Unix time {rental.end + extra * rental.unit.seconds}.",
        {"cost": cost},
    )


def _billed(rental: Rental, until: int) -> int:
    """Wei a rental bills up to ``until`` (GPUHub._billed: per second, rounded down, capped)."""
    until = max(min(until, rental.end), rental.start)
    return min(rental.price * (until - rental.start) // rental.unit.seconds, rental.paid)


def _describe_end_rental(
    ops: Operations, transaction: Mapping[str, Any], *, rental_id: int
) -> Plan[Summary]:
    rental = yield from ops.get_rental(rental_id)
    head = yield from ops.block_head("latest")
    now = quantity((head or {}).get("timestamp", rental.start))
    billed = _billed(rental, now)
    refund = rental.paid - billed
    sender = ops.require_sender().address
    who = (
        " by its provider, which counts against the provider's reputation"
        if sender == rental.provider
        else ""
    )
    return (
        f"End rental {rental_id} now{who}: as of the latest block {format_wei(billed)} of the "
        f"{format_wei(rental.paid)} paid is billed and {format_wei(refund)} goes back to the "
        "renter's balance (each second until it is mined bills a little more).",
        {"paid": rental.paid, "billed": billed, "refund": refund},
    )


def _describe_settle(
    ops: Operations, transaction: Mapping[str, Any], *, rental_id: int
) -> Plan[Summary]:
    rental = yield from ops.get_rental(rental_id)
    billed = _billed(rental, rental.end)
    refund = rental.paid - billed
    return (
        f"Settle rental {rental_id}, whose time is over: {format_wei(billed)} billed to the "
        f"provider (less the platform fee) and {format_wei(refund)} back to the renter.",
        {"paid": rental.paid, "billed": billed, "refund": refund},
    )


def _describe_withdraw(
    ops: Operations, transaction: Mapping[str, Any], *, to: str | None = None
) -> Plan[Summary]:
    sender = ops.require_sender().address
    amount = yield from ops.balance_of(sender, "latest")
    target = "your account" if to is None else ops.checksum("to", to)
    return (f"Withdraw your whole balance, {format_wei(amount)}, to {target}.", {"amount": amount})


def _describe_rate(
    ops: Operations,
    transaction: Mapping[str, Any],
    *,
    rental_id: int,
    score: int,
    comment: str = "",
) -> Plan[Summary]:
    said = f' with the comment "{comment}"' if comment else ""
    return (yield from _said(f"Rate the other side of rental {rental_id} {score} out of 5{said}."))


def _describe_request_access(
    ops: Operations,
    transaction: Mapping[str, Any],
    *,
    rental_id: int,
    public_key: bytes | str,
    ssh_key: str | None = None,
) -> Plan[Summary]:
    ssh = " and an SSH key" if ssh_key else ""
    return (
        yield from _said(
            f"Ask the provider of rental {rental_id} for access: the rental's public key{ssh} "
            "go on chain, and the answer comes encrypted to that key."
        )
    )


def _describe_grant_access(
    ops: Operations, transaction: Mapping[str, Any], *, rental_id: int, **_: Any
) -> Plan[Summary]:
    return (
        yield from _said(
            f"Send the renter of rental {rental_id} the connection details, encrypted to the "
            "key of its access request: only ciphertext goes on chain."
        )
    )


def _describe_fixed(text: str) -> Callable[..., Plan[Summary]]:
    def describe(ops: Operations, transaction: Mapping[str, Any], **args: Any) -> Plan[Summary]:
        return (yield from _said(text.format(**args)))

    return describe


def _describe_set_paused(
    ops: Operations, transaction: Mapping[str, Any], *, paused: bool
) -> Plan[Summary]:
    what = "Pause new listings and rentals" if paused else "Resume new listings and rentals"
    return (yield from _said(f"{what} (governance only); rentals running go on."))


def _describe_set_guardian(
    ops: Operations, transaction: Mapping[str, Any], *, guardian: str | None
) -> Plan[Summary]:
    text = (
        "Remove the pause guardian (governance only)."
        if guardian is None
        else f"Let {guardian} pause the marketplace at once, never resume it (governance only)."
    )
    return (yield from _said(text))


def _describe_pay_from_treasury(
    ops: Operations, transaction: Mapping[str, Any], *, to: str, amount: int
) -> Plan[Summary]:
    return (
        yield from _said(
            f"Pay {format_wei(amount)} of the fees the treasury holds to {to} (the treasury "
            "only, within its payout allowance).",
            amount=amount,
        )
    )


#: every write that can be prepared, by the name of its client method.
CALLS: dict[str, Call] = {
    "create_listing": Call(_create_listing, _describe_create_listing),
    "update_listing": Call(_update_listing, _describe_update_listing),
    "fulfill_request": Call(
        _fulfill_request,
        _describe_status("Take {} off the market: it stays listed, UNAVAILABLE, until put back"),
    ),
    "mark_available": Call(_mark_available, _describe_status("Put {} back on the market")),
    "remove_listing": Call(_remove_listing, _describe_status("Remove {} for good")),
    "rent": Call(_rent, _describe_rent),
    "extend_rental": Call(_extend_rental, _describe_extend_rental),
    "end_rental": Call(_end_rental, _describe_end_rental),
    "settle": Call(_settle, _describe_settle),
    "withdraw": Call(_withdraw, _describe_withdraw),
    "rate": Call(_rate, _describe_rate),
    "request_access": Call(_request_access, _describe_request_access),
    "grant_access": Call(_grant_access, _describe_grant_access),
    "claim_votes": Call(
        _claim_votes, _describe_fixed("Mint the voting units your rentals' fees earned.")
    ),
    "set_fee": Call(
        _set_fee,
        _describe_fixed(
            "Set the platform fee to {fee_bps} basis points of what rentals started from now "
            "bill (governance only)."
        ),
    ),
    "set_paused": Call(_set_paused, _describe_set_paused),
    "set_guardian": Call(_set_guardian, _describe_set_guardian),
    "set_treasury": Call(
        _set_treasury,
        _describe_fixed("Make {treasury} the treasury, which holds the fees (governance only)."),
    ),
    "transfer_governance": Call(
        _transfer_governance,
        _describe_fixed("Hand governance of the marketplace to {new_governance}."),
    ),
    "pause": Call(
        _pause,
        _describe_fixed("Pause new listings and rentals now (the guardian or governance only)."),
    ),
    "pay_from_treasury": Call(_pay_from_treasury, _describe_pay_from_treasury),
}


# ---------------------------------------------------------------------- relaying


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """The fields of a signed transaction that the relay checks."""

    raw: bytes
    tx_hash: str
    signer: str
    chain_id: int | None
    to: str | None
    nonce: int
    gas: int
    value: int
    data: bytes


def decode_signed(raw: Any) -> SignedTransaction:
    """The fields and signer of a signed transaction (bytes or 0x hex): a typed (EIP-2718) one
    or a legacy one.

    Raises:
        RelayRefused: it is not a signed transaction (``field`` is ``raw``).
    """
    from eth_account import Account
    from eth_utils.address import to_checksum_address
    from eth_utils.crypto import keccak

    if isinstance(raw, str):
        text = raw.removeprefix("0x")
        if len(text) > 2 * MAX_RAW_BYTES or not re.fullmatch(r"[0-9a-fA-F]*", text):
            raise RelayRefused("raw", "expected the signed transaction as 0x-prefixed hex")
        raw = bytes.fromhex(text) if len(text) % 2 == 0 else b""
    if not isinstance(raw, bytes | bytearray) or not raw:
        raise RelayRefused("raw", "expected the signed transaction's bytes (0x hex), not empty")
    raw = bytes(raw)
    if len(raw) > MAX_RAW_BYTES:
        raise RelayRefused("raw", f"{len(raw)} bytes; nodes take at most {MAX_RAW_BYTES}")
    try:
        signer = str(Account.recover_transaction(raw))
        fields = _typed_fields(raw) if raw[0] < 0x80 else _legacy_fields(raw)
        to = fields["to"]
        return SignedTransaction(
            raw=raw,
            tx_hash="0x" + keccak(raw).hex(),
            signer=signer,
            chain_id=fields["chain_id"],
            to=to_checksum_address(to) if to else None,
            nonce=int(fields["nonce"]),
            gas=int(fields["gas"]),
            value=int(fields["value"]),
            data=bytes(fields["data"]),
        )
    # Whatever the decoders raise on hostile bytes (rlp, eth-keys, eth-account errors), the
    # answer is the same: these bytes are no signed transaction.
    except Exception as err:
        raise RelayRefused(
            "raw", f"not a signed transaction ({type(err).__name__}): sign it, then send its bytes"
        ) from err


def _typed_fields(raw: bytes) -> dict[str, Any]:
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from hexbytes import HexBytes

    fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    return {
        "chain_id": fields["chainId"],
        "to": bytes(fields.get("to") or b""),
        "nonce": fields["nonce"],
        "gas": fields["gas"],
        "value": fields["value"],
        "data": fields.get("data") or b"",
    }


def _legacy_fields(raw: bytes) -> dict[str, Any]:
    import rlp

    nonce, _, gas, to, value, data, v, _, _ = rlp.decode(raw)
    v_int = int.from_bytes(v)
    return {
        # EIP-155 folds the chain id into v; a signature without one is valid on every chain.
        "chain_id": (v_int - 35) // 2 if v_int >= 35 else None,
        "to": bytes(to),
        "nonce": int.from_bytes(nonce),
        "gas": int.from_bytes(gas),
        "value": int.from_bytes(value),
        "data": bytes(data),
    }


def relay(
    ops: Operations, raw: Any, sender: str | None, wait: bool, timeout: float | None
) -> Plan[TransactionOutcome]:
    """Check a signed transaction to the marketplace, hand it to the node (unless the node has
    it already), and return its outcome."""
    signed = decode_signed(raw)
    conn = ops.conn
    if sender is not None:
        claimed = _core.check_address("from", sender)
        if claimed != signed.signer:
            raise RelayRefused(
                "from",
                f"the transaction is signed by {signed.signer}, not by {claimed}: sign it with "
                f"{claimed}'s key (or name the account that signed it)",
            )
    if signed.chain_id != conn.chain_id:
        raise RelayRefused(
            "chainId",
            f"signed for chain {signed.chain_id} (None: no chain at all), while this "
            f"marketplace is on chain {conn.chain_id}: prepare it again and sign it for "
            f"chain {conn.chain_id}",
        )
    if signed.to != conn.address:
        raise RelayRefused(
            "to",
            f"it goes to {signed.to or 'no address (it creates a contract)'}, not to the "
            f"marketplace at {conn.address}: only marketplace transactions are relayed",
        )
    known = yield Rpc("eth_getTransactionByHash", [signed.tx_hash], signed.tx_hash)
    if known is None:
        yield from _check_and_send(signed)
    return (yield from outcome(ops, signed.tx_hash, wait, timeout))


def _check_and_send(signed: SignedTransaction) -> Plan[None]:
    """Refuse what the node would queue for ever or what would revert, then send it."""
    pending = yield Rpc("eth_getTransactionCount", [signed.signer, "pending"], signed.tx_hash)
    following = quantity(pending)
    if signed.nonce != following:
        where = "is used already" if signed.nonce < following else "is ahead of it"
        raise RelayRefused(
            "nonce",
            f"nonce {signed.nonce} {where}: {signed.signer}'s next nonce is {following}. Prepare "
            "the transaction again (prepare gives the next nonce) and sign that",
        )
    call = {
        "from": signed.signer,
        "to": signed.to,
        "data": "0x" + signed.data.hex(),
        "value": hex(signed.value),
    }
    # The estimate runs the call on the latest state: one that would revert raises its error.
    needed = quantity((yield Rpc("eth_estimateGas", [call], signed.tx_hash)))
    if signed.gas < needed:
        raise RelayRefused(
            "gas",
            f"its gas limit, {signed.gas}, is below the {needed} the call needs now: it would "
            "run out of gas and still be charged. Prepare it again and sign that",
        )
    try:
        yield Rpc("eth_sendRawTransaction", ["0x" + signed.raw.hex()], signed.tx_hash)
    except TransactionRejected as err:
        if not any(word in str(err).lower() for word in _KNOWN):
            raise


def check_tx_hash(tx_hash: Any) -> str:
    """A 0x-prefixed 32-byte transaction hash, or ValidationError."""
    if not isinstance(tx_hash, str) or not _TX_HASH.match(tx_hash):
        raise ValidationError("tx_hash", "expected a 0x-prefixed 32-byte hash (66 characters)")
    return tx_hash.lower()


def outcome(
    ops: Operations, tx_hash: str, wait: bool, timeout: float | None
) -> Plan[TransactionOutcome]:
    """What a marketplace transaction did, once mined (waiting for it if ``wait``).

    Raises:
        TransactionNotFound: the node has no such transaction, or it went elsewhere.
        ContractError: it reverted; the error is its own, typed.
    """
    tx_hash = check_tx_hash(tx_hash)
    conn = ops.conn
    found = yield Rpc("eth_getTransactionByHash", [tx_hash], tx_hash)
    if found is None:
        raise TransactionNotFound(
            f"no transaction {tx_hash} on chain {conn.chain_id}: the node never saw it, or "
            "forgot it (restarted?); relay it again",
            tx_hash=tx_hash,
        )
    sender, to = _node_address(found.get("from")), found.get("to")
    if to is None or _node_address(to) != conn.address:
        raise TransactionNotFound(
            f"transaction {tx_hash} went to {to}, not to the marketplace at {conn.address}",
            tx_hash=tx_hash,
        )
    raw = yield Rpc("eth_getTransactionReceipt", [tx_hash], tx_hash)
    if raw is None and wait:
        yield from wait_for_receipt(conn.clock, tx_hash, timeout)
        raw = yield Rpc("eth_getTransactionReceipt", [tx_hash], tx_hash)
    if raw is None:
        return TransactionOutcome(tx_hash=tx_hash, sender=sender, mined=False)
    receipt = Receipt.parse(raw)
    if receipt.status != 1:
        params = {
            "from": sender,
            "to": conn.address,
            "data": "0x" + data_bytes(found.get("input", "0x")).hex(),
            "value": quantity(found.get("value", 0)),
        }
        raise (yield from replay_error(tx_hash, params, receipt))
    mine = conn.address.lower()
    events = default_decoder().decode_all(
        log for log in raw["logs"] if str(log.get("address", "")).lower() == mine
    )
    listings, rentals = yield from _touched(ops, events, receipt.block_number)
    return TransactionOutcome(
        tx_hash=tx_hash,
        sender=sender,
        mined=True,
        block_number=receipt.block_number,
        gas_used=receipt.gas_used,
        events=tuple(events),
        listings=listings,
        rentals=rentals,
    )


def _node_address(value: Any) -> str:
    """An address from a node's answer, checksummed, or MalformedResponse."""
    try:
        return _core.check_address("address", value)
    except ValidationError:
        raise MalformedResponse(
            f"the node answered {str(value)[:50]!r} where an address belongs"
        ) from None


def _touched(
    ops: Operations, events: list[ContractEvent], block: int
) -> Plan[tuple[tuple[Listing, ...], tuple[Rental, ...]]]:
    """The listings and rentals ``events`` speak of, read as of ``block`` in one batch."""
    listing_ids: list[int] = []
    rental_ids: list[int] = []
    for event in events:
        if isinstance(event, ListingCreated | ListingUpdated | ListingStatusChanged):
            listing_ids.append(event.listing_id)
        if isinstance(event, RentalStarted | RentalEnded):
            listing_ids.append(event.listing_id)
        if isinstance(event, RentalStarted | RentalExtended | RentalEnded | Rated):
            rental_ids.append(event.rental_id)
    listing_ids = list(dict.fromkeys(listing_ids))
    rental_ids = list(dict.fromkeys(rental_ids))
    if not listing_ids and not rental_ids:
        return (), ()
    get_listing, get_rental = ops.fn("getListing"), ops.fn("getRental")
    requests = tuple(ops.call_request(get_listing, (i,), block) for i in listing_ids) + tuple(
        ops.call_request(get_rental, (i,), block) for i in rental_ids
    )
    answers = yield Batch(requests)
    listings = tuple(
        Listing.from_abi(get_listing.result(ops.returned(raw)))
        for raw in answers[: len(listing_ids)]
    )
    rentals = tuple(
        Rental.from_abi(get_rental.result(ops.returned(raw))) for raw in answers[len(listing_ids) :]
    )
    return listings, rentals
