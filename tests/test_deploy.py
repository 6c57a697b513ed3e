"""The container files: Dockerfile, docker-compose.yml and docker/trainer.sh.

No Docker engine runs here, so these tests check what can be checked without one: the compose
file against the Compose Specification's own JSON schema (``tests/data/compose-spec.json``, a
verbatim copy of ``schema/compose-spec.json`` of github.com/compose-spec/compose-spec at commit
00655e2222608fa6eaecdf12ac5195889ca2244a), every command and health-check path against the code,
every ``NEWSREC_*`` variable against the settings, and the trainer script and the stack by
running them as plain processes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from recommender.bundle import Bundle, latest_version
from recommender.cli import build_parser
from recommender.distributed import DASK_ADDRESS_VARIABLE
from service.app import create_app
from service.settings import Settings
from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
TRAINER = ROOT / "docker" / "trainer.sh"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"
BIN = Path(sys.executable).parent


# --- helpers ------------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return doc


def _our_services() -> dict[str, dict[str, Any]]:
    """Services built from this repository's Dockerfile."""
    return {name: s for name, s in _compose()["services"].items() if "build" in s}


def _instructions() -> list[tuple[int, str, str]]:
    """``(stage, INSTRUCTION, arguments)`` of the Dockerfile, continuation lines joined."""
    out: list[tuple[int, str, str]] = []
    stage = -1
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        pending = ""
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        out.append((stage, keyword, args.strip()))
    return out


def _argv(args: str) -> list[str]:
    """An instruction's command: exec form (JSON array) or shell form."""
    if args.startswith("["):
        argv: list[str] = json.loads(args)
        return argv
    return shlex.split(args)


def _runtime() -> list[tuple[str, str]]:
    instructions = _instructions()
    last = max(stage for stage, _, _ in instructions)
    return [(keyword, args) for stage, keyword, args in instructions if stage == last]


def _dockerfile_cmd() -> list[str]:
    return _argv([args for keyword, args in _runtime() if keyword == "CMD"][-1])


def _healthcheck_code() -> str:
    args = [args for keyword, args in _runtime() if keyword == "HEALTHCHECK"][-1]
    argv = _argv(args[args.index("CMD") + 3 :].strip())
    assert argv[:2] == ["python", "-c"], argv
    return argv[2]


def _url_path(code: str) -> str:
    match = re.search(r"['\"]((?:/[\w.-]+)+)['\"]", code)
    assert match, f"no URL path in {code!r}"
    return match.group(1)


def _is_newsrec_command(words: list[str]) -> bool:
    """Whether ``newsrec <words>`` names a sub-command (and sub-sub-command) that exists."""
    parser: argparse.ArgumentParser = build_parser()
    matched = 0
    for word in words:
        if word.startswith("-"):
            break
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            break
        if word not in subs[0].choices:
            return False
        parser = subs[0].choices[word]
        matched += 1
    return matched > 0


def _trainer_variables() -> set[str]:
    return set(re.findall(r"\$\{?(NEWSREC_[A-Z0-9_]+)", TRAINER.read_text(encoding="utf-8")))


def _settings_variables() -> set[str]:
    return {var.name for var in Settings.ENV_VARS}


def _routes(models_dir: Path) -> set[str]:
    app = create_app(Settings(models_dir=models_dir, cache_ttl=0))
    return {rule.rule for rule in app.url_map.iter_rules()}


def _mount(service: dict[str, Any], target: str) -> tuple[str, str]:
    """``(volume, mode)`` of the short-syntax volume mounted at ``target``."""
    for spec in service.get("volumes", []):
        parts = spec.split(":")
        if parts[1] == target:
            return parts[0], parts[2] if len(parts) > 2 else "rw"
    raise AssertionError(f"nothing mounted at {target}")


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["title"] == "Compose Specification"
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(_compose()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_compose_schema_rejects_a_misspelt_key() -> None:
    """The schema copy is strict enough to catch mistakes (it is not an empty stand-in)."""
    doc = _compose()
    doc["services"]["api"]["depends_on"] = {"redis": {"condition": "service_healthly"}}
    doc["services"]["trainer"]["enviroment"] = {"NEWSREC_DATA_DIR": "/data"}
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(doc))) == 2


