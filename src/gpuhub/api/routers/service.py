"""Health (the live event stream is in ``events``)."""

from fastapi import APIRouter

from .. import _schemas as s
from .._deps import READ_ERRORS, ClientDep

router = APIRouter(tags=["service"])


@router.get("/health", response_model=s.HealthOut, responses=READ_ERRORS)
def health(client: ClientDep) -> s.HealthOut:
    """Chain id, latest block, contract address and the server's account.

    It reads the marketplace itself, so a node that lost the contract (restarted with fresh
    state) or cannot be reached answers 503 here, not "ok".
    """
    client.listing_count()
    return s.HealthOut(
        status="ok",
        chain_id=client.chain_id,
        latest_block=client.block_number(),
        contract_address=client.contract_address,
        server_account=client.address,
    )
