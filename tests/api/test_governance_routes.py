"""The governance read routes: settings, proposals, votes, and their errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gpuhub import Action, GPUHubClient
from gpuhub.api import create_app
from gpuhub.chain import embedded_web3
from gpuhub.governance import BOOTSTRAP_UNITS

from .conftest import API_KEY


@pytest.fixture
def market() -> GPUHubClient:
    """A governed embedded marketplace (a governor with dev periods, the deployer's bootstrap)."""
    return GPUHubClient.local()


def test_governance_settings(http: TestClient, market: GPUHubClient) -> None:
    """GET /v1/governance names the governor, timelock and votes contract and the dev settings."""
    body = http.get("/v1/governance").json()
    gov = market.governance
    assert (body["governor"], body["timelock"], body["votes"]) == (
        gov.address,
        gov.timelock,
        gov.votes_address,
    )
    assert (body["voting_delay"], body["voting_period"], body["timelock_delay"]) == (1, 600, 60)
    assert body["quorum_percent"] == 4 and body["guardian"] is None
    assert body["total_units"] == str(BOOTSTRAP_UNITS)


def test_proposals_list_and_read(http: TestClient, market: GPUHubClient) -> None:
    """A proposal shows up in the list and by id, with its decoded actions and wei as strings."""
    assert http.get("/v1/governance/proposals").json() == []
    proposal = market.governance.propose([Action.set_fee(100)], "Fee to 1%")
    listed = http.get("/v1/governance/proposals").json()
    one = http.get(f"/v1/governance/proposals/{proposal.proposal_id}").json()
    assert listed == [one]
    assert one["proposal_id"] == str(proposal.proposal_id)
    assert one["state"] == "PENDING" and one["description"] == "Fee to 1%"
    assert one["actions"] == [
        {"function": "setFee", "args": [100], "target": None, "value": "0", "data": "0x"}
    ]
    assert one["quorum"] == str(proposal.quorum)


def test_votes_of_an_account(http: TestClient, market: GPUHubClient) -> None:
    """GET /v1/governance/votes/{address} gives votes, units, pending units and the delegate."""
    deployer = market.address
    body = http.get(f"/v1/governance/votes/{deployer}").json()
    assert body == {
        "address": deployer,
        "votes": str(BOOTSTRAP_UNITS),
        "units": str(BOOTSTRAP_UNITS),
        "pending": "0",
        "delegate": deployer,
    }


def test_unknown_proposal_is_404(http: TestClient) -> None:
    """An unknown proposal id answers 404 with the typed error and its field."""
    answer = http.get("/v1/governance/proposals/12345")
    assert answer.status_code == 404
    assert answer.json()["error"] == "GovernorNonexistentProposal"
    assert answer.json()["fields"] == {"proposal_id": 12345}


def test_bad_proposal_id_is_422(http: TestClient) -> None:
    """A proposal id that is not a decimal number, or above 2^256, is refused with 422."""
    assert http.get("/v1/governance/proposals/abc").status_code == 422
    assert http.get(f"/v1/governance/proposals/{2**256}").status_code == 422


def test_market_without_governor_is_404() -> None:
    """On a market governed by a plain address the governance routes answer 404 NoGovernor."""
    w3 = embedded_web3()
    plain = GPUHubClient.deploy(w3, account=w3.eth.accounts[0], governance=w3.eth.accounts[0])
    answer = TestClient(create_app(plain, api_key=API_KEY)).get("/v1/governance")
    assert answer.status_code == 404
    assert answer.json()["error"] == "NoGovernor"
