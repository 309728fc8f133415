"""The distribution's name and every install instruction: `gpuhub` on the package index is an
unrelated project, so nothing may tell anyone to install it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: ``pip install`` of the unrelated distribution: ``gpuhub`` itself, with or without extras.
FOREIGN = re.compile(r"pip install[^\n`#]*?(?<![\w.-])[\"']?gpuhub(?![\w-])")


def test_distribution_name_and_extras() -> None:
    """The project is gpuhub-eth, and its extras pull in gpuhub-eth's extras, not gpuhub's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "gpuhub-eth"
    requirements = [r for extra in project["optional-dependencies"].values() for r in extra]
    own = [r for r in requirements if r.startswith("gpuhub")]
    assert own and all(r.startswith("gpuhub-eth[") for r in own)
    assert project["scripts"] == {"gpuhub": "gpuhub.cli:main"}


def test_no_instruction_installs_the_unrelated_project() -> None:
    """README, docs and messages in the code name gpuhub-eth or a checkout, never gpuhub."""
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "src").rglob("*.py")]
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in files
        for match in FOREIGN.finditer(path.read_text())
    ]
    assert found == []
    assert FOREIGN.search('pip install "gpuhub[cli]"') and FOREIGN.search("pip install gpuhub")
    assert not FOREIGN.search('pip install "gpuhub-eth[cli]"')


def test_readme_names_what_make_test_needs() -> None:
    """The README's prerequisites name Python, Node.js, make, PostgreSQL and Chromium."""
    readme = (ROOT / "README.md").read_text()
    prerequisites = readme[readme.index("Prerequisites") : readme.index("## Install")]
    for needed in ("Python 3.11", "Node.js", "npm", "make", "PostgreSQL 15", "initdb", "chromium"):
        assert needed in prerequisites
