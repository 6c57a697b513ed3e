"""Full rebuilds on a Dask cluster: ``newsrec train --dask ADDRESS``.

The expensive stages of :func:`recommender.train.train` are made of independent blocks: the
content neighbours of a range of TF-IDF rows (:func:`recommender._topk.topn_block`), the
co-view lists of a range of articles (:func:`recommender.coview.coview_block`) and the files
of a view log directory (:func:`recommender.data.views.view_partition`, one daily event-log
file per task). :class:`DaskMapper` runs such blocks on a ``dask.distributed`` cluster: what
every block needs (the matrix, the session matrix) is scattered to the workers once, each
block is one task, and the results come back in block order, so the lists, and the bundle,
are the ones a single process computes.

A worker lost mid-run is handled by Dask: its tasks are computed again on the other workers
(the scattered inputs are on every worker), and a task that fails is retried
(:attr:`DaskMapper.retries`). If the cluster cannot finish, the run raises before the publish
step, so it publishes a complete bundle or none.

``ADDRESS`` is a scheduler's address (``tcp://10.0.0.5:8786``) or ``local[:N]``, which starts
a :class:`dask.distributed.LocalCluster` of ``N`` single-threaded worker processes (default 2)
on this machine for the run. The workers must import this package (the same version) and,
for a view log directory, read its files at the same path (a shared file system). See
docs/scale.md.

Dask is an optional dependency (``pip install 'newsrec[dask]'``): it is imported only inside
the functions here, so that the rest of the library never needs it.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["DASK_ADDRESS_VARIABLE", "DaskMapper", "dask_mapper", "parse_address"]

#: The variable ``newsrec train`` reads when ``--dask`` is not given.
DASK_ADDRESS_VARIABLE = "NEWSREC_DASK_ADDRESS"
_LOCAL = re.compile(r"^local(?::([1-9][0-9]*))?$")
_T = TypeVar("_T")


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", N)`` for ``local[:N]`` (N default 2), else ``(address, None)``.

    Raises
    ------
    ValueError
        An empty address.
    """
    address = address.strip()
    if not address:
        raise ValueError("empty Dask address: give a scheduler address or local[:N]")
    match = _LOCAL.match(address)
    if match:
        return "local", int(match.group(1) or 2)
    if address.startswith("local"):
        raise ValueError(f"bad Dask address {address!r}: local or local:N (N >= 1)")
    return address, None


def _timed(fn: Callable[..., _T], block: Any, shared: dict[str, Any]) -> tuple[_T, float]:
    start = time.perf_counter()
    result = fn(block, **shared)
    return result, time.perf_counter() - start


@dataclass
class DaskMapper:
    """Runs blocks of work on a Dask cluster (a :class:`recommender._topk.BlockMapper`).

    Parameters
    ----------
    client : dask.distributed.Client
    n_threads : int
        Threads one block uses on its worker (1: each worker thread runs one block).
    retries : int
        Times a failed task is tried again (a lost worker's tasks are rescheduled by Dask
        itself, up to its ``distributed.scheduler.allowed-failures``).

    Attributes
    ----------
    block_seconds : dict of str to list of float
        Per stage function, the seconds each block took on its worker.
    """

    client: Any
    n_threads: int = 1
    retries: int = 3
    block_seconds: dict[str, list[float]] = field(default_factory=dict)

    def __call__(
        self, fn: Callable[..., _T], blocks: Sequence[Any], shared: dict[str, Any]
    ) -> list[_T]:
        if not blocks:
            return []
        # scattered once to every worker, not shipped with each task; small values travel
        # inside the task. Each value is scattered inside a list of one: scatter would take
        # a list or a dict apart into one future per element.
        remote: dict[str, Any] = {
            name: value
            if value is None or isinstance(value, int | float | str)
            else self.client.scatter([value], broadcast=True, hash=False)[0]
            for name, value in shared.items()
        }
        futures = [
            self.client.submit(_timed, fn, block, remote, retries=self.retries, pure=False)
            for block in blocks
        ]
        try:
            done = self.client.gather(futures)
        finally:
            for future in futures:
                future.release()
            for name, value in remote.items():
                if value is not shared[name]:  # a future of the scattered value
                    value.release()
        self.block_seconds.setdefault(fn.__name__, []).extend(seconds for _, seconds in done)
        return [result for result, _ in done]

    @property
    def n_workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    @property
    def min_blocks(self) -> int:
        """Blocks per stage at least: four per worker thread, so that a slow block or a lost
        worker does not leave the others idle."""
        workers = self.client.scheduler_info().get("workers", {})
        return 4 * max(sum(int(w.get("nthreads", 1)) for w in workers.values()), 1)


@contextmanager
def dask_mapper(address: str, *, timeout: float = 30) -> Iterator[DaskMapper]:
    """Connect to a Dask scheduler (or start a local cluster) for the length of a run.

    Parameters
    ----------
    address : str
        A scheduler's address, or ``local[:N]`` (see :func:`parse_address`).
    timeout : float
        Seconds to wait for the scheduler, then for at least one worker.

    Raises
    ------
    ImportError
        Dask is not installed (``pip install 'newsrec[dask]'``).
    """
    try:
        # the optional dependency, imported here only: the library never needs it otherwise
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # the optional dependency
        raise ImportError(
            "newsrec train --dask needs dask.distributed: pip install 'newsrec[dask]'"
        ) from exc
    where, n_workers = parse_address(address)
    cluster: Any = None
    connect: Any = Client  # dask's classes are not typed
    if n_workers is not None:
        start: Any = LocalCluster
        cluster = start(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # no dashboard; the scheduler's HTTP routes (metrics) on a free local port: it
            # would try 8787 first and warn when another cluster holds it
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        )
        client = connect(cluster, timeout=timeout)
    else:
        client = connect(where, timeout=timeout)
    try:
        client.wait_for_workers(1, timeout=timeout)
        # every worker imports the stages' modules now, all at once, rather than in its
        # first task (scikit-learn takes seconds to import)
        client.run(importlib.import_module, "recommender.train")
        yield DaskMapper(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
