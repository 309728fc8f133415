"""Whole numbers read from text (headers, command arguments): the digits 0-9 and nothing else."""

from __future__ import annotations

import pytest

from gpuhub import ValidationError
from gpuhub._core import parse_whole


@pytest.mark.parametrize("text", ["²", "1¹", "٣", "\uff11", "", "-1", "+1", " 1", "1_000", "0x10"])
def test_other_digits_are_refused(text: str) -> None:
    """Superscripts, other scripts' digits, signs, spaces, underscores: ValidationError."""
    with pytest.raises(ValidationError) as exc:
        parse_whole("id", text)
    assert exc.value.field == "id"


def test_past_the_bound_is_refused_without_converting() -> None:
    """A number past the bound (even of thousands of digits) raises ValidationError."""
    for text in ("101", "9" * 5000):
        with pytest.raises(ValidationError) as exc:
            parse_whole("id", text, high=100)
        assert "at most 100" in str(exc.value)


def test_ascii_digits_are_read() -> None:
    """Plain decimal digits, leading zeros included, are read as the number they write."""
    assert parse_whole("id", "0042", high=100) == 42
