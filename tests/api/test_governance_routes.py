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
    assert (body["power_quorum_percent"], body["vote_maturity"]) == (20, 0)
    assert body["proposal_threshold"] == "0"
    assert body["total_units"] == str(BOOTSTRAP_UNITS)
    assert body["treasury_funds"] == body["payout_allowance"] == "0"


def test_proposals_list_and_read(http: TestClient, market: GPUHubClient) -> None:
    """A proposal shows up in the list and by id, with its decoded actions and wei as strings."""
    empty = http.get("/v1/governance/proposals").json()
    assert empty == {"items": [], "total": 0, "offset": 0, "limit": 20}
    proposal = market.governance.propose([Action.set_fee(100)], "Fee to 1%")
    listed = http.get("/v1/governance/proposals").json()
    one = http.get(f"/v1/governance/proposals/{proposal.proposal_id}").json()
    assert listed == {"items": [one], "total": 1, "offset": 0, "limit": 20}
    assert one["proposal_id"] == str(proposal.proposal_id)
    assert one["state"] == "PENDING" and one["description"] == "Fee to 1%"
    assert one["kind"] == "PARAMETER"
    assert one["actions"] == [
        {"function": "setFee", "args": [100], "target": None, "value": "0", "data": "0x"}
    ]
    assert one["quorum"] == str(proposal.quorum)


def test_proposals_page(http: TestClient, market: GPUHubClient) -> None:
    """GET /v1/governance/proposals pages with offset and limit, oldest first, and counts all."""
    gov = market.governance
    made = [gov.propose([Action.set_fee(10 + i)], f"Fee {i}").proposal_id for i in range(5)]
    page = http.get("/v1/governance/proposals", params={"offset": 1, "limit": 3}).json()
    assert [p["proposal_id"] for p in page["items"]] == [str(pid) for pid in made[1:4]]
    assert (page["total"], page["offset"], page["limit"]) == (5, 1, 3)
    past = http.get("/v1/governance/proposals", params={"offset": 7}).json()
    assert (past["items"], past["total"]) == ([], 5)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
def test_proposal_page_bounds_are_422(http: TestClient, params: dict[str, int]) -> None:
    """A page of 0 or more than 100 proposals, or a negative offset, is refused with 422."""
    assert http.get("/v1/governance/proposals", params=params).status_code == 422


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
