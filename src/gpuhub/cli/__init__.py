"""The ``gpuhub`` command line (typer + rich; ``pip install "gpuhub[cli]"``).

One module per command group registers its commands on the shared ``app``; ``main`` is the
console-script entry point. Exit codes: 0 done, 1 a gpuhub error (one line on stderr naming the
fix), 2 a usage error.
"""

from __future__ import annotations

from . import chain, gov, market, reputation, search, serve
from ._app import app, main

__all__ = ["app", "chain", "gov", "main", "market", "reputation", "search", "serve"]
