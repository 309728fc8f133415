"""/v1/transactions: prepare for a wallet, relay what it signed, look up what it did."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from gpuhub import GPUHubClient, PriceUnit
from gpuhub.api import create_app

PRICE = 3_600 * 10**12  # wei per hour


@pytest.fixture
def renter(market: GPUHubClient) -> LocalAccount:
    """A browser wallet's key, holding 10 ETH; the server never sees it."""
    account: LocalAccount = Account.create()
    market.w3.eth.send_transaction(
        {"from": market.accounts[0], "to": account.address, "value": 10 * 10**18}
    )
    return account


@pytest.fixture
def listed(market: GPUHubClient) -> int:
    """A listing of account 1: 1..10 hours at PRICE per hour."""
    provider = market.with_account(market.accounts[1])
    return provider.create_listing(
        gpu_model="RTX 4090", capacity=24, price=PRICE, unit=PriceUnit.HOUR, max_duration=10
    ).listing_id


def _signed(wallet: LocalAccount, prepared: dict[str, Any]) -> str:
    """Sign a prepared answer's transaction as a wallet would (from and numbers in hex)."""
    tx = {k: v for k, v in prepared["transaction"].items() if k != "from"}
    return "0x" + bytes(wallet.sign_transaction(tx).raw_transaction).hex()


