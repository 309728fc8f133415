"""One APIRouter per resource; ``create_app`` includes them all (``webhooks`` only when the app
has an outbox)."""

from . import (
    events,
    governance,
    listings,
    money,
    original,
    pages,
    rentals,
    reputation,
    search,
    service,
    stats,
    transactions,
    webhooks,
)

ALL = (
    original.router,
    search.router,
    listings.router,
    rentals.router,
    transactions.router,
    reputation.router,
    money.router,
    governance.router,
    stats.router,
    service.router,
    events.router,
    pages.router,
)

#: included only when the app has a webhook outbox.
WEBHOOKS = webhooks.router

__all__ = ["ALL", "WEBHOOKS"]
