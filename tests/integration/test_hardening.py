"""Hostile input and faulty nodes: each case once got through; each must now fail cleanly."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils.crypto import keccak

import gpuhub
from gpuhub import GPUHubClient, PriceUnit, RentalStatus
from gpuhub._core import decode_listing_page
from gpuhub.chain import AnvilNode

HOUR = PriceUnit.HOUR


def raw_create(client: GPUHubClient, model: bytes) -> None:
    """createListing with ``model`` as raw bytes (the ABI encodes string and bytes alike)."""
    selector = keccak(text="createListing(string,uint256,uint256,uint8,uint256,uint256)")[:4]
    args = encode(
        ["bytes", "uint256", "uint256", "uint8", "uint256", "uint256"], [model, 16, 10, 0, 1, 10]
    )
    sender = client._require_sender()
    tx_hash = client._run(
        sender.send({"to": client.contract_address, "data": "0x" + (selector + args).hex()}, {})
    )
    client._run(sender.wait(tx_hash, {"to": client.contract_address}, None))


# ------------------------------------------------------------------ the contract


@pytest.mark.parametrize(
    ("model", "offset"),
    [
        (b"\xff", 0),  # never valid
        (b"RTX \xc3", 4),  # truncated sequence
        (b"A\xc0\xaf", 1),  # overlong "/"
        (b"\xed\xa0\x80", 0),  # a UTF-16 surrogate
        (b"ab\xf4\x90\x80\x80", 2),  # above U+10FFFF
        (b"x" * 40 + b"\x80", 40),  # stray continuation byte past the first word
    ],
)
def test_contract_refuses_invalid_utf8(client: GPUHubClient, model: bytes, offset: int) -> None:
    """A model name that is not UTF-8 reverts with GpuModelNotUtf8 at the first bad byte."""
    with pytest.raises(gpuhub.GpuModelNotUtf8) as exc:
        raw_create(client, model)
    assert exc.value.offset == offset
    assert client.listing_count() == 0


def test_contract_accepts_multibyte_utf8(client: GPUHubClient) -> None:
    """Names in any script, with 2-, 3- and 4-byte characters, are accepted and read back."""
    name = "Радеон, 日本 🚀 ü"
    raw_create(client, name.encode())
    assert client.get_listing(0).gpu_model == name


def test_extension_limit_survives_a_unit_change(client: GPUHubClient) -> None:
    """Switching a listing from hours to minutes cannot stretch a running rental's maximum."""
    provider = client.with_account(client.accounts[1])
    renter = client.with_account(client.accounts[2])
    listing = provider.create_listing(
        gpu_model="A100", capacity=80, price=10**12, unit=HOUR, max_duration=10
    )
    rental = renter.rent(listing.listing_id, 10)
    provider.update_listing(listing.listing_id, unit=PriceUnit.MINUTE, max_duration=600)
    with pytest.raises(gpuhub.InvalidDuration) as exc:
        renter.extend_rental(rental.rental_id, 1)
    assert (exc.value.duration, exc.value.max_duration) == (11, 10)
    provider.update_listing(listing.listing_id, max_duration=1200)
    assert renter.extend_rental(rental.rental_id, 10).duration == 20
    with pytest.raises(gpuhub.InvalidDuration):
        renter.extend_rental(rental.rental_id, 1)


@pytest.mark.parametrize("fn", ["set_treasury", "transfer_governance"])
def test_roles_refuse_the_marketplace_itself(client: GPUHubClient, fn: str) -> None:
    """The marketplace's own address can hold no role: nothing credited to it could leave."""
    with pytest.raises(gpuhub.InvalidAddress) as exc:
        getattr(client, fn)(client.contract_address)
    assert exc.value.account == client.contract_address
    assert client.treasury() == client.governance_address() == client.address


