"""The compiled contract shipped inside the package (``artifacts/GPUHub.json``)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

ARTIFACT_NAME = "GPUHub.json"
#: the contract's MARKETPLACE_VERSION this package speaks (a test holds it against the source).
MARKETPLACE_VERSION = 1


@functools.cache
def load_artifact() -> dict[str, Any]:
    """The packaged build output: abi, bytecode, deployedBytecode, compiler, settings, sources."""
    text = resources.files("gpuhub").joinpath("artifacts", ARTIFACT_NAME).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def abi() -> list[dict[str, Any]]:
    """The contract's ABI."""
    result: list[dict[str, Any]] = load_artifact()["abi"]
    return result


def bytecode() -> str:
    """Creation bytecode, 0x-prefixed."""
    code: str = load_artifact()["bytecode"]
    return "0x" + code
