"""A helper shared by the state machines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def expect(error: type[Exception], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Call ``fn`` and require it to raise ``error``."""
    try:
        fn(*args, **kwargs)
    except error:
        return
    raise AssertionError(f"expected {error.__name__} from {getattr(fn, '__name__', fn)}")
