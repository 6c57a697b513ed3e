"""Settings of a training run and of the ranking, and THE one place the blend settings'
bounds live.

``newsrec train``, ``evaluate`` and ``tune`` read a TOML file whose ``[train]`` table sets
:class:`TrainConfig` and whose ``[blend]`` table sets
:class:`~recommender.blend.BlendParams` (``newsrec tune`` writes one). The service reads the
same blend settings from ``NEWSREC_*`` variables, and the preview lets an editor move some of
them with sliders. Every one of those paths checks a value here:

* :func:`check_blend_value` checks one named value (an environment variable, a slider, each
  field of a :class:`~recommender.blend.BlendParams` as it is made);
* :func:`parse_blend_value` does the same for text (``"3"``, ``"off"``);
* :func:`check_blend_settings` checks a whole mapping of settings (a ``[blend]`` table, the
  service's settings, a tuner's or calibrator's candidate): every value, no unknown name, and
  the rule a served configuration needs besides the bounds (``content_weight`` above 0: an
  article without co-view evidence, every new article, is ranked by content alone).

The bounds are :data:`BLEND_BOUNDS`. A value out of bounds raises
:class:`~recommender.errors.SettingError` naming the setting and the bound.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from recommender.errors import DataError, SettingError

__all__ = [
    "BLEND_BOUNDS",
    "BlendBound",
    "RunConfig",
    "TrainConfig",
    "blend_settings_from_table",
    "check_blend_settings",
    "check_blend_value",
    "parse_blend_value",
    "read_config",
    "read_toml_table",
]


# --- the [train] table --------------------------------------------------------------------------


#: The largest ``coview_next_weight``: "read next" at ten times "read together".
MAX_NEXT_WEIGHT = 10.0


@dataclass(frozen=True)
class TrainConfig:
    """Every parameter of a training run; ``[train]`` in ``newsrec.toml`` sets any of them."""

    n_neighbors: int = 50
    title_weight: int = 3
    min_df: int | float = 2
    max_df: int | float = 0.5
    max_features: int | None = None
    stop_words: str | None = "english"
    author_weight: int = 0
    coview_normalization: str = "cosine"
    coview_min_count: int = 2
    bot_views_per_minute: float | None = 10.0
    bot_burst_views: int | None = 20
    coview_half_life_days: float | None = None
    coview_next_weight: float = 0.0
    coview_next_window: int = 2
    session_gap_minutes: float = 30
    trending_min_views: int = 5
    trending_baseline_days: float = 7
    chunk_size: int = 2048
    n_threads: int = 2
    keep: int = 5
    max_invalid: int = 0

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> TrainConfig:
        """Read the ``[train]`` table of a TOML file; unknown keys are an error.

        Parameters
        ----------
        path : path
            A TOML file (defaults when it has no ``[train]`` table).
        **overrides
            Values that win over the file's; ``None`` values are ignored.

        Raises
        ------
        DataError
            The file is missing or not TOML, or ``[train]`` has an unknown key.
        """
        table = read_toml_table(path, "train")
        for name, replacement in REMOVED_TRAIN_SETTINGS.items():
            if name in table:
                raise DataError(str(path), None, name, f"removed: {replacement}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise DataError(str(path), None, unknown[0], "unknown setting in [train]")
        # TOML has no null: "off" turns off a setting that can be off
        for name in _TRAIN_OFF & set(table):
            value = table[name]
            if isinstance(value, str) and value.strip().lower() in _OFF_WORDS:
                table[name] = None
        stop = table.get("stop_words")
        if isinstance(stop, str) and stop not in ("", "english") and not Path(stop).is_absolute():
            # a file of stop words named beside the configuration file
            beside = Path(path).parent / stop
            if beside.is_file():
                table["stop_words"] = str(beside)
        try:
            return cls(**{**table, **{k: v for k, v in overrides.items() if v is not None}})
        except DataError as exc:
            raise DataError(str(path), None, exc.field, exc.message) from None
        except TypeError as exc:  # a value of the wrong type for a setting's arithmetic
            raise DataError(str(path), None, None, f"a [train] value is wrong: {exc}") from None

    def __post_init__(self) -> None:
        stop = self.stop_words
        if stop is not None and (
            not isinstance(stop, str) or (stop != "english" and not Path(stop).is_file())
        ):
            raise DataError(
                "[train]",
                None,
                "stop_words",
                f"must be english, none, or the path of a file of words (one a line), got {stop!r}",
            )
        author = self.author_weight
        if isinstance(author, bool) or not isinstance(author, int) or not 0 <= author <= 20:
            raise DataError("[train]", None, "author_weight", "must be an integer from 0 to 20")
        rate, burst = self.bot_views_per_minute, self.bot_burst_views
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0
        ):
            raise DataError(
                "[train]", None, "bot_views_per_minute", "must be a number above 0, or off"
            )
        if burst is not None and (
            isinstance(burst, bool) or not isinstance(burst, int) or burst < 1
        ):
            raise DataError("[train]", None, "bot_burst_views", "must be an integer >= 1, or off")
        weight = self.coview_next_weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not 0 <= weight <= MAX_NEXT_WEIGHT
        ):
            raise DataError(
                "[train]",
                None,
                "coview_next_weight",
                f"must be a number from 0 (off) to {MAX_NEXT_WEIGHT:g}",
            )
        window = self.coview_next_window
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 20:
            raise DataError(
                "[train]", None, "coview_next_window", "must be an integer from 1 to 20"
            )

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied."""
        return TrainConfig(**{**asdict(self), **changes})


