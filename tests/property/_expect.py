"""Helpers shared by the property tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import Phase

#: GPUHUB_SHRINK=1 shrinks a failing example (minutes on a chain); by default a failure is
#: reported as found, every step listed.
PHASES = list(Phase) if os.environ.get("GPUHUB_SHRINK") else [Phase.reuse, Phase.generate]


def expect(error: type[Exception], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Call ``fn`` and require it to raise ``error``."""
    try:
        fn(*args, **kwargs)
    except error:
        return
    raise AssertionError(f"expected {error.__name__} from {getattr(fn, '__name__', fn)}")
