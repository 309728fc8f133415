"""Finding the anvil binary."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from gpuhub.chain import find_anvil
from gpuhub.exceptions import MissingDependency


def test_gpuhub_anvil_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$GPUHUB_ANVIL names the binary to use."""
    monkeypatch.setenv("GPUHUB_ANVIL", str(tmp_path / "anvil"))
    assert find_anvil() == str(tmp_path / "anvil")


def test_unknown_platform_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a platform npm ships no anvil for, the error says how to point gpuhub at one."""
    monkeypatch.delenv("GPUHUB_ANVIL", raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(platform, "system", lambda: "Plan9")
    monkeypatch.setattr(platform, "machine", lambda: "mips")
    with pytest.raises(MissingDependency, match="GPUHUB_ANVIL"):
        find_anvil()


def test_installed_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without a source checkout, the error names the npm package and Foundry, not contracts/."""
    import gpuhub.chain

    monkeypatch.delenv("GPUHUB_ANVIL", raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(gpuhub.chain, "CONTRACTS_DIR", tmp_path / "absent")
    with pytest.raises(MissingDependency) as exc:
        find_anvil()
    message = str(exc.value)
    assert "npm install @foundry-rs/anvil" in message and "foundryup" in message
    assert "GPUHUB_ANVIL" in message and "contracts/" not in message


@pytest.mark.anvil
def test_anvil_refuses_a_port_in_use() -> None:
    """Starting anvil on a port another process listens on fails, instead of answering with
    the other process's node."""
    import socket

    from gpuhub.chain import AnvilNode
    from gpuhub.exceptions import GPUHubError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(GPUHubError, match=f"port {port} on 127.0.0.1 is in use"):
            AnvilNode(port=port).start()
