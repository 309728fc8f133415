"""Fixtures for the HTTP API: the FastAPI app over a real client on the embedded chain."""

from __future__ import annotations

import warnings

import pytest

from gpuhub import GPUHubClient
from gpuhub.api import create_app
from gpuhub.chain import embedded_web3

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

API_KEY = "test-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def market() -> GPUHubClient:
    """A fresh embedded marketplace; the server signs as its first account, which holds
    governance directly (test_governance_routes.py uses a governed one)."""
    w3 = embedded_web3()
    return GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])


@pytest.fixture
def http(market: GPUHubClient) -> TestClient:
    """The API over ``market``, with an API key configured."""
    return TestClient(create_app(market, api_key=API_KEY))
