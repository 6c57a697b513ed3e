"""`make demo` shows every example the README documents working.

The test runs the real `make demo` (its 3,000 articles, on a free port, with the models, the
rules and the event log in a temporary folder), then runs each `curl` line of the README
against it as written (only the port changed) and checks that every answer is a success and
that every list in it has items: the demo data ends now, so the 24-hour windows and trending
are not empty.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def readme_curl_examples() -> list[str]:
    """Every `curl` command of the README's shell blocks and inline examples, continuation
    lines joined, with `localhost:8000` as written."""
    text = README.read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [line.strip() for line in joined.splitlines() if line.startswith("curl ")]
    commands += re.findall(r"`(curl [^`]+)`", text)
    return [re.sub(r"\s+#.*$", "", command) for command in commands]  # comments dropped


def _lists(value: Any) -> Iterator[tuple[str, list[Any]]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, list):
                yield key, item
            yield from _lists(item)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    work = tmp_path_factory.mktemp("demo")
    port = free_port()
    token = "demo-token-for-the-readme-test"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSREC_")}
    env.update(
        NEWSREC_RULES_DB=str(work / "rules.sqlite3"),
        NEWSREC_EVENT_LOG_DIR=str(work / "events"),
        # one worker: without Redis, a publish or unpublish reaches one worker only (issue 15,
        # item 2, fixed apart from this test); the README's PUT then DELETE must meet
        NEWSREC_WORKERS="1",
        DEMO_TOKEN=token,
    )
    bin_dir = Path(sys.executable).parent
    command = [
        "make",
        "--no-print-directory",
        "-C",
        str(ROOT),
        "-o",
        str(bin_dir / ".installed"),  # the test's own environment: never reinstall
        "demo",
        f"BIN={bin_dir}",
        f"PORT={port}",
        f"DEMO_DIR={work / 'data'}",
        f"DEMO_MODELS={work / 'models'}",
    ]
    log = open(work / "demo.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"make demo did not serve: {(work / 'demo.log').read_text()}")
                time.sleep(0.3)
        yield port, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_readme_has_the_examples_this_test_runs() -> None:
    examples = readme_curl_examples()
    assert len(examples) >= 9, examples
    assert any("window=24h" in e for e in examples) and any("/v1/trending" in e for e in examples)


@pytest.mark.slow
def test_readme_examples_answer_under_make_demo(demo: tuple[int, str]) -> None:
    port, token = demo
    env = {**os.environ, "NEWSREC_CMS_TOKEN": token, "NEWSREC_RULES_TOKEN": token}
    failures = []
    for example in readme_curl_examples():  # in the README's order: PUT before DELETE
        command = example.replace("localhost:8000", f"localhost:{port}")
        done = subprocess.run(
            ["bash", "-c", command + " -w '\n%{http_code}'"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        body, _, status = done.stdout.rpartition("\n")
        if not status.startswith("2"):
            failures.append(f"{example}: HTTP {status} {body[:300]}")
        elif body.startswith("{"):
            for key, items in _lists(json.loads(body)):
                # no event was refused, no URL dropped, and the demo starts with no rule and
                # no experiment
                if not items and key not in ("rejected", "rules", "dropped", "experiments"):
                    failures.append(f"{example}: {key} is empty: {body[:300]}")
    assert not failures, "\n".join(failures)
