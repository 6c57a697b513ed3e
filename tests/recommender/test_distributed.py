"""`newsrec train --dask`: a real Dask scheduler and workers (and a LocalCluster), never a mock.

The cluster's bundle must be the single process's, file for file (the manifest differs only
in what says when and how fast it ran), also when a worker is killed during the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.bundle import MANIFEST, latest_version
from recommender.cli import main
from recommender.config import TrainConfig
from recommender.distributed import dask_mapper, parse_address
from recommender.sources.sample import generate_sample
from recommender.train import train
from tests.support import assert_same_bundle, free_port

distributed = pytest.importorskip("distributed", reason="newsrec[dask] is not installed")

CONFIG = TrainConfig(chunk_size=40)
DASK = Path(sys.executable).parent / "dask"
SCHEDULER = ("--no-dashboard", "--no-show")
WORKER = ("--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A sample whose view log is a directory of daily files, as the event log writes it."""
    root = tmp_path_factory.mktemp("dask")
    info = generate_sample(root / "sample", n_articles=600, days=6, seed=5)
    lines = info.views_path.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    days: dict[str, list[str]] = {}
    for row in rows:
        days.setdefault(row.split(",")[2][:10], []).append(row)
    views = root / "events"
    views.mkdir()
    for date, day_rows in days.items():
        (views / f"events-{date}-host.csv").write_text("\n".join([header, *day_rows]) + "\n")
    assert len(days) >= 5
    return {"articles": info.articles_path, "views": views}


@pytest.fixture(scope="module")
def single(inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The single-process bundle the cluster's must equal."""
    models = tmp_path_factory.mktemp("single")
    result = train(inputs["articles"], inputs["views"], models, config=CONFIG)
    return result.path


@pytest.fixture
def cluster() -> Iterator[dict[str, Any]]:
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1 (no nanny: a killed
    worker stays dead)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), *SCHEDULER],
            **quiet,  # type: ignore[call-overload]
        )
    ]
    workers = [
        subprocess.Popen(
            [str(DASK), "worker", address, *WORKER, "--name", f"w{i}"],
            **quiet,  # type: ignore[call-overload]
        )
        for i in range(2)
    ]
    procs += workers
    try:
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=30)
            yield {"address": address, "workers": workers}
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_parse_address_reads_local_and_scheduler_addresses() -> None:
    assert parse_address("local") == ("local", 2)
    assert parse_address("local:3") == ("local", 3)
    assert parse_address("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", None)
    for bad in ("", "local:0", "local:x"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_dask_cli_on_a_local_cluster_publishes_the_single_process_bundle(
    inputs: dict[str, Path],
    single: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "newsrec.toml"
    config.write_text("[train]\nchunk_size = 40\n")
    monkeypatch.setenv("NEWSREC_DASK_ADDRESS", "local:2")
    models = tmp_path / "models"
    argv = ["train", "--articles", str(inputs["articles"]), "--views", str(inputs["views"])]
    argv += ["--out", str(models), "--config", str(config), "--no-calibrate", "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "dask: local:2, 2 workers" in out
    # per-block times of each distributed stage
    for stage in ("topn_block", "coview_block", "view_partition"):
        assert f"dask blocks of {stage}:" in out
    # the same lists, arrays and manifest; the configuration file is an input of both runs
    bundle = models / str(latest_version(models))
    single_manifest = json.loads((single / MANIFEST).read_text())
    manifest = json.loads((bundle / MANIFEST).read_text())
    assert manifest["parameters"] == single_manifest["parameters"]
    for name in sorted(p.name for p in single.iterdir() if p.suffix == ".npy"):
        assert (bundle / name).read_bytes() == (single / name).read_bytes(), name


def test_dask_cluster_bundle_is_byte_identical_when_a_worker_dies_mid_run(
    inputs: dict[str, Path], single: Path, cluster: dict[str, Any], tmp_path: Path
) -> None:
    from distributed import Client

    # one worker is killed (SIGKILL) once the run has tasks on the cluster
    models = tmp_path / "models"
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with dask_mapper(cluster["address"]) as mapper:
                outcome["result"] = train(
                    inputs["articles"], inputs["views"], models, config=CONFIG, mapper=mapper
                )
        except BaseException as exc:  # reported by the assertion below
            outcome["error"] = exc

    victim = cluster["workers"][1]
    with Client(cluster["address"], timeout=30) as watcher:
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 60
        while not any(watcher.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.005)
        killed_mid_run = thread.is_alive() and latest_version(models) is None
        os.kill(victim.pid, signal.SIGKILL)
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert killed_mid_run
        assert victim.wait(timeout=10) == -signal.SIGKILL
        assert len(watcher.scheduler_info()["workers"]) == 1
    assert "error" not in outcome, outcome.get("error")
    assert latest_version(models) == outcome["result"].version
    assert_same_bundle(outcome["result"].path, single)
    # nothing half-written is left beside it
    assert [p.name for p in models.iterdir() if p.name.startswith(".tmp-")] == []
    assert np.load(outcome["result"].path / "content_neighbors.npy").shape[0] == 600


def test_dask_cluster_reads_and_reduces_the_log_on_its_workers_to_the_single_bundle(
    inputs: dict[str, Path], single: Path, cluster: dict[str, Any], tmp_path: Path
) -> None:
    # --stream-views on a real scheduler and two worker processes: each worker parses its
    # files by path and reduces its session buckets; the bundle is the in-memory one's
    with dask_mapper(cluster["address"]) as mapper:
        result = train(
            inputs["articles"],
            inputs["views"],
            tmp_path / "models",
            config=CONFIG,
            mapper=mapper,
            stream_views=True,
            spill_dir=tmp_path / "spill",
        )
        ran = mapper.block_seconds
    assert len(ran["spill_partition"]) == len(list(inputs["views"].iterdir()))
    assert len(ran["reduce_bucket"]) >= len(ran["spill_partition"])
    assert "view_partition" not in ran  # the log never came to this process whole
    assert_same_bundle(result.path, single)
    assert list((tmp_path / "spill").iterdir()) == []
