"""The version lives in one place, and the changelog keeps its format."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import gpuhub

ROOT = Path(__file__).resolve().parents[2]


def test_package_metadata_reads_the_version_from_the_module() -> None:
    """pyproject.toml declares no version of its own; the installed metadata is gpuhub's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert version(project["name"]) == gpuhub.__version__


def test_changelog_sections_follow_keep_a_changelog() -> None:
    """Each release heading is ``[Unreleased]`` or ``[X.Y.Z] - YYYY-MM-DD``, newest first."""
    headings = re.findall(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings
    pattern = re.compile(r"\[Unreleased\]|\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}")
    assert [h for h in headings if not pattern.fullmatch(h)] == []
    assert "[Unreleased]" not in headings[1:]
