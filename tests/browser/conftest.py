"""A real browser for the page's tests: Debian's chromium, driven by Playwright for Python.

Playwright's own browser download cannot work on machines without the internet, so it is
pointed at the system's chromium (``.ci/run`` installs Debian's package) and never asked to
install one. Chromium's background services (updates, sync, safe browsing lists, QUIC probes)
would try the network at start: the flags below switch them off. One browser per test module,
in a fresh profile; each test gets its own page, and a screenshot of every state it checks is
kept in the session's temporary folder (the path is printed at the end of the run).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gpuhub.chain import free_port

#: Debian's chromium; $GPUHUB_CHROMIUM names another build.
CHROMIUM = os.environ.get("GPUHUB_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Server:
    """uvicorn serving an app on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module, in a fresh profile folder."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no chromium at {CHROMIUM}: apt-get install chromium (or set GPUHUB_CHROMIUM); "
            "Playwright's own browser download is never used"
        )
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="gpuhub-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the browser tests keep their screenshots in."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def shoot(screenshots: Path, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``shoot(page, "state")`` keeps a screenshot named after the test and the state (the whole
    page, or what the window shows with ``full_page=False``)."""

    def take(page: Any, state: str, *, full_page: bool = True) -> Path:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{request.node.name}-{state}").strip("-")
        path = screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def pytest_terminal_summary(terminalreporter: Any) -> None:
    base = terminalreporter.config._tmp_path_factory.getbasetemp()
    found = sorted(base.glob("screenshots*/*.png"))
    if found:
        terminalreporter.write_line(f"browser screenshots: {found[0].parent}")