def test_compose_has_redis_api_and_trainer() -> None:
    services = _compose()["services"]
    assert {name for name, s in services.items() if not s.get("profiles")} == {
        "redis",
        "api",
        "trainer",
    }
    redis = services["redis"]
    assert redis["image"] == "redis:7-alpine"
    command = redis["command"]
    for flag, value in (
        ("--appendonly", "yes"),
        ("--maxmemory", "256mb"),
        ("--maxmemory-policy", "volatile-lru"),
    ):
        assert command[command.index(flag) + 1] == value
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert services["api"]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert services["api"]["ports"] == ["8000:8000"]
    assert services["api"]["environment"]["NEWSREC_REDIS_URL"] == "redis://redis:6379/0"


def test_compose_dask_profile_is_a_cluster_the_trainer_can_use() -> None:
    """The optional profile: a scheduler, workers pointed at it, reading the trainer's data."""
    services = _compose()["services"]
    dask = {name for name, s in services.items() if "dask" in s.get("profiles", ())}
    assert dask == {"dask-scheduler", "dask-worker"}
    scheduler, worker = services["dask-scheduler"]["command"], services["dask-worker"]["command"]
    port = scheduler[scheduler.index("--port") + 1]
    assert worker[:3] == ["dask", "worker", f"tcp://dask-scheduler:{port}"]
    trainer = services["trainer"]
    # off unless asked for: one process by default
    assert trainer["environment"]["NEWSREC_DASK_ADDRESS"] == "${NEWSREC_DASK_ADDRESS:-}"
    data = trainer["environment"]["NEWSREC_DATA_DIR"]
    assert _mount(services["dask-worker"], data) == (_mount(trainer, data)[0], "ro")


def test_compose_healthy_dependencies_have_health_checks() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            if spec.get("condition") == "service_healthy":
                check = services[dependency].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (name, dependency)


def test_compose_commands_exist() -> None:
    # destination in the image -> source in the repository, for single-file COPYs
    copied = {
        args.split()[-1]: args.split()[-2] for keyword, args in _runtime() if keyword == "COPY"
    }
    for name, service in _our_services().items():
        argv = service.get("command") or _dockerfile_cmd()
        if isinstance(argv, str):
            argv = shlex.split(argv)
        if argv[0] == "newsrec":
            assert _is_newsrec_command(argv[1:]), (name, argv)
        elif argv[0] == "dask":
            # the installed dask parses the options (an unknown one fails before --help)
            done = subprocess.run(
                [str(BIN / "dask"), *argv[1:], "--help"], capture_output=True, timeout=120
            )
            assert done.returncode == 0, (name, done.stderr.decode()[-500:])
        else:
            # a script: the Dockerfile copies it there from a file of this repository
            assert argv[0] in copied, f"{name}: {argv[0]} is not copied into the image"
            source = ROOT / copied[argv[0]]
            assert source.is_file() and os.access(source, os.X_OK), source


def test_compose_health_checks_probe_routes_of_the_app(tmp_path: Path) -> None:
    routes = _routes(tmp_path)
    for name, service in _our_services().items():
        check = service.get("healthcheck", {})
        if check.get("disable"):
            continue
        test = check["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        assert _url_path(test[3]) in routes, name


def test_compose_newsrec_variables_are_read_by_something() -> None:
    services = _our_services()
    settings, trainer = _settings_variables(), _trainer_variables()
    api = {k for k in services["api"]["environment"] if k.startswith("NEWSREC_")}
    assert api <= settings, f"the service reads no {sorted(api - settings)}"
    job = {k for k in services["trainer"]["environment"] if k.startswith("NEWSREC_")}
    # newsrec train itself reads the Dask address
    trainer |= {DASK_ADDRESS_VARIABLE}
    assert job <= settings | trainer, f"nothing reads {sorted(job - settings - trainer)}"


def test_compose_trainer_publishes_where_the_api_reads() -> None:
    services = _compose()["services"]
    api, trainer = services["api"], services["trainer"]
    api_dir = api["environment"]["NEWSREC_MODELS_DIR"]
    trainer_dir = trainer["environment"]["NEWSREC_MODELS_DIR"]
    api_volume, api_mode = _mount(api, api_dir)
    trainer_volume, trainer_mode = _mount(trainer, trainer_dir)
    assert api_volume == trainer_volume and api_volume in _compose()["volumes"]
    assert (api_mode, trainer_mode) == ("ro", "rw")
    data_volume, _ = _mount(trainer, trainer["environment"]["NEWSREC_DATA_DIR"])
    assert data_volume in _compose()["volumes"]


# --- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_builds_in_two_stages_on_python_3_11_slim() -> None:
    instructions = _instructions()
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.MULTILINE)
    stages = [args for _, keyword, args in instructions if keyword == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]
    runtime = _runtime()
    runs = " ".join(args for keyword, args in runtime if keyword == "RUN")
    assert "apt-get install" not in runs and "build-essential" not in runs
    assert all(
        "--no-cache-dir" in args
        for keyword, args in runtime
        if keyword == "RUN" and "pip install" in args
    )
    assert "--mount=type=bind,from=builder" in runs  # wheels never become a runtime layer


