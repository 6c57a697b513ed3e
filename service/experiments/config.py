"""Experiments: what one is, how a file or an API body defines it, and who sees which variant.

An experiment splits the readers of one list kind, its ``surface`` (``related`` by default,
``most-viewed`` or ``latest``), between variants::

    {"name": "popularity", "start": "2026-12-01T00:00:00Z", "end": "2026-12-15T00:00:00Z",
     "variants": [{"name": "control", "weight": 50},
                  {"name": "more-popular", "weight": 50, "blend": {"popularity_weight": 1.0}},
                  {"name": "holdout", "weight": 10, "holdout": true}]}

A variant of a ``related`` experiment changes the ``strategy`` (``hybrid``, ``content``,
``coview``), any blend setting (:data:`recommender.config.BLEND_BOUNDS`) or the ``model``
version serving it (a bundle of the models directory); one of ``most-viewed`` the ``window``
and ``published_within_days``; one of ``latest`` the ``category`` and ``max_age_days``. Any
variant may be a holdout instead (no recommendations: the block stays empty, to measure what
it adds to pages per session). The first variant is the control.

Assignment is stable per session and independent between experiments: the variant is read off
``sha256(experiment name, keyed session hash)`` against the cumulative weights, so the same
reader gets the same variant on every page of a visit and in every worker and host, and being
in variant B of one experiment says nothing about another.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.blend import STRATEGIES
from recommender.config import check_blend_settings
from recommender.errors import SettingError
from service.params import MAX_CATEGORY_LENGTH, MAX_DAYS, MOST_VIEWED_WINDOWS

CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_VARIANTS = 10
#: The list kinds; lists outside an experiment are tallied under experiment ``""`` with the
#: kind (and the related strategy) as variant: CTR per strategy without any experiment.
SURFACES = ("related", "most-viewed", "latest")
EXPERIMENT_FIELDS = ("name", "surface", "variants", "start", "end", "description")
#: What a variant may change, per surface (besides ``name``, ``weight`` and ``holdout``).
SURFACE_FIELDS = {
    "related": ("strategy", "blend", "model"),
    "most-viewed": ("window", "published_within_days"),
    "latest": ("category", "max_age_days"),
}
VARIANT_FIELDS = ("name", "weight", "holdout", *(f for v in SURFACE_FIELDS.values() for f in v))
#: A model version: a bundle directory's name under the models directory.
MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}")


class ExperimentError(ValueError):
    """An experiment definition that cannot be used (the message says which field)."""


@dataclass(frozen=True)
class Variant:
    """One arm: what it changes in its surface's lists (``None``: the request's or the
    site's), or a holdout."""

    name: str
    weight: float = 1.0
    strategy: str | None = None
    blend: Mapping[str, Any] = field(default_factory=dict)
    holdout: bool = False
    #: the model version serving a related variant (None: the one in service, LATEST)
    model: str | None = None
    #: most-viewed: the window and the age limit of the articles
    window: str | None = None
    published_within_days: float | None = None
    #: latest: the section and the age limit
    category: str | None = None
    max_age_days: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The definition, as the API shows it."""
        out: dict[str, Any] = {"name": self.name, "weight": self.weight}
        if self.blend:
            out["blend"] = dict(self.blend)
        if self.holdout:
            out["holdout"] = True
        for name in ("strategy", "model", "window", "published_within_days", "category"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.max_age_days is not None:
            out["max_age_days"] = self.max_age_days
        return out


@dataclass(frozen=True)
class Experiment:
    """A named split of one surface's readers between variants, from start to end."""

    name: str
    variants: tuple[Variant, ...]
    start: float
    end: float | None = None
    description: str = ""
    surface: str = "related"

    def active(self, now: float) -> bool:
        """Whether readers are assigned at ``now``."""
        return self.start <= now and (self.end is None or now < self.end)

    @property
    def control(self) -> Variant:
        """The first variant."""
        return self.variants[0]

    def assign(self, session_hash: str) -> Variant:
        """The variant of a session (its keyed hash): stable, independent between
        experiments."""
        digest = hashlib.sha256(f"{self.name}\0{session_hash}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * sum(v.weight for v in self.variants)
        for variant in self.variants:
            point -= variant.weight
            if point < 0:
                return variant
        return self.variants[-1]

    def models(self) -> set[str]:
        """The model versions its variants name."""
        return {v.model for v in self.variants if v.model is not None}

    def as_json(self) -> dict[str, Any]:
        """The definition, as the API shows it."""
        return {
            "name": self.name,
            "surface": self.surface,
            "description": self.description,
            "start": iso(self.start),
            "end": None if self.end is None else iso(self.end),
            "variants": [v.as_json() for v in self.variants],
        }


def iso(seconds: float) -> str:
    """ISO 8601 in UTC, to the second."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=256)  # the same few pairs on every uncached answer
def variant_code(experiment: str, variant: str) -> str:
    """Six hex digits naming (experiment, variant) inside a list id."""
    return hashlib.sha256(f"{experiment}\0{variant}".encode()).hexdigest()[:6]


def list_id(experiment: str, variant: str, list_key: str) -> str:
    """The opaque id of a list: 16 hex digits, the variant's code and the list's own
    (its route and query, not the model version: the same list keeps its id all day, so a
    reader seeing it twice within the dedup window is one impression)."""
    return variant_code(experiment, variant) + hashlib.sha256(list_key.encode()).hexdigest()[:10]


def _time(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ExperimentError(f"{name} must be ISO 8601 or unix seconds") from None
    else:
        raise ExperimentError(f"{name} must be ISO 8601 or unix seconds")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _days(raw: Mapping[str, Any], name: str, where: str) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_DAYS
        or value != value
    ):
        raise ExperimentError(f"{where}.{name} must be a number of days above 0, at most 36500")
    return float(value)


def _surface_settings(raw: Mapping[str, Any], surface: str, where: str) -> dict[str, Any]:
    """What a variant changes in its surface's lists, checked (holdout, name and weight
    aside)."""
    allowed = SURFACE_FIELDS[surface]
    for name in VARIANT_FIELDS:
        if name in raw and name not in ("name", "weight", "holdout") and name not in allowed:
            raise ExperimentError(
                f"{where}.{name}: a variant of a {surface} experiment sets only "
                f"{', '.join(allowed)} (or holdout)"
            )
    out: dict[str, Any] = {}
    if surface == "related":
        strategy = raw.get("strategy")
        if strategy is not None and strategy not in STRATEGIES:
            raise ExperimentError(f"{where}.strategy must be one of {', '.join(STRATEGIES)}")
        blend = raw.get("blend", {})
        if not isinstance(blend, Mapping):
            raise ExperimentError(f"{where}.blend must be an object of blend settings")
        try:
            checked = check_blend_settings(blend)
        except SettingError as exc:
            raise ExperimentError(f"{where}.blend.{exc.setting}: {exc.reason}") from None
        model = raw.get("model")
        if model is not None and (not isinstance(model, str) or not MODEL_RE.fullmatch(model)):
            raise ExperimentError(f"{where}.model must be a model version (see newsrec models)")
        out.update(strategy=strategy, blend=checked, model=model)
    elif surface == "most-viewed":
        window = raw.get("window")
        if window is not None and window not in MOST_VIEWED_WINDOWS:
            raise ExperimentError(f"{where}.window must be one of {', '.join(MOST_VIEWED_WINDOWS)}")
        out.update(
            window=window,
            published_within_days=_days(raw, "published_within_days", where),
        )
    else:
        category = raw.get("category")
        if category is not None and (
            not isinstance(category, str)
            or not 1 <= len(category) <= MAX_CATEGORY_LENGTH
            or CONTROL_RE.search(category)
        ):
            raise ExperimentError(
                f"{where}.category must be a section name of 1 to {MAX_CATEGORY_LENGTH} characters"
            )
        out.update(category=category, max_age_days=_days(raw, "max_age_days", where))
    return out


def _variant(raw: Any, index: int, surface: str) -> Variant:
    where = f"variants[{index}]"
    if not isinstance(raw, Mapping):
        raise ExperimentError(f"{where} must be an object")
    unknown = [k for k in raw if k not in VARIANT_FIELDS]
    if unknown:
        raise ExperimentError(f"{where}: unknown field {str(unknown[0])[:40]!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ExperimentError(f"{where}.name must be 1 to 64 letters, digits, '.', '_' or '-'")
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1e6:
        raise ExperimentError(f"{where}.weight must be a number above 0")
    settings = _surface_settings(raw, surface, where)
    holdout = raw.get("holdout", False)
    if not isinstance(holdout, bool):
        raise ExperimentError(f"{where}.holdout must be true or false")
    if holdout and any(v for v in settings.values()):
        raise ExperimentError(f"{where}: a holdout changes nothing else (it shows no list)")
    return Variant(name, float(weight), holdout=holdout, **settings)


def parse_experiment(raw: Any, *, now: float) -> Experiment:
    """An experiment from its JSON/TOML form; raises :class:`ExperimentError`."""
    if not isinstance(raw, Mapping):
        raise ExperimentError("an experiment must be an object")
    unknown = [k for k in raw if k not in EXPERIMENT_FIELDS]
    if unknown:
        raise ExperimentError(
            f"unknown field {str(unknown[0])[:40]!r}; accepted: {', '.join(EXPERIMENT_FIELDS)}"
        )
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ExperimentError("name must be 1 to 64 letters, digits, '.', '_' or '-'")
    surface = raw.get("surface", "related")
    if surface not in SURFACES:
        raise ExperimentError(f"surface must be one of {', '.join(SURFACES)}")
    variants = raw.get("variants")
    if not isinstance(variants, Sequence) or isinstance(variants, str):
        raise ExperimentError("variants must be a list")
    if not 2 <= len(variants) <= MAX_VARIANTS:
        raise ExperimentError(f"an experiment has 2 to {MAX_VARIANTS} variants")
    parsed = tuple(_variant(v, i, surface) for i, v in enumerate(variants))
    if len({v.name for v in parsed}) != len(parsed):
        raise ExperimentError("variant names must differ")
    start = _time(raw.get("start"), "start")
    end = _time(raw.get("end"), "end")
    start = now if start is None else start
    if end is not None and end <= start:
        raise ExperimentError("end must be after start")
    description = raw.get("description", "")
    if not isinstance(description, str) or len(description) > 500:
        raise ExperimentError("description must be text of at most 500 characters")
    return Experiment(name, parsed, start, end, description, surface)


def read_experiments(path: str | Path, *, now: float) -> list[Experiment]:
    """The experiments of a file: TOML (``[[experiments]]`` tables with ``[[experiments.
    variants]]``) or JSON (``{"experiments": [...]}``), by its suffix.

    Raises
    ------
    ExperimentError
        The file cannot be read or holds a bad definition (the message names both).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ExperimentError(f"{path}: {exc}") from None
    items = data.get("experiments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ExperimentError(f"{path}: expected a list 'experiments'")
    out: list[Experiment] = []
    for index, item in enumerate(items):
        try:
            out.append(parse_experiment(item, now=now))
        except ExperimentError as exc:
            raise ExperimentError(f"{path}: experiments[{index}]: {exc}") from None
    check_no_overlap(out)
    return out


def check_no_overlap(experiments: Sequence[Experiment]) -> None:
    """Refuse two experiments of one name, or two of one surface running at the same time (a
    list can follow one experiment's variant only; experiments of different surfaces may
    run together, their assignments are independent)."""
    names = [e.name for e in experiments]
    for name in names:
        if names.count(name) > 1:
            raise ExperimentError(f"two experiments are named {name!r}")
    for surface in SURFACES:
        ordered = sorted((e for e in experiments if e.surface == surface), key=lambda e: e.start)
        for first, second in itertools.pairwise(ordered):
            if first.end is None or second.start < first.end:
                raise ExperimentError(
                    f"experiments {first.name!r} and {second.name!r} of {surface} overlap in "
                    "time; end one before the next starts"
                )
