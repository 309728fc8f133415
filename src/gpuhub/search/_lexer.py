"""The query tokenizer: words, quoted strings, operators and list punctuation, with positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ..exceptions import QueryError

TokenKind = Literal["word", "string", "op", "[", "]", ","]

#: operators of the grammar; "==", "=>" and "=<" are read so they can be named as mistakes.
OPERATORS = ("!=", "<=", ">=", "=", "<", ">", "~")
_MISTAKES = {"==": "=", "=>": ">=", "=<": "<=", "!": "!=", "<>": "!="}

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\s=!<>~\[\],\"']+")
_OP = re.compile(r"==|=>|=<|<>|!=|<=|>=|!|[=<>~]")


@dataclass(frozen=True, slots=True)
class Token:
    """One token and the 0-based offset where it starts in the query."""

    kind: TokenKind
    text: str
    position: int


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens.

    Raises:
        QueryError: an unterminated quoted string, or an operator that does not exist.
    """
    tokens: list[Token] = []
    at = 0
    while at < len(query):
        space = _SPACE.match(query, at)
        if space:
            at = space.end()
            continue
        char = query[at]
        if char in "[],":
            tokens.append(Token(char, char, at))  # type: ignore[arg-type]
            at += 1
        elif char in "\"'":
            text, end = _quoted(query, at)
            tokens.append(Token("string", text, at))
            at = end
        elif (op := _OP.match(query, at)) is not None:
            text = op.group()
            if text in _MISTAKES:
                raise QueryError(
                    f"unknown operator {text!r}; did you mean {_MISTAKES[text]!r}?",
                    position=at,
                    query=query,
                )
            tokens.append(Token("op", text, at))
            at = op.end()
        else:
            word = _WORD.match(query, at)
            assert word is not None  # every other character starts a word
            tokens.append(Token("word", word.group(), at))
            at = word.end()
    return tokens


def _quoted(query: str, start: int) -> tuple[str, int]:
    """The text of the string quoted at ``start`` (backslash escapes the next character)."""
    quote = query[start]
    out = []
    at = start + 1
    while at < len(query):
        char = query[at]
        if char == "\\" and at + 1 < len(query):
            out.append(query[at + 1])
            at += 2
            continue
        if char == quote:
            return "".join(out), at + 1
        out.append(char)
        at += 1
    raise QueryError(f"unterminated string: add a closing {quote}", position=start, query=query)


def quote(text: str) -> str:
    """``text`` as the grammar reads it back: bare when it is one word, else double-quoted."""
    if text and _WORD.fullmatch(text) and text.lower() not in ("in", "notin"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
