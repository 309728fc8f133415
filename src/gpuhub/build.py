"""Compile ``contracts/`` into the packaged artifact ``src/gpuhub/artifacts/GPUHub.json``.

Usage::

    python -m gpuhub.build            # compile and write the artifact
    python -m gpuhub.build --check    # exit 1, naming what differs, if the artifact is stale

The compiler version and settings are pinned here. A native ``solc`` of that version is driven
through py-solc-x when one is installed; otherwise solc-js from ``contracts/node_modules``
(``npm ci`` in ``contracts/``) is called through a small node script.
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
CONTRACT = "GPUHub"
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    # cancun runs on the embedded chain (py-evm), anvil and today's L2s.
    "evmVersion": "cancun",
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
}

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = ROOT / "contracts"
ARTIFACT_PATH = Path(__file__).resolve().parent / "artifacts" / f"{CONTRACT}.json"

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


def standard_input(srcs: dict[str, str]) -> dict[str, Any]:
    """The solc standard-JSON input for these sources and the pinned settings."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in srcs.items()},
        "settings": SETTINGS,
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


def _compile_native(solc: Path, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    import solcx

    output: dict[str, Any] = solcx.compile_standard(
        data, solc_binary=solc, allow_paths=[str(CONTRACTS_DIR)]
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
    srcs: dict[str, str], contracts_dir: Path = CONTRACTS_DIR
) -> tuple[str, dict[str, Any]]:
    """Compile sources with the pinned compiler and settings: (compiler version, solc output).

    ``contracts_dir`` is where ``node_modules`` (solc-js, imports) is looked up.
    """
    data = standard_input(srcs)
    native = _native_solc()
    version, output = (
        _compile_native(native, data) if native else _compile_solcjs(data, contracts_dir)
    )
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise BuildError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    return version, output


def compile_artifact(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Any]:
    """Compile the contracts and return the artifact that would be written."""
    srcs = sources(contracts_dir)
    version, output = compile_sources(srcs, contracts_dir)
    compiled = output["contracts"][f"{CONTRACT}.sol"][CONTRACT]
    return {
        "contractName": CONTRACT,
        "abi": compiled["abi"],
        "bytecode": compiled["evm"]["bytecode"]["object"],
        "deployedBytecode": compiled["evm"]["deployedBytecode"]["object"],
        "compiler": {"name": "solc", "version": version},
        "settings": {k: v for k, v in SETTINGS.items() if k != "outputSelection"},
        "sources": {
            name: {"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}
            for name, text in srcs.items()
        },
    }


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
    parser.add_argument("--check", action="store_true", help="fail if the artifact is stale")
    parser.add_argument("--contracts", type=Path, default=CONTRACTS_DIR)
    parser.add_argument("--out", type=Path, default=ARTIFACT_PATH)
    args = parser.parse_args(argv)
    try:
        fresh = compile_artifact(args.contracts)
    except BuildError as err:
        print(f"build failed: {err}", file=sys.stderr)
        return 2
    if args.check:
        if not args.out.exists():
            print(f"{args.out} is missing: run `python -m gpuhub.build`", file=sys.stderr)
            return 1
        diffs = differences(json.loads(args.out.read_text("utf-8")), fresh)
        if diffs:
            for line in diffs:
                print(f"stale artifact: {line}", file=sys.stderr)
            print("run `python -m gpuhub.build` and commit the artifact", file=sys.stderr)
            return 1
        print(f"{args.out.name} matches a fresh compile (solc {fresh['compiler']['version']})")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(fresh), "utf-8")
    print(f"wrote {args.out} (solc {fresh['compiler']['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