def test_withdraw_to_the_marketplace_is_refused(client: GPUHubClient) -> None:
    """withdrawTo the marketplace itself reverts with InvalidAddress and keeps the balance."""
    provider = client.with_account(client.accounts[1])
    renter = client.with_account(client.accounts[2])
    listing = provider.create_listing(gpu_model="T4", capacity=16, price=10**12, unit=HOUR)
    renter.rent(listing.listing_id, 2, max_total=3 * 10**12)
    with pytest.raises(gpuhub.InvalidAddress):
        renter.withdraw(client.contract_address)
    assert renter.balance_of() == 10**12


@pytest.fixture
def rich_anvil(anvil_node: AnvilNode) -> GPUHubClient:
    """A marketplace on anvil whose accounts 1 and 2 hold 2^100 wei each."""
    w3 = anvil_node.web3()
    for account in w3.eth.accounts[1:3]:
        w3.provider.make_request("anvil_setBalance", [account, hex(2**100)])  # type: ignore[arg-type]
    return GPUHubClient.deploy(w3, account=w3.eth.accounts[0])


@pytest.mark.anvil
def test_rent_above_2_96_wei_is_refused(rich_anvil: GPUHubClient) -> None:
    """A rental whose cost does not fit the 96-bit escrow slot reverts; nothing is truncated."""
    provider = rich_anvil.with_account(rich_anvil.accounts[1])
    renter = rich_anvil.with_account(rich_anvil.accounts[2])
    price = 2**95
    listing = provider.create_listing(gpu_model="H100", capacity=80, price=price, unit=HOUR)
    before = rich_anvil.w3.eth.get_balance(rich_anvil.contract_address)
    with pytest.raises(gpuhub.PaymentTooLarge) as exc:
        renter.rent(listing.listing_id, 2)
    assert (exc.value.amount, exc.value.max_payment) == (2 * price, 2**96 - 1)
    assert rich_anvil.w3.eth.get_balance(rich_anvil.contract_address) == before
    assert rich_anvil.rental_count() == 0


@pytest.mark.anvil
def test_extension_above_2_96_wei_is_refused(rich_anvil: GPUHubClient) -> None:
    """Extending past 2^96 - 1 wei of escrow reverts, leaving the rental as it was."""
    provider = rich_anvil.with_account(rich_anvil.accounts[1])
    renter = rich_anvil.with_account(rich_anvil.accounts[2])
    price = 2**94
    listing = provider.create_listing(gpu_model="H100", capacity=80, price=price, unit=HOUR)
    rental = renter.rent(listing.listing_id, 3)
    with pytest.raises(gpuhub.PaymentTooLarge) as exc:
        renter.extend_rental(rental.rental_id, 1)
    assert exc.value.amount == 4 * price
    assert renter.get_rental(rental.rental_id) == rental


# ------------------------------------------------------------------ reads of untrusted strings


@pytest.mark.anvil
def test_invalid_utf8_in_storage_breaks_no_read(anvil_node: AnvilNode) -> None:
    """A name stored as invalid UTF-8 (as older deployments allowed) reads back with U+FFFD."""
    w3 = anvil_node.web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
    client.create_listing(gpu_model="ABCD", capacity=16, price=7)
    address = client.contract_address
    # Find the listing's second slot (price + first 20 model bytes) and rewrite the model bytes.
    for base in range(16):
        slot = int.from_bytes(keccak(encode(["uint256", "uint256"], [0, base])), "big") + 1
        word = bytes(w3.eth.get_storage_at(address, slot))
        if word.startswith(b"ABCD"):
            break
    else:
        pytest.fail("listing slot not found")
    bad = b"\xff\xfeCD" + word[4:]
    w3.provider.make_request(  # type: ignore[arg-type]
        "anvil_setStorageAt", [address, hex(slot), "0x" + bad.hex()]
    )
    expected = "\ufffd\ufffdCD"
    assert client.get_listing(0).gpu_model == expected
    assert [x.gpu_model for x in client.list_gpus()] == [expected]
    assert [x.gpu_model for x in client.list_listings()] == [expected]


