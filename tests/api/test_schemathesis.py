"""Schemathesis over the OpenAPI spec: no server errors and no undeclared status codes."""

from __future__ import annotations

import tempfile
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from gpuhub import GPUHubClient, MarketIndex, PriceUnit
from gpuhub.api import create_app
from gpuhub.webhooks import Outbox

from .conftest import API_KEY, AUTH

#: where the app's index lives while the module runs.
_FOLDER = tempfile.TemporaryDirectory(prefix="gpuhub-schemathesis-")


def market_app() -> Any:
    """An app over a market with listings in every status, a running rental and an index, so
    the statistics routes answer too."""
    market = GPUHubClient.local()
    other = market.with_account(market.accounts[1])
    for i in range(4):
        other.create_listing(
            gpu_model=f"GPU {i}",
            capacity=8 * (i + 1),
            price=10**9,
            unit=PriceUnit.HOUR,
            max_duration=5,
        )
    other.fulfill_request(1)
    other.remove_listing(2)
    market.rent(3, 2)
    index = MarketIndex(market, f"sqlite:///{_FOLDER.name}/index.db")
    index.sync()
    return create_app(market, api_key=API_KEY, webhooks=Outbox(), index=index)


# The event stream never ends by itself; its behaviour is tested in test_rest.py.
schema = schemathesis.openapi.from_asgi("/openapi.json", market_app()).exclude(path="/events")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_declared_codes(case: Any) -> None:
    """Generated requests never get a 5xx from the app itself, and every answer is in the spec."""
    case.call_and_validate(headers=AUTH, checks=[not_a_server_error, status_code_conformance])
