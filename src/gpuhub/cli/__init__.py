"""The ``gpuhub`` command line (typer + rich; the ``cli`` extra).

One module per command group registers its commands on the shared ``app``; ``main`` is the
console-script entry point. Every failure ends in one line on stderr and a documented exit code
(``_app.EXIT_CODES``, docs/cli.md).
"""

from __future__ import annotations

from . import (
    account,
    chain,
    config,
    events,
    gov,
    market,
    money,
    provider,
    rentals,
    reputation,
    search,
    serve,
    stats,
)
from ._app import EXIT_CODES, app, main

__all__ = [
    "EXIT_CODES",
    "account",
    "app",
    "chain",
    "config",
    "events",
    "gov",
    "main",
    "market",
    "money",
    "provider",
    "rentals",
    "reputation",
    "search",
    "serve",
    "stats",
]
