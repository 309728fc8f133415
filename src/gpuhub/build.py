"""Compile ``contracts/`` into the packaged artifacts ``src/gpuhub/artifacts/<Contract>.json``.

Usage::

    python -m gpuhub.build            # compile and write one artifact per contract
    python -m gpuhub.build --check    # exit 1, naming what differs, if an artifact is stale

The compiler version and settings are pinned here. A native ``solc`` of that version is driven
through py-solc-x when one is installed; otherwise solc-js from ``contracts/node_modules``
(``npm ci`` in ``contracts/``) is called through a small node script. ``@openzeppelin/...``
imports resolve from ``contracts/node_modules`` (the version pinned in ``contracts/package.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

SOLC_VERSION = "0.8.28"
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    # cancun runs on the embedded chain (py-evm), anvil and today's L2s.
    "evmVersion": "cancun",
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "metadata",
                "storageLayout",
            ]
        },
    },
}
#: every shipped contract: name -> its source file under contracts/.
CONTRACTS = {
    "GPUHub": "GPUHub.sol",
    "GPUHubGovernor": "governance/GPUHubGovernor.sol",
    "GPUHubTimelock": "governance/GPUHubTimelock.sol",
    "GPUHubVotes": "governance/GPUHubVotes.sol",
}
#: optimizer runs for contracts that need fewer than SETTINGS' to fit the size limit.
OPTIMIZER_RUNS: dict[str, int] = {}
#: EIP-170: the most runtime bytecode a contract may have on mainnet and most L2s.
MAX_RUNTIME_BYTES = 24_576

CONTRACT = "GPUHub"
ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = ROOT / "contracts"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
ARTIFACT_PATH = ARTIFACTS_DIR / f"{CONTRACT}.json"

# solc-js prints a banner in its CLI's --standard-json mode, so call the module directly.
# Imports such as @openzeppelin/... resolve from contracts/node_modules.
_SOLCJS_SCRIPT = r"""
const path = require('path'), fs = require('fs');
const dir = process.argv[1];
const solc = require(path.join(dir, 'node_modules', 'solc'));
const input = fs.readFileSync(0, 'utf8');
function findImports(p) {
  for (const base of [dir, path.join(dir, 'node_modules')]) {
    const f = path.join(base, p);
    if (fs.existsSync(f)) return { contents: fs.readFileSync(f, 'utf8') };
  }
  return { error: 'not found: ' + p };
}
process.stdout.write(JSON.stringify({ version: solc.version(),
  output: JSON.parse(solc.compile(input, { import: findImports })) }));
"""


class BuildError(RuntimeError):
    """The contracts could not be compiled."""


def sources(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """Solidity sources under ``contracts_dir`` by relative path (node_modules excluded)."""
    found = {}
    for path in sorted(contracts_dir.rglob("*.sol")):
        rel = path.relative_to(contracts_dir)
        if "node_modules" not in rel.parts:
            found[rel.as_posix()] = path.read_text("utf-8")
    if not found:
        raise BuildError(f"no .sol files under {contracts_dir}")
    return found


def settings_for(name: str) -> dict[str, Any]:
    """The pinned compiler settings for contract ``name`` (its own optimizer runs, if any)."""
    runs = OPTIMIZER_RUNS.get(name)
    if runs is None:
        return SETTINGS
    return {**SETTINGS, "optimizer": {**SETTINGS["optimizer"], "runs": runs}}


def standard_input(srcs: dict[str, str], settings: dict[str, Any] = SETTINGS) -> dict[str, Any]:
    """The solc standard-JSON input for these sources and settings (the pinned ones by default)."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in srcs.items()},
        "settings": settings,
    }


def _native_solc() -> Path | None:
    try:
        import solcx
        from solcx.exceptions import SolcNotInstalled
    except ImportError:
        return None
    try:
        found: Path = solcx.install.get_executable(SOLC_VERSION)
        return found
    except (SolcNotInstalled, FileNotFoundError):
        return None


def _compile_native(
    solc: Path, data: dict[str, Any], contracts_dir: Path
) -> tuple[str, dict[str, Any]]:
    import solcx

    output: dict[str, Any] = solcx.compile_standard(
        data,
        solc_binary=solc,
        # Project sources travel inline; only @openzeppelin/... imports are read from disk.
        base_path=str(contracts_dir / "node_modules"),
        allow_paths=[str(contracts_dir)],
    )
    version = str(solcx.get_solc_version(with_commit_hash=True))
    return version, output


