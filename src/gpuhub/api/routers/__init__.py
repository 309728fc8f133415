"""One APIRouter per resource; ``create_app`` includes them all."""

from . import governance, listings, money, original, rentals, reputation, service

ALL = (
    original.router,
    listings.router,
    rentals.router,
    reputation.router,
    money.router,
    governance.router,
    service.router,
)

__all__ = ["ALL"]
