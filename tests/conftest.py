"""Shared fixtures: real chains only (the embedded eth-tester chain and an anvil node)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode, embedded_web3, find_anvil


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    """One anvil node on 127.0.0.1 for the whole session (a fresh node each run)."""
    find_anvil()  # fails with an actionable message when `npm ci` was not run
    with AnvilNode(accounts=20) as node:
        yield node


@pytest.fixture(params=["embedded", "anvil"])
def chain_name(request: pytest.FixtureRequest) -> str:
    """The chain a test runs on; integration tests run on both."""
    name: str = request.param
    if name == "anvil":
        request.applymarker(pytest.mark.anvil)
    return name


@pytest.fixture
def client(chain_name: str, request: pytest.FixtureRequest) -> GPUHubClient:
    """A client for a freshly deployed marketplace, sending as the chain's first account, which
    holds governance directly (as a multisig would; test_governance.py covers the governor)."""
    if chain_name == "anvil":
        node: AnvilNode = request.getfixturevalue("anvil_node")
        w3 = node.web3()
    else:
        w3 = embedded_web3()
    return GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])


@pytest.fixture
def stranger(client: GPUHubClient) -> GPUHubClient:
    """The same marketplace, sending as an account that owns nothing."""
    return client.with_account(client.accounts[9])