def test_dockerfile_runs_as_a_non_root_user_with_one_blas_thread() -> None:
    runtime = _runtime()
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(args for keyword, args in runtime if keyword == "ENV")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert re.search(rf"\b{name}=1\b", env), name
    assert re.search(r"\bNEWSREC_HOST=0\.0\.0\.0\b", env)
    assert re.search(r"\bNEWSREC_MODELS_DIR=/models\b", env)
    named = set(re.findall(r"\b(NEWSREC_[A-Z0-9_]+)=", env))
    assert named <= _settings_variables(), named - _settings_variables()


def test_dockerfile_command_is_the_console_script_serve() -> None:
    argv = _dockerfile_cmd()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert argv == ["newsrec", "serve"]
    assert scripts[argv[0]] == "recommender.cli:main"
    assert _is_newsrec_command(argv[1:])
    assert not [args for keyword, args in _runtime() if keyword == "ENTRYPOINT"]


def test_dockerfile_health_check_probes_a_route(tmp_path: Path) -> None:
    assert _url_path(_healthcheck_code()) in _routes(tmp_path)


def test_dockerfile_copies_files_that_exist() -> None:
    for _, keyword, args in _instructions():
        if keyword != "COPY" or "--from=" in args:
            continue
        sources = [a for a in args.split() if not a.startswith("--")][:-1]
        for source in sources:
            if "*" not in source:  # a glob may match nothing (README.md*)
                assert (ROOT / source).exists(), source


# --- docker/trainer.sh ------------------------------------------------------------------------


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSREC_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(values)
    return env


def test_trainer_script_is_posix_sh() -> None:
    # Debian's /bin/sh (dash) is what runs it in python:3.11-slim.
    subprocess.run(["dash", "-n", str(TRAINER)], check=True)
    assert TRAINER.read_text().startswith("#!/bin/sh\n")


def test_trainer_variables_are_documented() -> None:
    doc = DEPLOY_DOC.read_text(encoding="utf-8")
    missing = sorted(v for v in _trainer_variables() if f"`{v}`" not in doc)
    assert not missing, f"docs/deploy.md does not document {missing}"