def _compile_solcjs(data: dict[str, Any], contracts_dir: Path) -> tuple[str, dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        raise BuildError("node is not installed: install Node.js, then run `npm ci` in contracts/")
    if not (contracts_dir / "node_modules" / "solc").is_dir():
        raise BuildError(f"solc-js is missing: run `npm ci` in {contracts_dir}")
    proc = subprocess.run(
        [node, "-e", _SOLCJS_SCRIPT, str(contracts_dir)],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BuildError(f"solc-js failed: {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    version = result["version"].split(".Emscripten")[0]
    if not version.startswith(SOLC_VERSION + "+"):
        raise BuildError(
            f"contracts/node_modules has solc {version}, expected {SOLC_VERSION}: run `npm ci`"
        )
    output: dict[str, Any] = result["output"]
    return version, output


def compile_sources(
    srcs: dict[str, str],
    contracts_dir: Path = CONTRACTS_DIR,
    settings: dict[str, Any] = SETTINGS,
) -> tuple[str, dict[str, Any]]:
    """Compile sources with the pinned compiler: (compiler version, solc output).

    ``contracts_dir`` is where ``node_modules`` (solc-js, imports) is looked up.
    """
    data = standard_input(srcs, settings)
    native = _native_solc()
    version, output = (
        _compile_native(native, data, contracts_dir)
        if native
        else _compile_solcjs(data, contracts_dir)
    )
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise BuildError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    return version, output


def compile_artifacts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, dict[str, Any]]:
    """Compile the contracts and return the artifacts that would be written, by contract name.

    Contracts that share settings compile together; each artifact records the sources it was
    built from (its own and every file it imports) by hash, so ``--check`` names what changed.

    Raises:
        BuildError: a compile error, a missing compiler, or a contract over MAX_RUNTIME_BYTES.
    """
    srcs = sources(contracts_dir)
    missing = sorted(path for path in CONTRACTS.values() if path not in srcs)
    if missing:
        raise BuildError(f"missing under {contracts_dir}: {', '.join(missing)}")
    groups: dict[str, list[str]] = {}
    for name in CONTRACTS:
        groups.setdefault(json.dumps(settings_for(name), sort_keys=True), []).append(name)
    artifacts = {}
    for names in groups.values():
        settings = settings_for(names[0])
        wanted = {CONTRACTS[n] for n in names}
        # The default group also compiles every other project source, so none goes unchecked.
        if settings is SETTINGS:
            wanted |= {p for p in srcs if not any(p == CONTRACTS[n] for n in OPTIMIZER_RUNS)}
        version, output = compile_sources(
            {p: srcs[p] for p in sorted(wanted)}, contracts_dir, settings
        )
        for name in names:
            compiled = output["contracts"][CONTRACTS[name]][name]
            artifacts[name] = _artifact(name, compiled, version, settings, srcs, contracts_dir)
    return artifacts


def compile_artifact(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Any]:
    """The marketplace's artifact alone (see compile_artifacts)."""
    return compile_artifacts(contracts_dir)[CONTRACT]


def _artifact(
    name: str,
    compiled: dict[str, Any],
    version: str,
    settings: dict[str, Any],
    srcs: dict[str, str],
    contracts_dir: Path,
) -> dict[str, Any]:
    runtime = compiled["evm"]["deployedBytecode"]["object"]
    if len(runtime) // 2 > MAX_RUNTIME_BYTES:
        raise BuildError(
            f"{name} has {len(runtime) // 2} bytes of runtime code, over the "
            f"{MAX_RUNTIME_BYTES}-byte limit: shrink it or lower its OPTIMIZER_RUNS"
        )
    used = sorted(json.loads(compiled["metadata"])["sources"])

    def text(path: str) -> str:
        if path in srcs:
            return srcs[path]
        return (contracts_dir / "node_modules" / path).read_text("utf-8")

    artifact = {
        "contractName": name,
        "abi": compiled["abi"],
        "bytecode": compiled["evm"]["bytecode"]["object"],
        "deployedBytecode": runtime,
        "compiler": {"name": "solc", "version": version},
        "settings": {k: v for k, v in settings.items() if k != "outputSelection"},
        "sources": {
            path: {"sha256": hashlib.sha256(text(path).encode("utf-8")).hexdigest()}
            for path in used
        },
    }
    if name == CONTRACT:
        # where each state variable lives: the embedded chain reads listings straight from it
        artifact["storageLayout"] = compiled["storageLayout"]
    return artifact


def render(artifact: dict[str, Any]) -> str:
    """The artifact as committed: stable key order, one trailing newline."""
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Top-level keys (and source files) where two artifacts differ, in words."""
    found = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if key == "sources":
            before, after = old.get(key, {}), new.get(key, {})
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    found.append(f"sources: {name} changed since the artifact was built")
        else:
            found.append(f"{key} differs from a fresh compile")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gpuhub.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="fail if an artifact is stale")
    parser.add_argument("--contracts", type=Path, default=CONTRACTS_DIR)
    parser.add_argument("--out-dir", type=Path, default=ARTIFACTS_DIR)
    args = parser.parse_args(argv)
    try:
        fresh = compile_artifacts(args.contracts)
    except BuildError as err:
        print(f"build failed: {err}", file=sys.stderr)
        return 2
    version = fresh[CONTRACT]["compiler"]["version"]
    if args.check:
        stale = False
        for name, artifact in fresh.items():
            path = args.out_dir / f"{name}.json"
            if not path.exists():
                print(f"{path} is missing", file=sys.stderr)
                stale = True
                continue
            for line in differences(json.loads(path.read_text("utf-8")), artifact):
                print(f"stale artifact {path.name}: {line}", file=sys.stderr)
                stale = True
        if stale:
            print("run `python -m gpuhub.build` and commit the artifacts", file=sys.stderr)
            return 1
        print(f"{', '.join(f'{n}.json' for n in fresh)} match a fresh compile (solc {version})")
        return 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, artifact in fresh.items():
        size = len(artifact["deployedBytecode"]) // 2
        (args.out_dir / f"{name}.json").write_text(render(artifact), "utf-8")
        print(f"wrote {args.out_dir / name}.json ({size} bytes of runtime code, solc {version})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
