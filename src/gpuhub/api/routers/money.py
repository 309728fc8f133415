"""REST: withdrawable balances and withdrawals."""

from typing import Annotated

from fastapi import APIRouter

from .. import _schemas as s
from .._deps import READ_ERRORS, WRITE_ERRORS, ClientDep, Writer, address_path

router = APIRouter(tags=["money"])


@router.get("/v1/balances/{address}", response_model=s.BalanceOut, responses=READ_ERRORS)
def balance(client: ClientDep, address: Annotated[str, address_path()]) -> s.BalanceOut:
    """What `address` can withdraw now."""
    return s.BalanceOut(address=address, withdrawable=str(client.balance_of(address)))


@router.post(
    "/v1/withdraw", response_model=s.WithdrawOut, responses=WRITE_ERRORS, dependencies=[Writer]
)
def withdraw(client: ClientDep, body: s.WithdrawBody | None = None) -> s.WithdrawOut:
    """Withdraw the server account's whole balance (to itself, or to `to`); the body is
    optional."""
    return s.WithdrawOut(amount=str(client.withdraw(None if body is None else body.to)))
