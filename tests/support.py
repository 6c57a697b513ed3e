"""Helpers shared by test modules that start real servers or a real browser."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import redis

#: Debian's chromium (Playwright's own browser download does not work on our machines).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unavailable(reason: str) -> NoReturn:
    """A real service a test needs is missing: fail in CI (``CI=true``), where the project's
    own files must provide it; skip with the reason elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


def require_chromium() -> Path:
    """Debian's chromium, or :func:`unavailable`."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: install Debian's chromium (make browser)")
    return CHROMIUM


def flushed_redis(url: str) -> Iterator[redis.Redis]:
    """The machine's Redis on the test suite's own DB number, flushed before and after (the
    body of a fixture: ``yield from flushed_redis(URL)``)."""
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at 127.0.0.1:6379 is unreachable: {exc}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
