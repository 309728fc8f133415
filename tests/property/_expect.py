"""Helpers shared by the property tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import Phase

#: GPUHUB_SHRINK=1 shrinks a failing example (minutes on a chain); by default a failure is
#: reported as found, every step listed.
PHASES = list(Phase) if os.environ.get("GPUHUB_SHRINK") else [Phase.reuse, Phase.generate]


E = TypeVar("E", bound=Exception)


def expect(error: type[E], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> E:
    """Call ``fn`` and require it to raise ``error``; returns what it raised."""
    try:
        fn(*args, **kwargs)
    except error as raised:
        return raised
    raise AssertionError(f"expected {error.__name__} from {getattr(fn, '__name__', fn)}")
