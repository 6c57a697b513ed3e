"""Argument types and output helpers shared by the ``newsrec`` commands (argparse only)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence


def datetime_arg(value: str) -> dt.datetime:
    """An ISO 8601 date or time; no zone means UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def datetime_or_now_arg(value: str) -> dt.datetime:
    """An ISO 8601 date or time (no zone means UTC), or ``now``: the clock, to the second."""
    if value == "now":
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    return datetime_arg(value)


def positive_int(value: str) -> int:
    """A whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def non_negative_int(value: str) -> int:
    """A whole number of at least 0."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def non_negative_float(value: str) -> float:
    """A number of at least 0."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def positive_float(value: str) -> float:
    """A number above 0."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return number


def add_test_period_arguments(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--test-from`` / ``--test-days`` (one required, unless the command checks it itself),
    for ``evaluate`` and ``tune``."""
    period = p.add_mutually_exclusive_group(required=required)
    period.add_argument(
        "--test-from", type=datetime_arg, metavar="DATE", help="start of the test period, ISO 8601"
    )
    period.add_argument(
        "--test-days",
        type=positive_float,
        metavar="N",
        help="the test period is the last N days of the views",
    )


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """A plain-text table, columns left-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def stderr(message: str) -> None:
    """Print a progress or status line on standard error."""
    print(message, file=sys.stderr)