def test_page_decoder_replaces_invalid_utf8() -> None:
    """The listing page decoder turns invalid bytes into U+FFFD instead of raising."""
    view = (0, "0x" + "11" * 20, b"\xffX", 1, 2, 0, 1, 5, 0)
    data = encode(
        ["(uint256,address,bytes,uint256,uint256,uint8,uint256,uint256,uint8)[]"], [[view]]
    )
    (listing,) = decode_listing_page(data, lambda a: a)
    assert listing.gpu_model == "\ufffdX"


def test_event_decoder_replaces_invalid_utf8() -> None:
    """A ListingCreated log whose name is invalid UTF-8 decodes with U+FFFD instead of raising."""
    from gpuhub.events import ListingCreated, default_decoder, event_topics

    (topic,) = event_topics([ListingCreated]) or []
    log = {
        "topics": [topic, "0x" + (3).to_bytes(32, "big").hex(), "0x" + "00" * 12 + "11" * 20],
        "data": encode(
            ["bytes", "uint256", "uint256", "uint8", "uint256", "uint256"],
            [b"\xc3(", 16, 5, 1, 1, 9],
        ),
        "blockNumber": 1,
        "blockHash": "0x" + "00" * 32,
        "transactionHash": "0x" + "00" * 32,
        "logIndex": 0,
    }
    event = default_decoder().decode(log)
    assert isinstance(event, ListingCreated)
    assert event.args["gpuModel"] == "\ufffd(" and event.args["listingId"] == 3
    assert event.args["unit"] is PriceUnit.HOUR


# ------------------------------------------------------------------ the client's arguments

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def address_taking_calls(client: GPUHubClient) -> dict[str, Callable[[str], object]]:
    return {
        "account=": lambda v: GPUHubClient(client.w3, client.contract_address, account=v),
        "contract_address": lambda v: GPUHubClient(client.w3, v),
        "with_account": client.with_account,
        "balance_of": client.balance_of,
        "provider_terminations": client.provider_terminations,
        "withdraw(to=)": client.withdraw,
        "set_treasury": client.set_treasury,
        "transfer_governance": client.transfer_governance,
        "rentals(renter=)": lambda v: client.rentals(renter=v),
        "rentals(provider=)": lambda v: client.rentals(provider=v),
        "reputation": client.reputation,
        "ratings(ratee=)": lambda v: client.ratings(ratee=v),
        "ratings(rater=)": lambda v: client.ratings(rater=v),
    }


