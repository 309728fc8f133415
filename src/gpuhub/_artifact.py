"""The compiled contracts shipped inside the package (``artifacts/<Contract>.json``).

``GPUHub`` is the marketplace; ``GPUHubVotes``, ``GPUHubGovernor`` and ``GPUHubTimelock`` are its
governance (``contracts/governance/``).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

MARKETPLACE = "GPUHub"
#: every packaged contract: the marketplace and its governance.
CONTRACTS = (MARKETPLACE, "GPUHubVotes", "GPUHubGovernor", "GPUHubTimelock")
#: the contract's MARKETPLACE_VERSION this package speaks (a test holds it against the source).
MARKETPLACE_VERSION = 2


@functools.cache
def load_artifact(name: str = MARKETPLACE) -> dict[str, Any]:
    """One contract's build output: abi, bytecode, deployedBytecode, compiler, settings, sources."""
    text = resources.files("gpuhub").joinpath("artifacts", f"{name}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def abi(name: str = MARKETPLACE) -> list[dict[str, Any]]:
    """A contract's ABI (the marketplace's by default)."""
    result: list[dict[str, Any]] = load_artifact(name)["abi"]
    return result


def bytecode(name: str = MARKETPLACE) -> str:
    """A contract's creation bytecode, 0x-prefixed."""
    code: str = load_artifact(name)["bytecode"]
    return "0x" + code


def error_abi() -> list[dict[str, Any]]:
    """The custom errors of every packaged contract, for decoding whichever of them reverts."""
    return [entry for name in CONTRACTS for entry in abi(name) if entry["type"] == "error"]
