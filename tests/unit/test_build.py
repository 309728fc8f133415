"""The compile pipeline: the committed artifacts match a fresh compile (needs solc-js or solc)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gpuhub import build


@pytest.fixture(scope="module")
def fresh() -> dict[str, dict[str, Any]]:
    """Every artifact as a fresh compile gives it."""
    try:
        return build.compile_artifacts()
    except build.BuildError as err:
        pytest.skip(f"no compiler here: {err}")


def test_artifacts_are_fresh(fresh: dict[str, dict[str, Any]]) -> None:
    """A fresh compile of contracts/ gives exactly the committed artifacts, one per contract."""
    assert sorted(fresh) == sorted(build.CONTRACTS)
    for name, artifact in fresh.items():
        path = build.ARTIFACTS_DIR / f"{name}.json"
        assert build.render(artifact) == path.read_text("utf-8"), name


def test_every_contract_fits_the_size_limit(fresh: dict[str, dict[str, Any]]) -> None:
    """Each contract's runtime code fits EIP-170's 24,576 bytes."""
    sizes = {name: len(a["deployedBytecode"]) // 2 for name, a in fresh.items()}
    assert all(size <= build.MAX_RUNTIME_BYTES for size in sizes.values()), sizes


def test_governor_artifact_records_openzeppelin_sources(fresh: dict[str, dict[str, Any]]) -> None:
    """The governor's artifact hashes the OpenZeppelin files it imports, so --check sees them."""
    sources = fresh["GPUHubGovernor"]["sources"]
    assert "governance/GPUHubGovernor.sol" in sources
    assert "@openzeppelin/contracts/governance/Governor.sol" in sources


def test_differences_name_what_changed() -> None:
    """--check's report names the changed source file and the stale outputs."""
    old = {"abi": [1], "sources": {"A.sol": {"sha256": "1"}}}
    new = {"abi": [2], "sources": {"A.sol": {"sha256": "2"}}}
    assert build.differences(old, new) == [
        "abi differs from a fresh compile",
        "sources: A.sol changed since the artifact was built",
    ]


def test_check_fails_on_stale_artifact(tmp_path: Path) -> None:
    """python -m gpuhub.build --check exits 1 when an artifact on disk is stale or missing."""
    (tmp_path / "GPUHub.json").write_text(json.dumps({"abi": []}))
    code = build.main(["--check", "--out-dir", str(tmp_path)])
    if code == 2:
        pytest.skip("no compiler here")
    assert code == 1
