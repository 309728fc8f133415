"""The documentation site builds in strict mode, offline, with the whole public API in it."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from mkdocstrings import Inventory

import gpuhub

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as ``make docs`` builds it (``mkdocs build --strict``), in a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return out


class _ExternalLoads(HTMLParser):
    """Collects what a page makes a browser fetch from elsewhere: scripts, styles, fonts, images."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        url = attr.get("src") if tag in {"script", "img", "iframe"} else None
        if tag == "link" and attr.get("rel") != "canonical":
            url = attr.get("href")
        if url and url.startswith(("http://", "https://", "//")):
            self.found.append(f"<{tag}> {url}")


def test_strict_build_passes(site: Path) -> None:
    """`mkdocs build --strict` succeeds: no broken link, reference or docstring warning."""
    assert (site / "index.html").is_file()


def test_pages_fetch_nothing_from_other_hosts(site: Path) -> None:
    """No page loads scripts, styles or fonts from a CDN: the site works offline."""
    loads: dict[str, list[str]] = {}
    for page in site.rglob("*.html"):
        parser = _ExternalLoads()
        parser.feed(page.read_text())
        if parser.found:
            loads[str(page.relative_to(site))] = parser.found
    assert loads == {}


def test_reference_covers_the_public_surface(site: Path) -> None:
    """Every name in ``gpuhub.__all__`` has an entry in the generated API reference."""
    with (site / "objects.inv").open("rb") as inventory:
        documented = set(Inventory.parse_sphinx(inventory))
    names = {n for n in gpuhub.__all__ if n != "__version__"}
    missing = {
        n for n in names if not any(d == f"gpuhub.{n}" or d.endswith(f".{n}") for d in documented)
    }
    assert missing == set()


def test_notebooks_are_rendered(site: Path) -> None:
    """Each notebook in docs/notebooks/ becomes a page with its cells and outputs."""
    notebooks = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        page = (site / "notebooks" / notebook.stem / "index.html").read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        cells = json.loads(notebook.read_text())["cells"]
        code = next(c for c in cells if c["cell_type"] == "code")
        assert "jp-Notebook" in page
        assert "".join(code["source"]).splitlines()[0] in text


def test_search_index_is_built(site: Path) -> None:
    """The search box has an index of every page, the user pages included."""
    index = json.loads((site / "search" / "search_index.json").read_text())
    titles = {doc["title"] for doc in index["docs"]}
    assert {"Rent a GPU", "Share a GPU", "Build on the SDK", "HTTP API", "Governance"} <= titles
