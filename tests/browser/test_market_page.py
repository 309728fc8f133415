"""The market page in a real browser, over a marketplace on anvil, and the API's docs offline."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from playwright.sync_api import expect

from gpuhub import GPUHubClient, MarketIndex, PriceUnit
from gpuhub.api import create_app
from gpuhub.chain import AnvilNode

from .conftest import Server

pytestmark = pytest.mark.anvil

PRICE = 5 * 10**16  # 0.05 ETH per hour
WALLET_JS = """
window.ethereum = {
  listeners: {},
  on(name, handler) { (this.listeners[name] ||= []).push(handler); },
  removeListener() {},
  request({ method, params }) { return window.gpuhubWallet(method, params || []); },
};
"""


class Market:
    """The marketplace the page shows, and the server that serves it."""

    def __init__(self, client: GPUHubClient, url: str) -> None:
        self.client = client
        self.url = url


@pytest.fixture(scope="module")
def market(anvil_node: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    """A marketplace with three RTX 4090s (0.05, 0.05, 0.1 ETH an hour) and an H100 (0.2 ETH)
    listed by two providers, served by uvicorn
    with a market index that follows the chain (the price statistics come from it)."""
    w3 = anvil_node.web3()
    client = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    first, second = (client.with_account(a) for a in client.accounts[1:3])
    for memory, price in ((24, PRICE), (24, PRICE), (48, 2 * PRICE)):
        first.create_listing(
            gpu_model="NVIDIA RTX 4090",
            capacity=memory,
            price=price,
            unit=PriceUnit.HOUR,
            max_duration=10,
        )
    second.create_listing(
        gpu_model="NVIDIA H100", capacity=80, price=4 * PRICE, unit=PriceUnit.HOUR, max_duration=10
    )
    database = tmp_path_factory.mktemp("index") / "index.db"
    with MarketIndex(client, f"sqlite:///{database}") as index, index.follow(interval=0.2):
        index.sync()
        app = create_app(client, index=index, event_poll_interval=0.2)
        with Server(app) as server:
            yield Market(client, server.url)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new tab whose console errors and uncaught exceptions are collected in ``page.errors``."""
    tab = browser.new_page()
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    yield tab
    tab.close()


def open_market(page: Any, market: Market) -> None:
    """Load the page and wait until the table and the live feed are there."""
    page.goto(market.url + "/")
    page.wait_for_selector("#listings tbody tr")
    expect(page.locator("#feed-state")).to_contain_text("live")


def rows(page: Any) -> list[str]:
    return [r.inner_text() for r in page.query_selector_all("#listings tbody tr")]


def test_page_loads_without_console_errors(
    page: Any, market: Market, shoot: Callable[..., Path]
) -> None:
    """The page loads the market with no console error: every listing, its price per hour in
    ETH, the chain it is on."""
    open_market(page, market)
    shoot(page, "loaded")
    assert len(rows(page)) == market.client.listing_count()
    assert "0.05 ETH" in rows(page)[0] and "0.2 ETH" in rows(page)[3]
    assert f"chain {market.client.chain_id}" in page.inner_text("#chain")
    assert page.errors == []


def test_search_narrows_the_table(page: Any, market: Market, shoot: Callable[..., Path]) -> None:
    """A query typed in the box narrows the table to the listings that match it."""
    open_market(page, market)
    page.fill("#query", "model~4090 capacity>=48")
    page.press("#query", "Enter")
    expect(page.locator("#listings tbody tr")).to_have_count(1)
    shoot(page, "narrowed")
    (only,) = rows(page)
    assert "RTX 4090" in only and "48 GB" in only
    assert "1 listing match" in page.inner_text("#summary")


