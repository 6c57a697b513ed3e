"""Request bodies of JSON, bounded in size and nesting depth before they are parsed.

Python's JSON parser recurses once per nested list or object: a 2 KB body of 1,000 nested
lists raised ``RecursionError`` (a 500 and a traceback per request). Every write route that
reads JSON (``POST /v1/events``, ``PUT /v1/articles/{id}``, ``POST /v1/rules``) checks its
body here first; each route turns :class:`BodyError` into its own 400 answer.

The depth is measured on the raw bytes, outside strings, at C speed: strings are cut out with
one regular expression, everything but brackets dropped with ``bytes.translate``, then
innermost pairs (``[]``, ``{}``) are removed once per level. No honest body of these routes is
more than 4 deep.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Most levels of nested lists and objects a body may have.
MAX_DEPTH = 32

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


class BodyError(ValueError):
    """A body refused before or while parsing: too large, too deep or not JSON."""


def check_json_bounds(data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`BodyError` when ``data`` is over ``max_bytes`` or nested deeper than
    ``max_depth`` (unbalanced brackets count as too deep: such a body is not JSON anyway)."""
    if len(data) > max_bytes:
        raise BodyError(f"the body may be at most {max_bytes} bytes")
    brackets = data.translate(None, _NOT_BRACKETS)
    if len(brackets) <= max_depth:
        return  # cannot be deeper than the brackets it has
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not brackets:
            return
        brackets = _INNERMOST.sub(b"", brackets)
    if brackets:
        raise BodyError(f"the body is nested deeper than {max_depth} levels of lists and objects")


def bounded_json(data: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """``data`` parsed as JSON after :func:`check_json_bounds`; raises :class:`BodyError`."""
    check_json_bounds(data, max_bytes=max_bytes, max_depth=max_depth)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BodyError("the body is not valid JSON") from None
