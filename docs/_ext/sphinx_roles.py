"""Griffe extension: Sphinx roles in docstrings (``:class:`~gpuhub.watch.Watch```) as code.

The docstrings are read in editors and ``help()`` as well as on the site, and a few use Sphinx
roles; mkdocstrings renders Markdown, where a role would show up as raw text. Each role becomes
its target in code spans, shortened to the last name where the role says so with ``~``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|mod|meth|func|attr|data|exc|obj):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles to Markdown code spans in every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(_code, obj.docstring.value)