def test_sorting_by_a_column(page: Any, market: Market, shoot: Callable[..., Path]) -> None:
    """A click on Memory sorts by it, a second click sorts the other way."""
    open_market(page, market)
    page.click("th[data-sort=capacity]")
    page.click("th[data-sort=capacity]")
    expect(page.locator("th[data-sort=capacity]")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#listings tbody tr td:nth-child(3)").first).to_have_text("80 GB")
    shoot(page, "by-memory-descending")
    assert [r.split("\t")[2] for r in rows(page)][:2] == ["80 GB", "48 GB"]


def test_bad_query_shows_its_error(page: Any, market: Market, shoot: Callable[..., Path]) -> None:
    """A query that does not parse shows the server's message under the box, with a caret at
    the position it names; the table keeps its rows."""
    open_market(page, market)
    page.fill("#query", "capacity>=24 modle~4090")
    page.press("#query", "Enter")
    page.wait_for_selector("#query-error:not([hidden])")
    shoot(page, "query-error")
    assert "did you mean 'model'" in page.inner_text("#query-message")
    assert page.inner_text("#query-caret").splitlines()[1] == " " * 13 + "^"
    assert len(rows(page)) == 4


def test_event_mined_on_chain_appears_in_the_feed(
    page: Any, market: Market, shoot: Callable[..., Path]
) -> None:
    """A listing created on chain while the page is open shows in the live feed and the table
    without a reload."""
    open_market(page, market)
    provider = market.client.with_account(market.client.accounts[3])
    listing = provider.create_listing(gpu_model="AMD MI300X", capacity=192, price=PRICE)
    page.wait_for_selector("#events li[data-event=ListingCreated]")
    page.wait_for_selector(f"#listings tr[data-listing='{listing.listing_id}']")
    shoot(page, "feed")
    assert "AMD MI300X" in page.inner_text("#events")
    provider.remove_listing(listing.listing_id)


def test_chain_text_is_shown_as_text(page: Any, market: Market, shoot: Callable[..., Path]) -> None:
    """A model name written as HTML shows as its characters, in the table and the feed, and
    runs nothing."""
    open_market(page, market)
    provider = market.client.with_account(market.client.accounts[4])
    name = '<img src=x onerror="window.pwned=1">'
    listing = provider.create_listing(gpu_model=name, capacity=8, price=1)
    row = page.locator(f"#listings tr[data-listing='{listing.listing_id}']")
    expect(row).to_contain_text(name)
    expect(page.locator("#events")).to_contain_text(name)
    shoot(page, "html-as-text")
    assert page.evaluate("window.pwned") is None
    assert page.query_selector("#listings img, #events img") is None
    provider.remove_listing(listing.listing_id)


def test_price_bands_per_model(page: Any, market: Market, shoot: Callable[..., Path]) -> None:
    """The price chart draws one band per GPU model from the server's statistics, and one
    model's band by day when it is picked."""
    open_market(page, market)
    bands = page.locator("#chart g.band")
    expect(bands).to_have_count(2)
    h100 = page.locator("#chart g.band[data-model='NVIDIA H100'] title")
    expect(h100).to_contain_text("median 0.2 ETH per hour")
    shoot(page, "bands")
    page.select_option("#chart-model", "NVIDIA RTX 4090")
    expect(page.locator("#chart g.period rect.band-outer")).to_have_count(1)
    expect(page.locator("#chart g.period title")).to_contain_text("P90 0.1 ETH")
    expect(page.locator("#chart-note")).to_contain_text("NVIDIA RTX 4090: asking price")
    shoot(page, "over-time")
    assert page.errors == []


def test_without_a_wallet_the_page_says_how_to_rent(
    page: Any, market: Market, shoot: Callable[..., Path]
) -> None:
    """With no wallet in the browser, renting explains how to get one and shows the command
    that rents from a terminal."""
    open_market(page, market)
    page.click("#listings tbody tr:first-child button.rent")
    page.wait_for_selector("#no-wallet:not([hidden])")
    shoot(page, "no-wallet")
    assert "install a wallet" in page.inner_text("#no-wallet")
    command = page.inner_text("#cli-command")
    assert command.startswith("gpuhub rent 0 1h") and market.client.contract_address in command
    assert page.is_disabled("#rent-prepare")


class Wallet:
    """An EIP-1193 wallet for the page, signing with a test key in Python and sending to anvil
    itself, as a browser wallet sends to its own node."""

    def __init__(self, client: GPUHubClient, chain_id: int) -> None:
        self.client = client
        self.chain_id = chain_id
        self.account: LocalAccount = Account.create()
        # From the node's last account, which no client here sends from (a client counts the
        # nonces of its own).
        sent = client.w3.eth.send_transaction(
            {"from": client.accounts[-1], "to": self.account.address, "value": 10**18}
        )
        # anvil answers the send before it mines it: wait, or the wallet's first send may come
        # first and be refused for insufficient funds.
        client.w3.eth.wait_for_transaction_receipt(sent, timeout=30, poll_latency=0.01)
        self.sent: list[str] = []

    def __call__(self, method: str, params: list[Any]) -> Any:
        w3 = self.client.w3
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account.address]
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_sendTransaction":
            (tx,) = params
            assert tx["from"] == self.account.address
            # as EIP-1193 wallets do: a transaction for another chain is refused, not signed
            assert int(tx["chainId"], 16) == self.chain_id, "no chain id, or another chain's"
            fields = {k: int(tx[k], 16) for k in ("value", "gas", "maxFeePerGas")}
            signed = self.account.sign_transaction(
                {
                    **fields,
                    "maxPriorityFeePerGas": int(tx["maxPriorityFeePerGas"], 16),
                    "to": tx["to"],
                    "data": tx["data"],
                    "nonce": w3.eth.get_transaction_count(self.account.address, "pending"),
                    "chainId": self.chain_id,
                    "type": 2,
                }
            )
            tx_hash = "0x" + bytes(w3.eth.send_raw_transaction(signed.raw_transaction)).hex()
            self.sent.append(tx_hash)
            return tx_hash
        raise ValueError(f"the test wallet does not do {method}")