@dataclass(frozen=True)
class RunConfig:
    """Everything a ``--config`` file sets: its ``[train]`` table as a :class:`TrainConfig`, its
    ``[blend]`` table checked (:func:`blend_settings_from_table`), and which names it set.

    ``newsrec tune --out`` writes such a file and ``newsrec train --config`` reads all of it:
    the bundle is trained with ``train`` and records ``blend`` as the settings it serves with.
    A name the file sets is fixed: self-calibration leaves it alone.
    """

    train: TrainConfig
    blend: Mapping[str, Any]
    train_names: frozenset[str] = frozenset()

    @property
    def fixed(self) -> frozenset[str]:
        """The settings the file sets, ``[train]`` and ``[blend]`` names together."""
        return self.train_names | frozenset(self.blend)


def read_config(path: str | Path | None, **overrides: Any) -> RunConfig:
    """Read a whole configuration file (``None``: the defaults).

    Parameters
    ----------
    path : path or None
    **overrides
        :class:`TrainConfig` values that win over the file's (``None`` values are ignored).

    Raises
    ------
    DataError
        As :meth:`TrainConfig.from_toml` and :func:`blend_settings_from_table`.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if path is None:
        return RunConfig(TrainConfig(**given), {})
    names = frozenset(read_toml_table(path, "train"))
    blend = blend_settings_from_table(read_toml_table(path, "blend"), path)
    return RunConfig(TrainConfig.from_toml(path, **given), blend, names)


#: ``[train]`` settings that can be off (``None``), written ``"off"`` in TOML.
_TRAIN_OFF = frozenset(
    {
        "max_features",
        "stop_words",
        "coview_half_life_days",
        "bot_views_per_minute",
        "bot_burst_views",
    }
)
#: ``[train]`` settings that no longer exist, and what replaced them (a file that still sets
#: one is refused with this text, never silently ignored).
REMOVED_TRAIN_SETTINGS = {
    "max_session_views": (
        "crawler sessions are found by their pace, not their length; set "
        "bot_views_per_minute (10) and bot_burst_views (20) instead"
    ),
}


def read_toml_table(path: str | Path, name: str) -> dict[str, Any]:
    """The table ``name`` of a TOML file (empty when the file has none).

    Raises
    ------
    DataError
        The file is missing, is not TOML, or ``name`` is not a table.
    """
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise DataError(str(path), None, None, "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(str(path), None, None, f"not valid TOML: {exc}") from None
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise DataError(str(path), None, name, "must be a table")
    return table


# --- the blend settings' bounds -------------------------------------------------------------------


@dataclass(frozen=True)
class BlendBound:
    """The values one blend setting accepts.

    Attributes
    ----------
    low : float
        Smallest value.
    low_open : bool
        The value must be above ``low``, not equal to it.
    high : float or None
        Largest value (``None``: no upper bound).
    integer : bool
        Whole numbers only.
    off : bool
        ``None`` (written ``off``) turns the setting off.
    slider_high : float or None
        Top of the preview's slider: an editor may try values up to it (a what-if, so the
        preview asks ``check_blend_value(..., slider=True)``).
    """

    low: float
    low_open: bool = False
    high: float | None = None
    integer: bool = False
    off: bool = False
    slider_high: float | None = None

    def describe(self, *, slider: bool = False) -> str:
        """The bound in words, e.g. ``"a number from 0 to 10"``."""
        high = self.slider_high if slider and self.slider_high is not None else self.high
        kind = "an integer" if self.integer else "a number"
        if self.low_open:
            text = f"{kind} above {self.low:g}"
            text += "" if high is None else f" and at most {high:g}"
        elif high is None:
            text = f"{kind} >= {self.low:g}"
        else:
            text = f"{kind} from {self.low:g} to {high:g}"
        return f"{text}, or off" if self.off else text


#: Bounds of every blend setting (the fields of :class:`~recommender.blend.BlendParams`);
#: ``section_half_life_days`` is the bound of one section's half-life.
BLEND_BOUNDS: Mapping[str, BlendBound] = {
    "content_weight": BlendBound(0.0, slider_high=10.0),
    "coview_weight": BlendBound(0.0, slider_high=10.0),
    # the co-view weight is coview_weight * s / (s + coview_evidence): 0 would divide 0 by 0
    "coview_evidence": BlendBound(0.0, low_open=True),
    "half_life_days": BlendBound(0.0, low_open=True, off=True, slider_high=3650.0),
    # the freshness factor is (1 - w) + w * decay: at most 0.9 keeps a floor of 0.1, so
    # freshness re-orders relevant candidates and never erases them
    "freshness_weight": BlendBound(0.0, high=0.9, slider_high=0.9),
    "section_half_life_days": BlendBound(0.0, low_open=True),
    "popularity_weight": BlendBound(0.0, slider_high=2.0),
    "popular_candidates": BlendBound(0, high=100_000, integer=True),
    "popular_min_similarity": BlendBound(0.0),
    "section_weight": BlendBound(0.0, slider_high=2.0),
}
_OFF_WORDS = ("off", "none")


def _bound(name: str) -> BlendBound:
    bound = BLEND_BOUNDS.get(name)
    if bound is None:
        raise SettingError(name, name, f"one of the blend settings {', '.join(BLEND_BOUNDS)}")
    return bound


def check_blend_value(name: str, value: object, *, slider: bool = False) -> float | int | None:
    """Check one blend setting's value against its bound.

    Parameters
    ----------
    name : str
        A key of :data:`BLEND_BOUNDS` (``section_half_life_days``: one section's half-life).
    value : object
        A number; for a setting that can be off, ``None``, ``False`` or ``"off"`` too.
    slider : bool, default False
        Also refuse values above the preview slider's top (``slider_high``).

    Returns
    -------
    float, int or None
        The value as the setting holds it (``int`` for whole-number settings, ``None``: off).

    Raises
    ------
    SettingError
        Unknown setting, not a number, not finite, or out of bounds; the message names the
        setting and the bound.

    Examples
    --------
    >>> check_blend_value("half_life_days", "off") is None
    True
    >>> check_blend_value("coview_evidence", 0)
    Traceback (most recent call last):
    ...
    recommender.errors.SettingError: coview_evidence must be a number above 0, got 0
    """
    bound = _bound(name)
    expected = bound.describe(slider=slider)
    if bound.off and (
        value is None
        or value is False
        or (isinstance(value, str) and value.strip().lower() in _OFF_WORDS)
    ):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingError(name, value, expected)
    number = float(value)
    high = bound.slider_high if slider and bound.slider_high is not None else bound.high
    if (
        not math.isfinite(number)
        or number < bound.low
        or (bound.low_open and number == bound.low)
        or (high is not None and number > high)
        or (bound.integer and number != int(number))
    ):
        raise SettingError(name, value, expected)
    return int(number) if bound.integer else number


def parse_blend_value(name: str, text: str, *, slider: bool = False) -> float | int | None:
    """:func:`check_blend_value` of a value written as text (an environment variable, a query
    parameter): ``"2.5"``, ``"300"``, ``"off"``/``"none"`` (any case) for off.

    Raises
    ------
    SettingError
        As :func:`check_blend_value`; text that is not a number is not one.
    """
    stripped = text.strip()
    if stripped.lower() in _OFF_WORDS:
        return check_blend_value(name, None, slider=slider)
    try:
        number = float(stripped)
    except ValueError:
        raise SettingError(name, text, _bound(name).describe(slider=slider)) from None
    return check_blend_value(name, number, slider=slider)


def check_blend_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check a mapping of blend settings as a whole: what a served configuration may hold.

    Parameters
    ----------
    values : mapping of str to object
        Any of the fields of :class:`~recommender.blend.BlendParams`, by name;
        ``section_half_life_days`` is a mapping of section to days.

    Returns
    -------
    dict
        The checked values (numbers as the settings hold them, ``None`` for off), ready for
        ``BlendParams(**values)``.

    Raises
    ------
    SettingError
        An unknown name, a value out of bounds (:func:`check_blend_value`), or
        ``content_weight`` of 0: an article without co-view evidence (every new article) is
        ranked by its content score alone, so with no content weight nothing would rank it.
    """
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name not in BLEND_BOUNDS:
            raise SettingError(name, name, f"one of the blend settings {', '.join(BLEND_BOUNDS)}")
        if name == "section_half_life_days":
            if not isinstance(value, Mapping):
                raise SettingError(name, value, "a table of section = days")
            checked[name] = {
                str(section): check_blend_value(name, days) for section, days in value.items()
            }
        else:
            checked[name] = check_blend_value(name, value)
    if checked.get("content_weight", 1.0) == 0:
        raise SettingError(
            "content_weight",
            0,
            "a number above 0 (an article without co-view evidence is ranked by content alone)",
        )
    return checked


def blend_settings_from_table(
    table: Mapping[str, Any], path: str | Path = "<blend>"
) -> dict[str, Any]:
    """:func:`check_blend_settings` of a ``[blend]`` table, errors as :class:`DataError`.

    ``half_life_days = "off"`` (or ``false``) turns freshness off; unknown keys are an error.

    Raises
    ------
    DataError
        Naming ``path`` and, as its field, the setting.
    """
    try:
        return check_blend_settings(table)
    except SettingError as exc:
        field = exc.setting
        if field not in BLEND_BOUNDS:
            raise DataError(str(path), None, field, "unknown setting in [blend]") from None
        raise DataError(str(path), None, field, exc.reason) from None
