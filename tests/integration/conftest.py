"""Fixtures of the integration tests (the chains come from tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _cli import PASSWORD


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty XDG config home; gpuhub's environment cleared, keystores made with a cheap KDF
    (each file records its cost), and $GPUHUB_KEYSTORE_PASSWORD set."""
    import gpuhub.keystore

    for name in list(os.environ):
        if name.startswith("GPUHUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GPUHUB_KEYSTORE_PASSWORD", PASSWORD)
    monkeypatch.setattr(gpuhub.keystore, "SCRYPT_N", 2**4)
    return tmp_path / "xdg"
