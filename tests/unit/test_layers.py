"""The import graph of src/gpuhub: every module in a declared layer, imports pointing down only,
no circles (imports inside functions and those made only for type checking count), and one
log decoder."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import gpuhub

ROOT = Path(gpuhub.__file__).parent

#: The layers, lowest first. A module may import modules of its own layer and of the layers
#: below it, never one above (docs/architecture.md draws them). A name stands for a module, or
#: for a package and everything in it; ``gpuhub`` is the package's own ``__init__``.
LAYERS = (
    "models _artifact build _display",
    "exceptions",
    "_json _sessions units keystore config chain _webhook_targets _webhook_http _access",
    "_core _errors _abi search",
    "events _frames",
    "_transactions _embedded",
    "_ops _prepare",
    "governance",
    "deploy watch",
    "alerts",
    "client aio",
    "heads",
    "index webhooks demo provider analytics",
    "gpuhub",
    "api",
    "cli",
    "__main__",
)


def module_files() -> dict[str, tuple[Path, bool]]:
    """Every module of the package by dotted name: its file, and whether it is a package."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = module_files()


def imported(name: str, path: Path, is_package: bool) -> Iterator[tuple[str, int]]:
    """The package's modules that module ``name`` imports, anywhere in it, with the line."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, node.module] if node.module else parent)
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno


GRAPH = {
    name: sorted(set(imported(name, path, is_package)))
    for name, (path, is_package) in MODULES.items()
}


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the layer that names ``module`` or a package above it."""
    relative = module.removeprefix("gpuhub.") if module != "gpuhub" else "gpuhub"
    for index, names in enumerate(LAYERS):
        for declared in names.split():
            if relative == declared or (
                declared != "gpuhub" and relative.startswith(declared + ".")
            ):
                return index
    return None


def test_every_module_has_a_layer() -> None:
    """Each module of src/gpuhub is in one of the declared layers, so its imports are checked."""
    missing = [name for name in MODULES if layer_of(name) is None]
    assert not missing, f"add these modules to LAYERS in {__file__}: {missing}"


def test_no_module_imports_a_layer_above_its_own() -> None:
    """No import, at module level, inside a function or for type checking only, points up."""
    upward = []
    for name, targets in GRAPH.items():
        for target, line in targets:
            own, other = layer_of(name), layer_of(target)
            if own is not None and other is not None and own < other:
                upward.append(f"{name} (layer {own}) imports {target} (layer {other}), line {line}")
    assert not upward, "\n".join(upward)


def test_no_import_circles() -> None:
    """No chain of imports leads from a module back to itself (lazy imports included)."""
    edges = {name: {target for target, _ in targets} for name, targets in GRAPH.items()}
    circles = []
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            circles.append(" -> ".join([*path[path.index(name) :], name]))
            return
        if name in done:
            return
        for target in sorted(edges[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(edges):
        visit(name, [])
    assert not circles, "\n".join(circles)


def test_one_log_decoder() -> None:
    """Only gpuhub.events picks the events out of an ABI: another module doing so would be a
    second log decoder (add the event to gpuhub.events instead)."""
    readers = []
    for name, (path, _) in MODULES.items():
        if name == "gpuhub.events":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
            elif isinstance(node, ast.Call):
                operands = [*node.args, *(k.value for k in node.keywords)]
            else:
                continue
            if any(
                isinstance(c, ast.Constant) and c.value == "event"
                for operand in operands
                for c in ast.walk(operand)
            ):
                readers.append(f"{name} line {node.lineno}")
    assert not readers, f"event entries of an ABI read outside gpuhub.events: {readers}"