@pytest.mark.parametrize("key", [KEY, KEY[2:], KEY.upper().replace("0X", "0x")])
def test_a_key_passed_as_an_address_is_never_echoed(
    client: GPUHubClient, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every parameter that takes an address refuses a private key without repeating it."""
    caplog.set_level(logging.DEBUG)
    for name, call in address_taking_calls(client).items():
        with pytest.raises(gpuhub.ValidationError) as exc:
            call(key)
        seen = [str(exc.value), repr(exc.value)]
        cause: BaseException | None = exc.value
        while cause is not None:
            seen += [str(cause), repr(cause)]
            cause = cause.__cause__ or cause.__context__
        for text in seen:
            assert key[-64:].lower() not in text.lower(), name
        assert "private key" in str(exc.value), name
    assert key[-64:].lower() not in caplog.text.lower()


@pytest.mark.parametrize(
    "bad",
    ["0x123", "0x" + "zz" * 20, "0xAbCdEf" + "ab" * 17, 12345, None],
)
def test_bad_addresses_are_validation_errors(client: GPUHubClient, bad: Any) -> None:
    """Short, non-hex, wrong-checksum and non-string addresses raise ValidationError."""
    with pytest.raises(gpuhub.ValidationError) as exc:
        client.balance_of(bad) if bad is not None else client.rentals(renter=123)  # type: ignore[arg-type]
    assert exc.value.field in ("address", "renter")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"gas": "x"}, "gas"),
        ({"gas": 10}, "gas"),
        ({"gas_price": -1}, "gas_price"),
        ({"timeout": 0}, "timeout"),
        ({"max_fee_per_gas": 1.5}, "max_fee_per_gas"),
    ],
)
def test_bad_transaction_options(client: GPUHubClient, options: dict[str, Any], field: str) -> None:
    """Malformed gas, fee and timeout options are refused before anything is sent."""
    nonce = client.w3.eth.get_transaction_count(client.address)
    with pytest.raises(gpuhub.ValidationError) as exc:
        client.create_listing(gpu_model="T4", capacity=16, price=1, **options)
    assert exc.value.field == field
    assert client.w3.eth.get_transaction_count(client.address) == nonce


@pytest.mark.parametrize(
    ("options", "error"),
    [({"gas": 10**9}, gpuhub.TransactionRejected), ({"gas_price": 1}, gpuhub.TransactionRejected)],
)
def test_node_refusals_are_typed(
    client: GPUHubClient, options: dict[str, Any], error: type[Exception]
) -> None:
    """A gas limit above the block's or a fee below the base fee is a TransactionRejected."""
    with pytest.raises(error) as exc:
        client.create_listing(gpu_model="T4", capacity=16, price=1, **options)
    assert "refused" in str(exc.value)
    assert client.listing_count() == 0


def test_unknown_sender_is_typed(client: GPUHubClient) -> None:
    """Sending from an account the node neither unlocks nor funds is a TransactionRejected."""
    stranger = client.with_account(Account.create().address)
    with pytest.raises(gpuhub.TransactionRejected):
        stranger.create_listing(gpu_model="T4", capacity=16, price=1)


def test_max_total_above_the_balance(client: GPUHubClient) -> None:
    """Offering more than the account holds is InsufficientFunds, and nothing changes."""
    provider = client.with_account(client.accounts[1])
    listing = provider.create_listing(gpu_model="T4", capacity=16, price=5, unit=HOUR)
    renter = client.with_account(client.accounts[2])
    with pytest.raises(gpuhub.InsufficientFunds) as exc:
        renter.rent(listing.listing_id, 1, max_total=10**40)
    assert "max_total" in str(exc.value)
    assert renter.get_listing(listing.listing_id).is_available


def test_huge_durations_are_validation_errors(client: GPUHubClient) -> None:
    """Durations past the contract's 2^24 - 1 units are refused in Python, not by web3."""
    provider = client.with_account(client.accounts[1])
    renter = client.with_account(client.accounts[2])
    listing = provider.create_listing(gpu_model="T4", capacity=16, price=2**95, unit=HOUR)
    for call in (
        lambda: renter.quote(listing.listing_id, 2**255),
        lambda: renter.rent(listing.listing_id, 2**255),
    ):
        with pytest.raises(gpuhub.ValidationError) as exc:
            call()
        assert exc.value.field == "duration"
    provider.update_listing(listing.listing_id, price=1)
    rental = renter.rent(listing.listing_id, 1)
    with pytest.raises(gpuhub.ValidationError) as exc:
        renter.extend_rental(rental.rental_id, 2**255)
    assert exc.value.field == "extra"


def test_lone_surrogate_model_is_a_validation_error(client: GPUHubClient) -> None:
    """A model name holding a lone surrogate cannot be UTF-8: ValidationError, nothing sent."""
    with pytest.raises(gpuhub.ValidationError) as exc:
        client.create_listing(gpu_model="A\ud800", capacity=16, price=1)
    assert exc.value.field == "gpu_model"


def test_events_past_the_head(client: GPUHubClient) -> None:
    """get_events with to_block past the chain head is a ValidationError naming the head."""
    head = client.block_number()
    with pytest.raises(gpuhub.ValidationError) as exc:
        client.get_events(0, head + 5)
    assert str(head) in str(exc.value)


def test_not_a_marketplace(client: GPUHubClient) -> None:
    """An address whose code is some other contract raises NotAMarketplace at construction."""
    from pathlib import Path

    from gpuhub.build import compile_sources

    path = Path(__file__).resolve().parents[1] / "contracts" / "Puppet.sol"
    _, output = compile_sources({"Puppet.sol": path.read_text()})
    build = output["contracts"]["Puppet.sol"]["Puppet"]
    factory = client.w3.eth.contract(abi=build["abi"], bytecode=build["evm"]["bytecode"]["object"])
    tx = factory.constructor(client.contract_address).transact({"from": client.address})
    other = client.w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    with pytest.raises(gpuhub.NotAMarketplace) as exc:
        GPUHubClient(client.w3, other)
    assert other in str(exc.value)
    assert isinstance(exc.value, gpuhub.ContractNotDeployed)


def test_duration_after_an_early_end(client: GPUHubClient) -> None:
    """Rental.duration stays the units bought after an early end moves the end time."""
    provider = client.with_account(client.accounts[1])
    renter = client.with_account(client.accounts[2])
    listing = provider.create_listing(gpu_model="T4", capacity=16, price=10**9, unit=HOUR)
    rental = renter.rent(listing.listing_id, 3)
    client.chain.advance_time(600)
    ended = renter.end_rental(rental.rental_id)
    assert ended.status is RentalStatus.ENDED_BY_RENTER and ended.duration == 3


# ------------------------------------------------------------------ sending honestly


def test_another_sender_from_the_same_account(client: GPUHubClient) -> None:
    """A second client sending from the same account makes the first resync, not fail."""
    first = client.with_account(client.accounts[3])
    second = GPUHubClient(client.w3, client.contract_address, account=client.accounts[3])
    first.create_listing(gpu_model="A", capacity=1, price=1)
    second.create_listing(gpu_model="B", capacity=1, price=1)
    assert first.create_listing(gpu_model="C", capacity=1, price=1).gpu_model == "C"
    assert client.listing_count() == 3


def _renter(market: GPUHubClient, kind: str) -> GPUHubClient:
    """The market sending as a funded renter: a local key, or an account the node unlocks.

    The local key's client polls for receipts: anvil holds a synchronous send of a transaction
    queued behind a gap for its own 30 s before answering, which would only slow these tests.
    """
    if kind == "node account":
        return market.with_account(market.accounts[5])
    account = Account.create()
    market.w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[attr-defined]
    return GPUHubClient(market.w3, market.contract_address, account=account, poll_interval=0.01)


def _go_back(market: GPUHubClient, renter: GPUHubClient, writes: int) -> None:
    """Take a snapshot, have ``renter`` mine ``writes`` writes, and revert: the node forgets
    them and their nonces, while the renter's client still counts them."""
    make = market.w3.provider.make_request
    snapshot = make("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    for _ in range(writes):
        renter.create_listing(gpu_model="scratch", capacity=1, price=1)
    make("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def governed_anvil(anvil_node: AnvilNode) -> Iterator[GPUHubClient]:
    """A market on anvil with no fee, and a listing at 10**12 wei an hour by another account."""
    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    market.with_account(market.accounts[4]).create_listing(
        gpu_model="A100", capacity=80, price=10**12, unit=HOUR
    )
    yield market
    w3.provider.make_request("anvil_dropAllTransactions", [])  # type: ignore[arg-type]


@pytest.mark.anvil
@pytest.mark.parametrize("kind", ["local key", "node account"])
def test_write_queued_behind_lost_nonces_runs_once(governed_anvil: GPUHubClient, kind: str) -> None:
    """After the node goes back to older state, a renter who extends once gets one extension,
    paid once, even as later writes use the nonces the node lost."""
    renter = _renter(governed_anvil, kind)
    rental = renter.rent(0, 1)
    _go_back(governed_anvil, renter, writes=2)
    extended = renter.extend_rental(rental.rental_id, 1, timeout=30)
    assert (extended.end - extended.start, extended.paid) == (2 * 3600, 2 * 10**12)
    for _ in range(3):  # later writes: nothing left queued to run a second time
        renter.create_listing(gpu_model="T4", capacity=16, price=1)
    after = governed_anvil.get_rental(rental.rental_id)
    assert (after.end - after.start, after.paid) == (2 * 3600, 2 * 10**12)


@pytest.mark.anvil
@pytest.mark.parametrize("kind", ["local key", "node account"])
def test_write_the_node_forgot_is_handed_over_again(
    governed_anvil: GPUHubClient, kind: str
) -> None:
    """A write the node forgot (its pool emptied) is handed over again at its own nonce and
    mined once."""
    renter = _renter(governed_anvil, kind)
    rental = renter.rent(0, 1)
    _go_back(governed_anvil, renter, writes=1)
    pending = renter.extend_rental(rental.rental_id, 1, wait=False)
    governed_anvil.w3.provider.make_request("anvil_dropAllTransactions", [])  # type: ignore[attr-defined]
    extended = pending.result(timeout=30)
    assert (extended.end - extended.start, extended.paid) == (2 * 3600, 2 * 10**12)
    renter.create_listing(gpu_model="T4", capacity=16, price=1)
    assert governed_anvil.get_rental(rental.rental_id).paid == 2 * 10**12


@pytest.mark.anvil
def test_write_whose_nonce_another_took_is_dropped(governed_anvil: GPUHubClient) -> None:
    """A write the node forgot, whose nonce another client of the same key has used since, is
    TransactionDropped: it can never run, and it did not."""
    renter = _renter(governed_anvil, "local key")
    rental = renter.rent(0, 1)
    _go_back(governed_anvil, renter, writes=1)
    pending = renter.extend_rental(rental.rental_id, 1, wait=False)
    governed_anvil.w3.provider.make_request("anvil_dropAllTransactions", [])  # type: ignore[attr-defined]
    other = GPUHubClient(
        governed_anvil.w3,
        governed_anvil.contract_address,
        account=renter._ops.sender._local,  # type: ignore[union-attr]
    )
    for _ in range(2):
        other.create_listing(gpu_model="T4", capacity=16, price=1)
    with pytest.raises(gpuhub.TransactionDropped) as exc:
        pending.result(timeout=30)
    assert exc.value.tx_hash == pending.tx_hash
    assert "taken by another transaction" in str(exc.value)
    assert governed_anvil.get_rental(rental.rental_id).paid == 10**12


class DroppingProxy:
    """A JSON-RPC proxy to a real node that forwards eth_sendRawTransaction, then hangs up."""

    def __init__(self, upstream: str) -> None:
        upstream_url = upstream

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = urllib.request.Request(
                    upstream_url, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=30) as answer:
                    reply = answer.read()
                payload = json.loads(body)
                entries = payload if isinstance(payload, list) else [payload]
                if any(str(e.get("method")).startswith("eth_sendRawTransaction") for e in entries):
                    self.close_connection = True
                    self.connection.close()  # accepted upstream; the caller never hears
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> DroppingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


@pytest.fixture
def dropping_proxy(anvil_node: AnvilNode) -> Iterator[DroppingProxy]:
    with DroppingProxy(anvil_node.url) as proxy:
        yield proxy


@pytest.mark.anvil
def test_connection_lost_after_send_carries_the_hash(
    anvil_node: AnvilNode, dropping_proxy: DroppingProxy
) -> None:
    """A send whose answer is lost raises TransactionOutcomeUnknown with the mined hash."""
    from web3 import HTTPProvider, Web3

    w3 = anvil_node.web3()
    market = GPUHubClient.deploy(w3, account=w3.eth.accounts[0])
    account = Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[arg-type]
    via_proxy = Web3(HTTPProvider(dropping_proxy.url))
    client = GPUHubClient(via_proxy, market.contract_address, account=account)
    with pytest.raises(gpuhub.TransactionOutcomeUnknown) as exc:
        client.create_listing(gpu_model="T4", capacity=16, price=1)
    assert exc.value.tx_hash is not None
    assert isinstance(exc.value, gpuhub.ConnectionFailed)
    receipt = w3.eth.wait_for_transaction_receipt(exc.value.tx_hash, timeout=10)  # type: ignore[arg-type]
    assert receipt["status"] == 1 and market.listing_count() == 1


@pytest.mark.parametrize("command", [["vote", "²", "for"], ["queue", "¹"], ["execute", "٣"]])
def test_proposal_id_of_other_digits_is_a_validation_error(command: list[str]) -> None:
    """`gpuhub gov` refuses a proposal id of superscript or other scripts' digits before
    connecting (no node listens on port 9), with the usage exit code and a line naming it."""
    from typer.testing import CliRunner

    from gpuhub.cli import app

    where = ["--rpc", "http://127.0.0.1:9", "--contract", "0x" + "11" * 20]
    result = CliRunner().invoke(app, ["gov", *command, *where])
    assert result.exit_code == 2, result.output
    assert "PROPOSAL" in result.output and "digits 0-9" in result.output


# ------------------------------------------------------------------ arguments of the wrong kind


@pytest.mark.parametrize("account", [5, b"\x01" * 20, object()])
def test_account_of_another_type_is_a_validation_error(client: GPUHubClient, account: Any) -> None:
    """with_account() of a number, bytes or another object raises ValidationError naming what it
    takes."""
    with pytest.raises(gpuhub.ValidationError) as exc:
        client.with_account(account)
    assert exc.value.field == "account"
    assert "LocalAccount" in str(exc.value) and "address" in str(exc.value)


def test_client_without_a_contract_address_is_refused(client: GPUHubClient) -> None:
    """GPUHubClient(w3, None) is refused at construction, naming deploy() and local()."""
    with pytest.raises(gpuhub.ValidationError) as exc:
        GPUHubClient(client.w3, None)  # type: ignore[arg-type]
    assert exc.value.field == "contract_address"
    assert "GPUHubClient.deploy(" in str(exc.value) and "GPUHubClient.local()" in str(exc.value)


def test_async_client_without_a_contract_address_is_refused() -> None:
    """AsyncGPUHubClient(w3, None) is refused at construction, naming its deploy()."""
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from gpuhub.aio import AsyncGPUHubClient

    with pytest.raises(gpuhub.ValidationError) as exc:
        AsyncGPUHubClient(AsyncWeb3(AsyncHTTPProvider("http://127.0.0.1:9")), None)  # type: ignore[arg-type]
    assert exc.value.field == "contract_address"
    assert "AsyncGPUHubClient.deploy(" in str(exc.value)


def test_block_past_the_head_is_refused_alike_on_both_chains(client: GPUHubClient) -> None:
    """A read at a block past the head raises RequestRejected on the embedded chain as on anvil."""
    client.create_listing(gpu_model="T4", capacity=16, price=1)
    for read in (
        lambda: client.get_listing(0, block=10**9),
        lambda: client.listing_count(block=10**9),
        lambda: client.balance_of(block=10**9),
    ):
        with pytest.raises(gpuhub.RequestRejected) as exc:
            read()
        assert "1000000000" in str(exc.value)


@pytest.mark.parametrize(
    ("option", "hint"), [("gass", "'gas'"), ("waitt", "'wait'"), ("nonce", "")]
)
def test_unknown_write_option_is_refused(client: GPUHubClient, option: str, hint: str) -> None:
    """A keyword option a write does not take raises UnknownOption (a TypeError too) naming it,
    and nothing is sent."""
    with pytest.raises(gpuhub.UnknownOption) as exc:
        client.create_listing(gpu_model="T4", capacity=16, price=1, **{option: 1})  # type: ignore[call-overload]
    assert exc.value.field == option
    assert isinstance(exc.value, TypeError)
    assert hint in str(exc.value)
    assert client.listing_count() == 0


def test_unknown_deploy_option_is_refused(client: GPUHubClient) -> None:
    """GPUHubClient.deploy() refuses a misspelt keyword (governence=) before deploying anything."""
    block = client.block_number()
    with pytest.raises(gpuhub.UnknownOption) as exc:
        GPUHubClient.deploy(client.w3, governence=client.accounts[0])  # type: ignore[call-arg]
    assert exc.value.field == "governence"
    assert client.block_number() == block
