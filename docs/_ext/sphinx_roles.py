"""Griffe extension: the reStructuredText habits of some docstrings, rendered as Markdown.

The docstrings are read in editors and ``help()`` as well as on the site, and a few use Sphinx
roles (``:class:`~gpuhub.watch.Watch```) and literal-block colons (``Example::``); mkdocstrings
renders Markdown, where both would show up as raw text. Each role becomes its target in a code
span, shortened to the last name where the role says so with ``~``; a line's closing ``::``
becomes ``:`` (the indented block after it is a code block in Markdown too).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|mod|meth|func|attr|data|exc|obj):`(~?)([^`]+)`")
LITERAL_COLONS = re.compile(r"(?<=\S)::$", re.M)


def _code(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite roles and literal-block colons in every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = ROLE.sub(_code, obj.docstring.value)
            obj.docstring.value = LITERAL_COLONS.sub(":", text)
