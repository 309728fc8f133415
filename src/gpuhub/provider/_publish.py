"""Publishing this machine's GPUs: one listing per GPU, keyed by its UUID in the agent's state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..exceptions import GPUHubError
from ..models import Listing, ListingStatus, PriceUnit
from ._detect import GPU
from ._state import AgentState

if TYPE_CHECKING:
    from ..client import GPUHubClient


@dataclass(frozen=True, slots=True, kw_only=True)
class Terms:
    """What a provider asks for each GPU: the price and the rental lengths allowed."""

    #: wei per ``unit``.
    price: int
    unit: PriceUnit = PriceUnit.HOUR
    #: shortest and longest rental, in ``unit``.
    min_duration: int = 1
    max_duration: int = 720


@dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """What ``publish`` did to one GPU's listing."""

    #: the GPU, by UUID.
    uuid: str
    #: "created", "updated", "unchanged", "removed" (the GPU is gone), "kept" (gone, but rented:
    #: removed by a later run once the rental is over).
    action: str
    #: the listing id (None only when nothing could be listed).
    listing_id: int | None
    #: the listing as it stands now (None for "removed" and "kept").
    listing: Listing | None = None


def publish(
    client: GPUHubClient, state: AgentState, gpus: Sequence[GPU], terms: Terms
) -> list[Published]:
    """List every GPU in ``gpus`` on ``terms``, in one transaction.

    A GPU listed before (its UUID is in ``state``) has its listing updated when its model,
    memory or terms changed, and left alone otherwise; a GPU new to ``state`` (or whose listing
    was removed) gets a new listing; a GPU in ``state`` but not in ``gpus`` is taken off the
    market (its listing removed) unless rented, in which case a later run removes it. Model and
    memory come from detection, never from the caller.

    Returns:
        One :class:`Published` per GPU, detected ones first.

    Raises:
        ContractError: the transaction reverted (nothing in it happened); typed.
    """
    if client.address is None:
        raise GPUHubError("publishing sends transactions: give the client the provider's account")
    if state.last_block is None:
        # The agent's history starts here: rentals of these listings come after this block.
        state.set_last_block(client.block_number())
    known = state.listings()
    batch = client.batch()
    plan: list[tuple[str, str, int | None]] = []  # (uuid, action, listing id)
    results: list[Published] = []
    for gpu in gpus:
        listing_id = known.get(gpu.uuid)
        current = client.get_listing(listing_id) if listing_id is not None else None
        if current is not None and current.provider != client.address:
            current = None  # another account's listing: this state file is stale
        wanted = {
            "gpu_model": gpu.name,
            "capacity": gpu.capacity_gb,
            "price": terms.price,
            "unit": terms.unit,
            "min_duration": terms.min_duration,
            "max_duration": terms.max_duration,
        }
        if current is None or current.status == ListingStatus.REMOVED:
            batch.create_listing(**wanted)  # type: ignore[arg-type]
            plan.append((gpu.uuid, "created", None))
        elif any(getattr(current, k) != v for k, v in wanted.items()):
            batch.update_listing(current.listing_id, **wanted)  # type: ignore[arg-type]
            plan.append((gpu.uuid, "updated", current.listing_id))
        else:
            results.append(
                Published(
                    uuid=gpu.uuid,
                    action="unchanged",
                    listing_id=current.listing_id,
                    listing=current,
                )
            )
    detected = {gpu.uuid for gpu in gpus}
    for uuid, listing_id in known.items():
        if uuid in detected:
            continue
        current = client.get_listing(listing_id)
        if current.status == ListingStatus.RENTED:
            results.append(Published(uuid=uuid, action="kept", listing_id=listing_id))
        elif current.status == ListingStatus.REMOVED:
            state.forget_gpu(uuid)
            results.append(Published(uuid=uuid, action="removed", listing_id=listing_id))
        else:
            batch.remove_listing(listing_id)
            plan.append((uuid, "removed", listing_id))
    if len(batch):
        for (uuid, action, _), listing in zip(plan, batch.send(), strict=True):
            if action == "removed":
                state.forget_gpu(uuid)
            else:
                state.set_listing(
                    uuid, listing.listing_id, name=listing.gpu_model, capacity=listing.capacity
                )
            results.append(
                Published(
                    uuid=uuid,
                    action=action,
                    listing_id=listing.listing_id,
                    listing=None if action == "removed" else listing,
                )
            )
    order = {gpu.uuid: i for i, gpu in enumerate(gpus)}
    return sorted(results, key=lambda p: order.get(p.uuid, len(order)))