def with_wallet(page: Any, wallet: Wallet) -> None:
    page.expose_function("gpuhubWallet", wallet)
    page.add_init_script(WALLET_JS)


def test_rent_through_a_browser_wallet(
    page: Any, market: Market, shoot: Callable[..., Path]
) -> None:
    """Renting from the page with an injected EIP-1193 wallet shows what the rent costs, has the
    wallet sign and send it, and creates the rental on chain."""
    wallet = Wallet(market.client, market.client.chain_id)
    with_wallet(page, wallet)
    open_market(page, market)
    page.click("#listings tr[data-listing='1'] button.rent")
    page.fill("#rent-duration", "2")
    page.click("#rent-prepare")
    page.wait_for_selector("#rent-summary:not([hidden])")
    shoot(page, "reviewed")
    assert "0.1 ETH" in page.inner_text("#rent-amounts")  # the quote: 2 hours at 0.05 ETH
    assert "Back if ended halfway" in page.inner_text("#rent-amounts")
    page.click("#rent-send")
    expect(page.locator("#rent-status")).to_have_text(re.compile("^Rented"), timeout=30_000)
    shoot(page, "rented")
    rental_id = int(page.get_attribute("#rent-dialog", "data-rental"))
    rental = market.client.get_rental(rental_id)
    assert rental.renter == wallet.account.address and rental.listing_id == 1
    assert rental.paid == 2 * PRICE and len(wallet.sent) == 1
    assert page.errors == []


def test_a_wallet_on_another_chain_is_refused(
    page: Any, market: Market, shoot: Callable[..., Path]
) -> None:
    """A wallet on another chain than the market's is told to switch, and nothing is sent."""
    wallet = Wallet(market.client, 1)
    with_wallet(page, wallet)
    open_market(page, market)
    page.click("#listings tr[data-listing='0'] button.rent")
    page.click("#rent-prepare")
    expect(page.locator("#rent-status")).to_contain_text("chain")
    shoot(page, "wrong-chain")
    status = page.inner_text("#rent-status")
    assert f"on chain 1, and this market is on chain {market.client.chain_id}" in status
    assert wallet.sent == [] and page.is_disabled("#rent-send")


def test_provider_page(page: Any, market: Market, shoot: Callable[..., Path]) -> None:
    """A provider's link opens its page: its listings and its reputation."""
    open_market(page, market)
    provider = market.client.accounts[2]
    page.click(f"#listings a[title='{provider}']")
    page.wait_for_selector("#provider-listings tbody tr")
    shoot(page, "provider")
    assert page.inner_text("#provider-address") == provider
    (only,) = [r.inner_text() for r in page.query_selector_all("#provider-listings tbody tr")]
    assert "NVIDIA H100" in only and "80 GB" in only
    assert "Rentals completed" in page.inner_text("#provider-reputation")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_render_with_the_network_off(
    page: Any, market: Market, path: str, shoot: Callable[..., Path]
) -> None:
    """/docs and /redoc render the API's operations with every request to another host
    refused, and send none: the one image ReDoc links from its CDN (its footer's logo) is
    stopped by the page's Content-Security-Policy before any request."""
    elsewhere: list[str] = []

    def only_here(route: Any) -> None:
        if route.request.url.startswith(market.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(market.url + path)
    operation = ".opblock-summary" if path == "/docs" else "[data-section-id^='tag/']"
    page.wait_for_selector(operation)
    page.wait_for_timeout(300)  # late requests (fonts, validators) would show here
    shoot(page, "rendered", full_page=False)
    assert elsewhere == []
    stopped = "https://cdn.redoc.ly/redoc/logo-mini.svg' violates the following Content Security"
    assert [e for e in page.errors if stopped not in e] == []
