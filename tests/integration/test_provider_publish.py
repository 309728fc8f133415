"""gpuhub.provider.publish: one listing per GPU, kept in step with what detection finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuhub import GPUHubClient, ListingStatus, PriceUnit
from gpuhub.provider import GPU, parse_nvidia_smi_xml
from gpuhub.provider._publish import Terms, publish
from gpuhub.provider._state import AgentState

OUTPUTS = Path(__file__).resolve().parents[1] / "data" / "nvidia-smi"
TERMS = Terms(price=10**15, unit=PriceUnit.HOUR, min_duration=1, max_duration=48)


def gpus(name: str = "eight-gpu-h100.xml") -> tuple[GPU, ...]:
    return parse_nvidia_smi_xml((OUTPUTS / name).read_text())


@pytest.fixture
def provider(client: GPUHubClient) -> GPUHubClient:
    return client.with_account(client.accounts[1])


@pytest.fixture
def state(provider: GPUHubClient, tmp_path: Path) -> AgentState:
    assert provider.address is not None
    return AgentState(
        tmp_path / "agent.db",
        chain_id=provider.chain_id,
        marketplace=provider.contract_address,
        provider=provider.address,
    )


def test_one_listing_per_gpu(provider: GPUHubClient, state: AgentState) -> None:
    """Each GPU gets a listing with the model and memory detection reported."""
    done = publish(provider, state, gpus(), TERMS)
    assert [p.action for p in done] == ["created"] * 8
    listings = [provider.get_listing(p.listing_id) for p in done if p.listing_id is not None]
    assert {(lst.gpu_model, lst.capacity, lst.price) for lst in listings} == {
        ("NVIDIA H100 80GB HBM3", 80, 10**15)
    }
    assert state.listings() == {g.uuid: p.listing_id for g, p in zip(gpus(), done, strict=True)}


def test_publish_twice_no_duplicates(provider: GPUHubClient, state: AgentState) -> None:
    """A second run with the same GPUs and terms changes nothing and sends nothing."""
    publish(provider, state, gpus(), TERMS)
    count, block = provider.listing_count(), provider.block_number()
    again = publish(provider, state, gpus(), TERMS)
    assert [p.action for p in again] == ["unchanged"] * 8
    assert (provider.listing_count(), provider.block_number()) == (count, block)


def test_new_price_updates(provider: GPUHubClient, state: AgentState) -> None:
    """A run with a new price updates each listing in place."""
    first = publish(provider, state, gpus(), TERMS)
    again = publish(provider, state, gpus(), Terms(price=2 * 10**15))
    assert [p.action for p in again] == ["updated"] * 8
    assert [p.listing_id for p in again] == [p.listing_id for p in first]
    assert provider.get_listing(first[0].listing_id or 0).price == 2 * 10**15


def test_gone_gpu_taken_off(provider: GPUHubClient, state: AgentState) -> None:
    """A GPU that disappeared has its listing removed and is forgotten."""
    first = publish(provider, state, gpus(), TERMS)
    gone = first[3]
    remaining = [g for g in gpus() if g.uuid != gone.uuid]
    again = publish(provider, state, remaining, TERMS)
    assert [p.action for p in again] == ["unchanged"] * 7 + ["removed"]
    assert provider.get_listing(gone.listing_id or 0).status == ListingStatus.REMOVED
    assert gone.uuid not in state.listings()


def test_gone_gpu_kept_while_rented(
    provider: GPUHubClient, client: GPUHubClient, state: AgentState
) -> None:
    """A GPU that disappeared while rented keeps its listing until the rental is over."""
    (only,) = publish(provider, state, gpus("one-gpu-rtx4090.xml"), TERMS)
    client.with_account(client.accounts[2]).rent(only.listing_id or 0, 1)
    (kept,) = publish(provider, state, [], TERMS)
    assert (kept.action, kept.listing_id) == ("kept", only.listing_id)
    assert provider.get_listing(only.listing_id or 0).status == ListingStatus.RENTED
