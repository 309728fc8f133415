"""One APIRouter per resource; ``create_app`` includes them all."""

from . import listings, money, original, rentals, reputation, search, service

ALL = (
    original.router,
    search.router,
    listings.router,
    rentals.router,
    reputation.router,
    money.router,
    service.router,
)

__all__ = ["ALL"]