def test_trainer_rejects_a_bad_interval(tmp_path: Path) -> None:
    done = subprocess.run(
        ["dash", str(TRAINER)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=_env(
            NEWSREC_TRAIN_INTERVAL="hourly",
            NEWSREC_DATA_DIR=str(tmp_path / "data"),
            NEWSREC_MODELS_DIR=str(tmp_path / "models"),
        ),
    )
    assert done.returncode == 2
    assert "NEWSREC_TRAIN_INTERVAL must be a whole number" in done.stderr
    assert not (tmp_path / "data").exists()


class _Trainer:
    """``docker/trainer.sh`` as a background process logging to a file."""

    def __init__(self, log: Path, **env: str) -> None:
        self.log = log
        with log.open("w") as handle:
            self.process = subprocess.Popen(
                ["dash", str(TRAINER)],
                env=_env(**env),
                stdout=subprocess.DEVNULL,
                stderr=handle,
            )

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, (
                f"no {text!r} in {timeout} s: {self.log.read_text()}"
            )
            time.sleep(0.1)

    def stop(self) -> tuple[int, float]:
        """SIGTERM; the exit status and how long the script took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return code, time.monotonic() - started


def test_trainer_stop_mid_round_is_prompt_and_the_next_start_recovers(tmp_path: Path) -> None:
    data, models = tmp_path / "data", tmp_path / "models"
    env = {
        "NEWSREC_DATA_DIR": str(data),
        "NEWSREC_MODELS_DIR": str(models),
        "NEWSREC_SAMPLE_ARTICLES": "100",
        "NEWSREC_SAMPLE_DAYS": "3",
    }
    trainer = _Trainer(tmp_path / "first.log", **env)
    trainer.wait_for("writing sample data")
    code, seconds = trainer.stop()
    assert code == 0 and seconds < 5, trainer.log.read_text()
    assert "stopping" in trainer.log.read_text()
    assert latest_version(models) is None
    # the interrupted sample is thrown away and written again in full
    done = subprocess.run(
        ["dash", str(TRAINER)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(**env, NEWSREC_TRAIN_ONCE="1"),
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in data.iterdir()) == ["articles.jsonl", "topics.csv", "views.csv"]
    assert len(Bundle.load_latest(models)) == 100


def test_trainer_reports_a_failed_wordpress_import_and_writes_no_sample(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"mysql://reader:hunter2@127.0.0.1:{free_port()}/wordpress"
    done = subprocess.run(
        ["dash", str(TRAINER)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(
            NEWSREC_DATA_DIR=str(data),
            NEWSREC_MODELS_DIR=str(tmp_path / "models"),
            NEWSREC_WORDPRESS_DB=url,
            NEWSREC_TRAIN_ONCE="1",
        ),
    )
    assert done.returncode == 2
    assert "newsrec: error: mysql://reader:***@127.0.0.1:" in done.stderr
    assert "round failed (exit 2)" in done.stderr and "hunter2" not in done.stderr
    assert list(data.iterdir()) == []  # no sample data with a WordPress source, no half file
    assert latest_version(tmp_path / "models") is None


# --- the stack, as processes ------------------------------------------------------------------


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def api_without_bundle(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """``newsrec serve`` on an empty models directory, as the api container starts."""
    models = tmp_path / "models"
    models.mkdir()
    port = free_port()
    env = _env(
        NEWSREC_MODELS_DIR=str(models),
        NEWSREC_HOST="127.0.0.1",
        NEWSREC_PORT=str(port),
        NEWSREC_WORKERS="1",
        NEWSREC_RELOAD_INTERVAL="0.5",
        NEWSREC_LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [str(BIN / "newsrec"), "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                _get(f"{base}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the service did not start in 30 s"
                time.sleep(0.2)
        yield base, models, port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


@pytest.mark.slow
def test_stack_serves_once_the_trainer_publishes(
    api_without_bundle: tuple[str, Path, int], tmp_path: Path
) -> None:
    base, models, port = api_without_bundle
    # before the first bundle: alive (the image's health check passes) but not ready
    assert _get(f"{base}/healthz")[0] == 200
    status, body = _get(f"{base}/readyz")
    assert (status, body["status"]) == (503, "no_model")
    assert _get(f"{base}/v1/most-viewed")[0] == 503
    probe = subprocess.run(
        [sys.executable, "-c", _healthcheck_code()],
        timeout=15,
        env=_env(NEWSREC_PORT=str(port)),
        check=False,
    )
    assert probe.returncode == 0
    data = tmp_path / "data"
    trainer = _Trainer(
        tmp_path / "trainer.log",
        NEWSREC_DATA_DIR=str(data),
        NEWSREC_MODELS_DIR=str(models),
        NEWSREC_SAMPLE_ARTICLES="150",
        NEWSREC_SAMPLE_DAYS="5",
        NEWSREC_TRAIN_INTERVAL="3600",
    )
    try:
        trainer.wait_for("next round in 3")  # sample written, first round published
    finally:
        code, seconds = trainer.stop()  # between rounds: at once
    assert code == 0 and seconds < 5, trainer.log.read_text()
    assert sorted(p.name for p in data.iterdir()) == ["articles.jsonl", "topics.csv", "views.csv"]
    version = latest_version(models)
    deadline = time.monotonic() + 20
    while (status := _get(f"{base}/readyz")[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    status, body = _get(f"{base}/readyz")
    assert (status, body["model_version"]) == (200, version)
    article_id = Bundle.load_latest(models).article_id(0)
    status, body = _get(f"{base}/v1/articles/{article_id}/related?n=3")
    assert status == 200, body
