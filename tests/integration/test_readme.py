"""The README's quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_quickstart_runs() -> None:
    """Every statement of the README's Python quickstart runs on the embedded chain."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    ended = namespace["ended"]
    assert ended.status.name == "ENDED_BY_RENTER"  # type: ignore[attr-defined]
