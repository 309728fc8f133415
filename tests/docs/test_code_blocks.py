"""Every code block in README.md and docs/*.md runs as written (docs/contributing.md says how).

Each page runs on its own: its blocks in order, in one namespace, on the embedded chain, or on a
fresh marketplace on anvil from the point where the page says ``<!-- run-on: anvil -->``. Python
blocks may ``await`` at the top level, as in a notebook; ``bash`` blocks run in a shell whose PATH
starts with this interpreter's scripts, so ``gpuhub`` is this checkout's command. A block after
``<!-- skip: next "why" -->`` is a fragment and is not run.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import os
import re
import signal
import subprocess
import sys
import unittest
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from sybil import Document, Example, Region
from sybil.evaluators.python import pad
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, FencedCodeBlockLexer

from gpuhub import GPUHubClient
from gpuhub.chain import AnvilNode

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: fence languages that run, and those that are only shown (diagrams, output, other languages)
RUN = frozenset({"python", "bash"})
SHOWN = frozenset({"text", "js", "json", "toml", "nginx", "ini", "yaml"})

#: what ``<!-- run-on: anvil -->`` sets for the rest of its page (and no other page sees)
NODE_ENV = ("GPUHUB_RPC_URL", "GPUHUB_CONTRACT", "GPUHUB_PRIVATE_KEY")

#: seconds a shell block may take
SHELL_TIMEOUT = 60


class PageRun:
    """The evaluators of one page: they share its event loop and its node environment."""

    def __init__(self, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
        self.request = request
        self.monkeypatch = monkeypatch
        self.loop = asyncio.Runner()

    def python(self, example: Example) -> None:
        """Run a Python block; one that awaits at the top level runs on the page's loop."""
        __tracebackhide__ = True
        source = pad(example.parsed, example.line + example.parsed.line_offset)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        code = compile(source, example.path, "exec", flags=flags, dont_inherit=True)
        if code.co_flags & inspect.CO_COROUTINE:
            self.loop.run(eval(code, example.namespace))
        else:
            exec(code, example.namespace)
        example.namespace.pop("__builtins__", None)

    def bash(self, example: Example) -> None:
        """Run a shell block with this checkout's ``gpuhub`` first on PATH; fail on any error."""
        env = dict(
            os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        )
        shell = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", str(example.parsed)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a command left running is killed with its shell
        )
        try:
            output, _ = shell.communicate(timeout=SHELL_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            output, _ = shell.communicate()
            pytest.fail(f"{example.path}:{example.line}: still running after {SHELL_TIMEOUT} s")
        assert shell.returncode == 0, (
            f"{example.path}:{example.line}: exit {shell.returncode}\n{output}"
        )

    def run_on(self, example: Example) -> None:
        """``<!-- run-on: anvil -->``: a fresh marketplace on anvil, named by the environment."""
        assert example.parsed == "anvil", f"{example.path}:{example.line}: only run-on: anvil"
        node: AnvilNode = self.request.getfixturevalue("anvil_node")
        w3 = node.web3()
        key = Account.create()
        funding = {"from": w3.eth.accounts[0], "to": key.address, "value": 100 * 10**18}
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(funding))  # type: ignore[arg-type]
        market = GPUHubClient.deploy(w3, account=key)
        self.monkeypatch.setenv("GPUHUB_RPC_URL", node.url)
        self.monkeypatch.setenv("GPUHUB_CONTRACT", market.contract_address)
        self.monkeypatch.setenv("GPUHUB_PRIVATE_KEY", key.key.hex())

    def run_on_parser(self, document: Document) -> Iterator[Region]:
        for region in DirectiveInHTMLCommentLexer("run-on", arguments=r"\S+")(document):
            region.parsed = region.lexemes["arguments"]
            region.evaluator = self.run_on
            yield region


def parse(page: Path, run: PageRun | None = None) -> Document:
    """The page's examples: Python and bash blocks, skip and run-on directives, in order."""
    python = PythonCodeBlockParser()
    if run is not None:
        python.codeblock_parser = CodeBlockParser("python", run.python)
    parsers = [python, CodeBlockParser("bash", run.bash if run else None), SkipParser()]
    if run is not None:
        parsers.append(run.run_on_parser)
    return Document.parse(str(page), *parsers)


def fences(page: Path) -> Iterator[tuple[int, str]]:
    """(line, language) of every fenced block of the page."""
    document = Document(page.read_text(), str(page))
    for region in FencedCodeBlockLexer(language=r"[^\n]*")(document):
        yield document.text.count("\n", 0, region.start) + 1, region.lexemes["language"].strip()


def _uses_anvil(page: Path) -> bool:
    return re.search(r"^\s*<!-- run-on: anvil -->", page.read_text(), re.M) is not None


@pytest.mark.parametrize(
    "page",
    [pytest.param(p, marks=[pytest.mark.anvil] if _uses_anvil(p) else []) for p in PAGES],
    ids=[p.name for p in PAGES],
)
def test_page_runs_as_written(
    page: Path, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's code blocks run in order in one namespace; only marked fragments are skipped."""
    monkeypatch.chdir(tmp_path)  # files the examples write (an index database) land here
    for name in NODE_ENV:
        monkeypatch.delenv(name, raising=False)
    # Keystores, profiles and recorded marketplaces go to a config directory of the page's own.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    environment = dict(os.environ)
    run = PageRun(request, monkeypatch)
    try:
        for example in parse(page, run):
            with contextlib.suppress(unittest.SkipTest):  # a marked fragment
                example.evaluate()
    finally:
        run.loop.close()
        os.environ.clear()  # what a page's examples set stays on that page
        os.environ.update(environment)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_fence_names_its_language(page: Path) -> None:
    """Each fenced block says what it is, so no runnable example goes untested unnoticed."""
    unknown = [(line, lang) for line, lang in fences(page) if lang not in RUN | SHOWN]
    assert not unknown, f"{page.name}: fences without a known language (line, info): {unknown}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_skip_gives_its_reason(page: Path) -> None:
    """A block left unrun is marked ``<!-- skip: next "why" -->``, never silently."""
    skips = [ex for ex in parse(page) if isinstance(ex.region.evaluator, Skipper)]
    silent = [ex.line for ex in skips if ex.parsed[0] in {"next", "start"} and not ex.parsed[1]]
    assert not silent, f"{page.name}: skip directives without a reason at lines {silent}"