def _prepare_rent(http: TestClient, wallet: LocalAccount, listing_id: int) -> dict[str, Any]:
    body = {
        "from": wallet.address,
        "call": "rent",
        "args": {"listing_id": listing_id, "duration": 2},
    }
    answer = http.post("/v1/transactions/prepare", json=body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_prepare_answers_an_unsigned_transaction_and_its_summary(
    http: TestClient, renter: LocalAccount, listed: int, market: GPUHubClient
) -> None:
    """A prepared rent carries the EIP-1559 fields as hex quantities and the quote, escrow and
    early-end refund in wei and ETH, without an API key."""
    prepared = _prepare_rent(http, renter, listed)
    tx = prepared["transaction"]
    assert tx["from"] == renter.address and tx["to"] == market.contract_address
    assert int(tx["value"], 16) == 2 * PRICE and tx["type"] == "0x2"
    assert int(tx["chainId"], 16) == market.chain_id and tx["nonce"] == "0x0"
    assert prepared["amounts"]["quote"] == {"wei": str(2 * PRICE), "display": "0.0072 ETH"}
    assert prepared["amounts"]["refund_at_half"]["display"] == "0.0036 ETH"
    assert "0.0072 ETH" in prepared["summary"] and prepared["from"] == renter.address


def test_prepare_refuses_a_call_that_would_revert(
    http: TestClient, listed: int, market: GPUHubClient
) -> None:
    """Preparing a rent of one's own listing answers 403 CannotRentOwnListing with its fields."""
    provider = market.accounts[1]
    body = {"from": provider, "call": "rent", "args": {"listing_id": listed, "duration": 1}}
    answer = http.post("/v1/transactions/prepare", json=body)
    assert answer.status_code == 403
    assert answer.json()["error"] == "CannotRentOwnListing"
    assert answer.json()["fields"] == {"listing_id": listed}


def test_prepare_refuses_an_unknown_call(http: TestClient, renter: LocalAccount) -> None:
    """A call that is not a preparable write (grant_access included) is a 422 naming the
    field."""
    body = {"from": renter.address, "call": "grant_access", "args": {"rental_id": 0}}
    answer = http.post("/v1/transactions/prepare", json=body)
    assert answer.status_code == 422
    (problem,) = answer.json()["fields"]["problems"]
    assert problem["type"] == "union_tag_invalid" and "'rent'" in problem["msg"]


def test_relay_creates_the_rental_and_answers_it(
    http: TestClient, renter: LocalAccount, listed: int
) -> None:
    """A signed rent posted to /v1/transactions is sent and answered with the rental, no API key
    needed."""
    raw = _signed(renter, _prepare_rent(http, renter, listed))
    answer = http.post("/v1/transactions", json={"raw": raw, "from": renter.address, "wait": True})
    assert answer.status_code == 200, answer.text
    (rental,) = answer.json()["rentals"]
    assert rental["renter"] == renter.address and rental["paid"] == str(2 * PRICE)
    assert [e["name"] for e in answer.json()["events"]] == ["RentalStarted"]
    assert answer.json()["events"][0]["args"]["paid"] == str(2 * PRICE)


def test_relay_replay_answers_the_first_outcome(
    http: TestClient, renter: LocalAccount, listed: int, market: GPUHubClient
) -> None:
    """The same bytes relayed twice answer the same outcome; one rental, paid once."""
    raw = _signed(renter, _prepare_rent(http, renter, listed))
    body = {"raw": raw, "from": renter.address}
    first = http.post("/v1/transactions", json=body)
    balance = market.w3.eth.get_balance(renter.address)
    again = http.post("/v1/transactions", json=body)
    assert again.json() == first.json() and again.status_code == first.status_code == 200
    assert market.w3.eth.get_balance(renter.address) == balance
    assert market.rental_count() == 1


def test_relay_refuses_a_signer_that_is_not_from(
    http: TestClient, renter: LocalAccount, listed: int, market: GPUHubClient
) -> None:
    """Bytes signed by one key, relayed as another account's, answer 422 RelayRefused on
    `from`."""
    raw = _signed(renter, _prepare_rent(http, renter, listed))
    answer = http.post("/v1/transactions", json={"raw": raw, "from": market.accounts[2]})
    assert answer.status_code == 422
    assert answer.json()["error"] == "RelayRefused" and answer.json()["fields"]["field"] == "from"
    assert market.rental_count() == 0


def test_outcome_route_reads_a_mined_transaction(
    http: TestClient, renter: LocalAccount, listed: int
) -> None:
    """GET /v1/transactions/{hash} answers what a relayed transaction did; an unknown hash is
    404 TransactionNotFound."""
    raw = _signed(renter, _prepare_rent(http, renter, listed))
    relayed = http.post("/v1/transactions", json={"raw": raw, "from": renter.address}).json()
    found = http.get(f"/v1/transactions/{relayed['tx_hash']}")
    assert found.json() == relayed
    missing = http.get("/v1/transactions/0x" + "00" * 32)
    assert missing.status_code == 404 and missing.json()["error"] == "TransactionNotFound"


@pytest.fixture
def served(market: GPUHubClient) -> Iterator[TestClient]:
    """The API over ``market`` run as a server runs it: one event loop for every request."""
    with TestClient(create_app(market)) as http:
        yield http


def _pending_rent(
    market: GPUHubClient, http: TestClient, wallet: LocalAccount, listing: int
) -> str:
    """Send a signed rent to the embedded chain with mining off: its hash, pending."""
    raw = _signed(wallet, _prepare_rent(http, wallet, listing))
    market.w3.provider.ethereum_tester.disable_auto_mine_transactions()  # type: ignore[attr-defined]
    return str(market.w3.eth.send_raw_transaction(bytes.fromhex(raw[2:])).to_0x_hex())


def test_waits_on_one_transaction_share_one_reader(
    served: TestClient, market: GPUHubClient, renter: LocalAccount, listed: int
) -> None:
    """Eight clients waiting on one pending transaction cost the node one reader, not eight
    (each read it at every poll); all eight get its outcome once it is mined."""
    tester = market.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    waiting = served.app.state.waiting  # type: ignore[attr-defined]
    answers: list[int] = []
    try:
        tx_hash = _pending_rent(market, served, renter, listed)

        def wait() -> None:
            found = served.get(
                f"/v1/transactions/{tx_hash}", params={"wait": "true", "timeout": 10}
            )
            answers.append(found.status_code)

        waiters = [threading.Thread(target=wait) for _ in range(8)]
        for waiter in waiters:
            waiter.start()
        deadline = time.monotonic() + 5
        while not waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # every waiter has asked by now
        readers = len(waiting)
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()
    for waiter in waiters:
        waiter.join(15)
    assert readers == 1
    assert answers == [200] * 8
    assert not waiting


def test_waits_past_the_cap_answer_at_once(
    served: TestClient,
    market: GPUHubClient,
    renter: LocalAccount,
    listed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wait for yet another transaction past MAX_WAITING answers at once with what is known."""
    from gpuhub.api.routers import transactions

    monkeypatch.setattr(transactions, "MAX_WAITING", 0)
    tester = market.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    try:
        tx_hash = _pending_rent(market, served, renter, listed)
        found = served.get(f"/v1/transactions/{tx_hash}", params={"wait": "true", "timeout": 30})
    finally:
        tester.enable_auto_mine_transactions()
    assert found.status_code == 202, found.text
    assert not served.app.state.waiting  # type: ignore[attr-defined]
