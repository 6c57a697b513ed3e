"""Helpers shared by test modules: real servers, a real browser, bundles compared byte for byte."""

from __future__ import annotations

import contextlib
import json
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


#: Two Redis DB numbers of this test run: 15 and 14, or lower pairs with NEWSREC_TEST_SLOT=1, 2 ...
#: so that test runs in two work trees of one machine never flush each other's data.
_SLOT = int(os.environ.get("NEWSREC_TEST_SLOT", "0"))
CACHE_REDIS_URL = f"redis://127.0.0.1:6379/{15 - 2 * _SLOT}"
LIVE_REDIS_URL = f"redis://127.0.0.1:6379/{14 - 2 * _SLOT}"


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


#: The machine's PostgreSQL (trust auth); tests make databases of their own on it.
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_database(prefix: str) -> Iterator[str]:
    """A database of this test session on the machine's PostgreSQL, named ``<prefix>_<pid>`` so
    that two test runs on one machine never share it, dropped before and after (the body of a
    session fixture: ``yield from postgres_database("newsrec_test_rules")``). Databases a
    killed run left behind are dropped too, unless something is connected to them."""
    import psycopg

    def admin() -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=2)

    try:
        conn = admin()
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {exc}")
    name = f"{prefix}_{os.getpid()}"
    with conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{prefix}\\_%",)
        ).fetchall()
        for (found,) in rows:
            pid = str(found).rsplit("_", 1)[-1]
            if found != name and pid.isdigit() and not Path(f"/proc/{pid}").exists():
                # in use: a run in another pid namespace still needs it
                with contextlib.suppress(psycopg.errors.ObjectInUse):
                    conn.execute(f'DROP DATABASE IF EXISTS "{found}"')
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: What a manifest records about the run rather than the model.
RUN_KEYS = {"created_at", "timings", "peak_memory_mib", "version"}


def assert_same_bundle(a: Path, b: Path, ignore: tuple[str, ...] = ()) -> None:
    """Two bundle folders hold the same model: the same files, byte for byte, and manifests
    equal but for :data:`RUN_KEYS` (and ``ignore``: ``inputs`` when the files differ)."""
    from recommender.bundle import MANIFEST

    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name == MANIFEST:
            left, right = (json.loads((d / name).read_text()) for d in (a, b))
            for key in (*RUN_KEYS, *ignore):
                left.pop(key), right.pop(key)
            assert left == right
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
