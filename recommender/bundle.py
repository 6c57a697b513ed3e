"""Versioned model bundles: writing, atomic publishing, loading, listing and rollback.

A bundle is a directory ``models/<version>/`` holding ``manifest.json``, the article table
(the metadata the API returns, as ``articles.<column>.*.npy`` columns, see
:mod:`recommender.articletable`), the arrays as ``.npy`` files (loaded with
``allow_pickle=False`` and memory-mapped, so server workers share their pages) and the fitted
TF-IDF vectorizer as ``content_vectorizer.joblib`` (the only pickle, loaded lazily and only
from bundles whose manifest matches this installation). ``models/LATEST`` names the bundle in
use; it is replaced with :func:`os.replace` only after a bundle is complete, so a crash at any
point leaves it naming the previous complete bundle.

A bundle is written into a staging folder ``.tmp-<version>-<random>`` beside a lock file
``.tmp-<version>-<random>.lock`` that the writer holds (``flock``) until the folder is renamed
into place. A run killed while writing (``kill -9``, a crash) leaves the folder; the next
publish and :func:`prune` remove staging folders older than :data:`STAGING_MAX_AGE` whose
lock nobody holds. Folders and files are created with the process's umask (a bundle written
by a cron trainer under another user than the service is as readable as its umask says).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import importlib.metadata
import json
import os
import pickle
import platform
import re
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender import __version__
from recommender.articletable import ArticleTable, ListTable, read_json_columns, write_table
from recommender.errors import BundleError, UnknownArticleError
from recommender.similarity import RowSimilarity
from recommender.windows import WINDOWS, rank

#: Format 2 memory-maps the article metadata (the article table); format 1 held it in
#: ``articles.json``, parsed by every worker. Both load; training writes format 2.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
#: A staging folder (``.tmp-<version>-*``) older than this many seconds, whose lock no
#: running publish holds, is a leftover of a killed run: the next publish and ``newsrec
#: models prune`` remove it.
STAGING_MAX_AGE = 3600
_STAGING_PREFIX = ".tmp-"
_LOCK_SUFFIX = ".lock"
LATEST = "LATEST"
MANIFEST = "manifest.json"
#: The article metadata of a format-1 bundle.
ARTICLES = "articles.json"
VECTORIZER = "content_vectorizer.joblib"
#: Metadata columns kept per article (no raw text: the body never enters a bundle).
META_FIELDS = ("title", "url", "category", "published_at", "image_url", "status")
#: Metadata columns newer bundles add; a bundle without one still loads (the value is unknown).
OPTIONAL_META_FIELDS = ("author", "image_srcset")
#: Words of each article's text (int32, -1 unknown), for reading times; absent in older bundles.
WORDS_ARRAY = "article_words"
#: The story of each article (int32: the smallest row of its same-story cluster, see
#: :mod:`recommender.stories`), for same-story collapsing; absent in older bundles.
STORIES_ARRAY = "story_clusters"
#: Sessions that read each co-view neighbour next (int32, like ``coview_counts``), in bundles
#: trained with ``coview_next_weight`` above 0 only.
NEXT_ARRAY = "coview_next_sessions"
_VERSION_RE = re.compile(r"^\d{8}T\d{6}Z(-[0-9a-z]+)*$")

#: Arrays every bundle has, and the optional co-view ones (absent when trained from counts).
REQUIRED_ARRAYS = (
    "published_ts",
    "content_neighbors",
    "content_scores",
    "content_matrix_data",
    "content_matrix_indices",
    "content_matrix_indptr",
    "popularity_views",
    "popularity_trending",
)
COVIEW_ARRAYS = ("coview_neighbors", "coview_scores", "coview_counts", "coview_support")


def library_versions() -> dict[str, str]:
    """Versions recorded in a manifest and checked on load."""
    # imported when a bundle is written, not when the service starts: they cost seconds
    import joblib
    import scipy
    import sklearn

    return {
        "newsrec": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@dataclass
class BundleContents:
    """Everything a bundle holds, ready to be written by :func:`publish`."""

    article_ids: list[str]
    meta: dict[str, list[Any]]
    arrays: dict[str, np.ndarray]
    vectorizer: Any
    manifest: dict[str, Any] = field(default_factory=dict)


def new_version(now: dt.datetime | None = None, suffix: str = "") -> str:
    """A sortable version name: ``20261127T190500Z`` plus an optional suffix."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{suffix}" if suffix else stamp


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_bundle_dir(
    contents: BundleContents, directory: Path, *, format_version: int = FORMAT_VERSION
) -> dict[str, Any]:
    """Write a bundle's files into ``directory`` (which must exist); returns the manifest.

    ``format_version`` 1 writes the metadata as ``articles.json``, as the previous release
    did (for comparisons and tests of the format-1 reader).
    """
    if format_version not in READABLE_FORMATS:
        raise BundleError(f"no bundle format {format_version!r}")
    arrays_meta: dict[str, dict[str, Any]] = {}
    for name, array in sorted(contents.arrays.items()):
        array = np.ascontiguousarray(array)
        if array.dtype == object:
            raise BundleError(f"array {name!r} has dtype object; bundles hold numbers only")
        with open(directory / f"{name}.npy", "wb") as handle:
            np.save(handle, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        arrays_meta[name] = {"shape": list(array.shape), "dtype": array.dtype.str}
    meta: dict[str, Any] = {"id": list(contents.article_ids)}
    meta.update({key: list(contents.meta[key]) for key in META_FIELDS})
    meta.update(
        {key: list(contents.meta[key]) for key in OPTIONAL_META_FIELDS if key in contents.meta}
    )
    if format_version == 1:
        _write_file(directory / ARTICLES, json.dumps(meta, ensure_ascii=False).encode())
        table = None
    else:
        table = write_table(directory, meta)
    if contents.vectorizer is not None:
        # a plain pickle, which joblib.load reads: joblib.dump pickles in Python, 1-2 s for a
        # vocabulary of 250,000 terms against 0.1 s
        _write_file(directory / VECTORIZER, pickle.dumps(contents.vectorizer, protocol=5))
    manifest = {
        "format_version": format_version,
        **contents.manifest,
        "libraries": library_versions(),
        "n_articles": len(contents.article_ids),
        "arrays": arrays_meta,
        "has_coview": all(name in contents.arrays for name in COVIEW_ARRAYS),
    }
    if table is not None:
        manifest["articles"] = table
    _write_file(directory / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    _fsync_dir(directory)
    return manifest


def publish(
    contents: BundleContents,
    models_dir: str | Path,
    *,
    version: str | None = None,
    keep: int = 5,
    set_latest: bool = True,
    format_version: int = FORMAT_VERSION,
) -> Path:
    """Write a bundle atomically and (by default) make it the one in use.

    The files go to a temporary directory inside ``models_dir``, which is renamed to
    ``models_dir/<version>`` once complete; then ``LATEST`` is replaced with :func:`os.replace`.
    Older bundles beyond the ``keep`` newest are removed (never the one ``LATEST`` names).
    """
    models = Path(models_dir)
    models.mkdir(parents=True, exist_ok=True)
    version = version or new_version()
    final = models / version
    serial = 1
    while final.exists():
        serial += 1
        final = models / f"{version}-{serial}"
    version = final.name
    contents.manifest = {**contents.manifest, "version": version}
    remove_stale_staging(models)
    with _staging_dir(models, version) as staging:
        write_bundle_dir(contents, staging, format_version=format_version)
        os.rename(staging, final)
        _fsync_dir(models)
    if set_latest:
        set_latest_version(models, version)
        prune(models, keep)
    return final


@contextmanager
def _staging_dir(models: Path, version: str) -> Iterator[Path]:
    """A new staging folder, its lock held while the block runs; removed after it (the
    block renames it into place on success)."""
    while True:
        staging = models / f"{_STAGING_PREFIX}{version}-{secrets.token_hex(4)}"
        lock_path = staging.with_name(staging.name + _LOCK_SUFFIX)
        try:
            lock = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        break
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.mkdir(staging, 0o777)  # the umask applies, as to every file of the bundle
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when it was renamed
        os.unlink(lock_path)
        os.close(lock)


def _lock_is_free(lock_path: Path) -> bool:
    """Whether no process holds the lock (a missing lock file counts as free)."""
    try:
        fd = os.open(lock_path, os.O_WRONLY)
    except FileNotFoundError:
        return True
    except PermissionError:  # another user's publish: leave its folder alone
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases the lock, if taken
    return True


def remove_stale_staging(
    models_dir: str | Path, *, max_age: float = STAGING_MAX_AGE, now: float | None = None
) -> list[str]:
    """Remove what killed runs left: staging folders (with their lock files) and ``LATEST``
    temporaries older than ``max_age`` seconds whose lock no running publish holds.

    Returns the names removed. ``now`` defaults to the clock (file ages are clock times).
    """
    models = Path(models_dir)
    if not models.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - max_age
    removed = []
    for path in sorted(models.iterdir()):
        name = path.name
        try:
            old = path.lstat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if not old:
            continue
        if name.startswith(_STAGING_PREFIX) and path.is_dir():
            lock_path = path.with_name(name + _LOCK_SUFFIX)
            if not _lock_is_free(lock_path):
                continue
            shutil.rmtree(path, ignore_errors=True)
            lock_path.unlink(missing_ok=True)
            removed.append(name)
        elif name.startswith(_STAGING_PREFIX) and name.endswith(_LOCK_SUFFIX):
            # a lock left without its folder (killed between the two)
            if not path.with_name(name[: -len(_LOCK_SUFFIX)]).exists() and _lock_is_free(path):
                path.unlink(missing_ok=True)
                removed.append(name)
        elif name.startswith(f".{LATEST}.") and name.endswith(".tmp"):
            path.unlink(missing_ok=True)  # written and renamed within milliseconds
            removed.append(name)
    return removed


def set_latest_version(models_dir: str | Path, version: str) -> None:
    """Point ``LATEST`` at ``version`` atomically."""
    models = Path(models_dir)
    if not (models / version / MANIFEST).is_file():
        raise BundleError(f"no complete bundle {version!r} in {models}")
    tmp = models / f".{LATEST}.{os.getpid()}.tmp"
    _write_file(tmp, f"{version}\n".encode())
    os.replace(tmp, models / LATEST)
    _fsync_dir(models)


def latest_version(models_dir: str | Path) -> str | None:
    """The version ``LATEST`` names, or ``None`` when nothing was published yet."""
    try:
        text = (Path(models_dir) / LATEST).read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def list_versions(models_dir: str | Path) -> list[str]:
    """Complete bundles in ``models_dir``, oldest first."""
    models = Path(models_dir)
    if not models.is_dir():
        return []
    return sorted(
        p.name
        for p in models.iterdir()
        if p.is_dir() and _VERSION_RE.match(p.name) and (p / MANIFEST).is_file()
    )


def prune(models_dir: str | Path, keep: int) -> list[str]:
    """Remove all but the ``keep`` newest bundles (never the one ``LATEST`` names) and stale
    staging folders (:func:`remove_stale_staging`); returns the names removed."""
    models = Path(models_dir)
    current = latest_version(models)
    versions = list_versions(models)
    removed = [v for v in versions[: max(len(versions) - keep, 0)] if v != current]
    for name in removed:
        shutil.rmtree(models / name, ignore_errors=True)
    return removed + remove_stale_staging(models)


def rollback(models_dir: str | Path, version: str) -> None:
    """Make an older bundle the one in use, after checking that it loads."""
    Bundle.load(Path(models_dir) / version)
    set_latest_version(models_dir, version)


class Bundle:
    """A loaded model bundle: article metadata (its article table) and memory-mapped arrays.

    Rows are positions in article id order; use :meth:`row`, :meth:`rows` and
    :meth:`article_id` to cross between them. Nothing here holds a whole metadata column as a
    list: :attr:`categories` and :attr:`authors` read one value per index, and :meth:`meta`
    copies a column out for offline code.
    """

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        table: ArticleTable | ListTable,
        arrays: Mapping[str, np.ndarray],
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.version: str = manifest["version"]
        self.table = table
        #: each row's section, read value by value (the table's, not a copy)
        self.categories: Sequence[str] = table.view("category")
        #: each row's author; ``None``: a bundle written before the column existed
        self.authors: Sequence[str] | None = (
            table.view("author") if table.has_column("author") else None
        )
        self.arrays = dict(arrays)
        self.published_ts: np.ndarray = arrays["published_ts"]
        self.is_published: np.ndarray = table.equals("status", "published")
        self.content_neighbors: np.ndarray = arrays["content_neighbors"]
        self.content_scores: np.ndarray = arrays["content_scores"]
        self.popularity_views: np.ndarray = arrays["popularity_views"]
        self.trending: np.ndarray = arrays["popularity_trending"]
        self.has_coview: bool = bool(manifest.get("has_coview"))
        self.coview_neighbors: np.ndarray | None = arrays.get("coview_neighbors")
        self.coview_scores: np.ndarray | None = arrays.get("coview_scores")
        self.coview_counts: np.ndarray | None = arrays.get("coview_counts")
        self.coview_support: np.ndarray | None = arrays.get("coview_support")
        #: sessions that read each co-view neighbour next; ``None`` without "read next"
        self.coview_next_sessions: np.ndarray | None = arrays.get(NEXT_ARRAY)
        #: words per article (-1 unknown); ``None`` in bundles written before reading times
        self.word_counts: np.ndarray | None = arrays.get(WORDS_ARRAY)
        #: each article's story (:mod:`recommender.stories`); ``None`` in bundles written
        #: before same-story collapsing (every article is then a story of its own)
        self.story_clusters: np.ndarray | None = arrays.get(STORIES_ARRAY)
        self._popular: dict[tuple[str, str | None], np.ndarray] = {}
        self._sections: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, path: str | Path, *, mmap: bool = True) -> Bundle:
        """Load and check a bundle directory.

        Raises
        ------
        BundleError
            When the directory is missing or incomplete, the manifest is of another format
            version or scikit-learn major.minor, or an array is truncated or of the wrong shape.
        """
        path = Path(path)
        try:
            manifest = json.loads((path / MANIFEST).read_text())
        except FileNotFoundError:
            raise BundleError(f"{path}: no {MANIFEST} (not a bundle, or incomplete)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"{path}/{MANIFEST}: not valid JSON ({exc})") from None
        if manifest.get("format_version") not in READABLE_FORMATS:
            raise BundleError(
                f"{path}: bundle format {manifest.get('format_version')!r}, "
                f"this newsrec reads formats {', '.join(map(str, READABLE_FORMATS))}"
            )
        # the installed version from package metadata: importing scikit-learn costs a second
        installed = importlib.metadata.version("scikit-learn")
        built = manifest.get("libraries", {}).get("scikit-learn", "?")
        if _major_minor(built) != _major_minor(installed):
            raise BundleError(
                f"{path}: built with scikit-learn {built}, this installation has "
                f"{installed}; retrain (the vectorizer pickle is not portable)"
            )
        expected = manifest.get("arrays", {})
        missing = [n for n in REQUIRED_ARRAYS if n not in expected]
        if manifest.get("has_coview"):
            missing += [n for n in COVIEW_ARRAYS if n not in expected]
        if missing:
            raise BundleError(f"{path}: manifest lists no array {', '.join(missing)}")
        arrays: dict[str, np.ndarray] = {}
        for name, spec in expected.items():
            file = path / f"{name}.npy"
            try:
                array = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
            except FileNotFoundError:
                raise BundleError(f"{path}: array file {file.name} is missing") from None
            except (ValueError, OSError) as exc:
                raise BundleError(f"{path}: array file {file.name} is unreadable ({exc})") from None
            if list(array.shape) != spec["shape"] or array.dtype.str != spec["dtype"]:
                raise BundleError(
                    f"{path}: {file.name} is {array.dtype.str}{list(array.shape)}, "
                    f"manifest says {spec['dtype']}{spec['shape']} (truncated?)"
                )
            # a plain ndarray over the mapped pages: numpy's memmap subclass costs on every index
            arrays[name] = np.asarray(array)
        n = manifest.get("n_articles")
        table = _load_table(path, manifest, mmap=mmap)
        for name in ("published_ts", "content_neighbors", "popularity_views"):
            if arrays[name].shape[0] != n:
                raise BundleError(f"{path}: {name} has {arrays[name].shape[0]} rows, not {n}")
        if WORDS_ARRAY in arrays and arrays[WORDS_ARRAY].shape != (n,):
            raise BundleError(f"{path}: {WORDS_ARRAY} is not one count per article")
        stories = arrays.get(STORIES_ARRAY)
        if stories is not None and (
            stories.shape != (n,) or (n and (int(stories.min()) < 0 or int(stories.max()) >= n))
        ):
            raise BundleError(f"{path}: {STORIES_ARRAY} is not one story row per article")
        following = arrays.get(NEXT_ARRAY)
        listed = arrays.get("coview_neighbors")
        if following is not None and (listed is None or following.shape != listed.shape):
            raise BundleError(f"{path}: {NEXT_ARRAY} is not one count per co-view neighbour")
        return cls(path, manifest, table, arrays)

    @classmethod
    def in_memory(cls, contents: BundleContents, version: str = "in-memory") -> Bundle:
        """A bundle of ``contents`` as :meth:`load` would read it back, without writing it
        (a self-calibration's model at its split: served only to a replay)."""
        manifest = {
            **contents.manifest,
            "version": version,
            "n_articles": len(contents.article_ids),
            "has_coview": all(name in contents.arrays for name in COVIEW_ARRAYS),
        }
        meta = {"id": list(contents.article_ids)}
        meta.update({key: list(contents.meta[key]) for key in META_FIELDS})
        bundle = cls(Path(f"<{version}>"), manifest, ListTable(meta), contents.arrays)
        if contents.vectorizer is not None:
            bundle.__dict__["vectorizer"] = contents.vectorizer  # fills the cached property
        return bundle

    @classmethod
    def load_latest(cls, models_dir: str | Path, *, mmap: bool = True) -> Bundle:
        """Load the bundle ``models_dir/LATEST`` names."""
        version = latest_version(models_dir)
        if version is None:
            raise BundleError(f"{models_dir}: no {LATEST} file (train a model first)")
        return cls.load(Path(models_dir) / version, mmap=mmap)

    def __len__(self) -> int:
        return len(self.table)

    def row(self, article_id: str) -> int:
        """The row of an article id; raises :class:`UnknownArticleError`."""
        row = self.table.row(article_id)
        if row < 0:
            raise UnknownArticleError(article_id)
        return row

    def rows(self, article_ids: Sequence[str]) -> np.ndarray:
        """The rows of many article ids (int64, -1 for an unknown one)."""
        return self.table.rows(article_ids)

    def has(self, article_id: str) -> bool:
        return self.table.row(article_id) >= 0

    def id_positions(self, article_ids: Sequence[str]) -> np.ndarray:
        """For each id, how many of the bundle's article ids sort before it (int64): where
        ids the bundle does not hold fall in its id order."""
        return self.table.positions(article_ids)

    def article_id(self, row: int) -> str:
        """The article id of a row."""
        return str(self.table.value("id", row))

    def status(self, row: int) -> str:
        """The publication status of a row (``published``, ``draft``, ...)."""
        return str(self.table.value("status", row))

    def meta(self, column: str) -> list[Any]:
        """A whole metadata column as a list, in row order (offline code: training,
        evaluation; the serving path reads values one by one). ``id`` is the article ids.

        Raises
        ------
        BundleError
            When the bundle has no such column (an optional one it predates).
        """
        if not self.table.has_column(column):
            raise BundleError(f"{self.path}: no article column {column!r}")
        return self.table.column(column)

    def has_meta(self, column: str) -> bool:
        """Whether the bundle has a metadata column (optional ones are newer)."""
        return self.table.has_column(column)

    def in_category(self, category: str) -> np.ndarray:
        """Boolean mask of the rows of one section (cached; do not modify)."""
        mask = self._sections.get(category)
        if mask is None:
            mask = self._sections[category] = self.table.equals("category", category)
        return mask

    def known_categories(self) -> frozenset[str]:
        """The sections of the bundle's articles (``""`` for uncategorised ones)."""
        return self.table.distinct("category")

    def article(self, row: int) -> dict[str, Any]:
        """The API metadata of one row (``image_srcset`` only when the article has one)."""
        value = self.table.value
        item = {
            "id": value("id", row),
            "title": value("title", row),
            "url": value("url", row),
            "category": value("category", row),
            "published_at": value("published_at", row),
            "image_url": value("image_url", row),
        }
        if self.table.has_column("image_srcset"):
            srcset = value("image_srcset", row)
            if srcset:
                item["image_srcset"] = srcset
        return item

    def author(self, row: int) -> str:
        """The author of one row, ``""`` when unknown (or the bundle predates the column)."""
        return str(self.authors[row] or "") if self.authors is not None else ""

    def words(self, row: int) -> int | None:
        """The words of one row's text, ``None`` when unknown (older bundles)."""
        if self.word_counts is None:
            return None
        count = int(self.word_counts[row])
        return count if count >= 0 else None

    @cached_property
    def content_matrix(self) -> sp.csr_matrix:
        """The L2-normalised TF-IDF matrix the content neighbours came from."""
        a = self.arrays
        n_features = int(self.manifest["counts"]["vocabulary"])
        return sp.csr_matrix(
            (a["content_matrix_data"], a["content_matrix_indices"], a["content_matrix_indptr"]),
            shape=(len(self), n_features),
        )

    @cached_property
    def similarity(self) -> RowSimilarity:
        """Content cosine between any two rows (see :mod:`recommender.similarity`)."""
        return RowSimilarity(self.content_matrix)

    @cached_property
    def vectorizer(self) -> Any:
        """The fitted TF-IDF vectorizer: a pickle this project wrote (plain since 2026-12, joblib
        before; joblib.load reads both)."""
        import joblib

        file = self.path / VECTORIZER
        if not file.is_file():
            raise BundleError(f"{self.path}: {VECTORIZER} is missing")
        return joblib.load(file)

    def popular_rows(self, window: str = "7d", category: str | None = None) -> np.ndarray:
        """Published rows by views in ``window`` (``1d``, ``7d``, ``30d``, ``all``), most
        viewed first, ties by ``article_id``; optionally one section. Cached per argument."""
        key = (window, category)
        cached = self._popular.get(key)
        if cached is None:
            mask = self.is_published
            if category is not None:
                mask = mask & self.in_category(category)
            cached = rank(self.popularity_views[:, WINDOWS.index(window)], mask)
            self._popular[key] = cached
        return cached


def _load_table(path: Path, manifest: Mapping[str, Any], *, mmap: bool) -> ArticleTable | ListTable:
    """A bundle's article table: memory-mapped columns (format 2) or ``articles.json``
    parsed into lists (format 1); checked to hold ``n_articles`` rows in every column."""
    n = manifest.get("n_articles")
    if manifest.get("format_version") == 1:
        meta = read_json_columns(path / ARTICLES)
        if any(len(meta.get(key, ())) != n for key in ("id", *META_FIELDS)) or any(
            len(meta[key]) != n for key in OPTIONAL_META_FIELDS if key in meta
        ):
            raise BundleError(f"{path}: {ARTICLES} does not hold {n} articles in every column")
        return ListTable(meta)
    spec = manifest.get("articles")
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise BundleError(f"{path}: the manifest describes no article table")
    missing = [key for key in ("id", *META_FIELDS) if key not in spec["columns"]]
    if missing or spec.get("n") != n:
        raise BundleError(
            f"{path}: the article table lacks {', '.join(missing) or 'nothing'} and holds "
            f"{spec.get('n')!r} articles, manifest says {n}"
        )
    return ArticleTable(path, spec, mmap=mmap)
