"""The service's settings: one frozen object read from an explicit list of ``NEWSREC_*`` variables.

Every variable is listed in :data:`Settings.ENV_VARS` (:mod:`service.variables`) with its
default and a one-line description; :func:`settings_markdown` turns that list into the
configuration table of the documentation, and a test checks that every field is documented. A
bad value fails start-up with a :class:`SettingsError` that names the variable.

The blend settings a bundle was trained, calibrated or tuned with are in its manifest
(``blend``), and the service serves them: :func:`served_blend` takes each blend setting from a
``NEWSREC_*`` variable set explicitly, else from the bundle, else the default, and says which.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from recommender.blend import BlendParams
from recommender.config import BLEND_BOUNDS, check_blend_settings
from recommender.errors import BundleError, DataError, SettingError
from service.variables import ENV_VARS, PREFIX, EnvVar


class SettingsError(ValueError):
    """A ``NEWSREC_*`` variable has a value the service cannot use."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        self.variable = variable
        self.value = value
        self.expected = expected
        super().__init__(f"{variable}={value!r}: {expected}")


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with (see :data:`ENV_VARS`)."""

    ENV_VARS: ClassVar[tuple[EnvVar, ...]] = ENV_VARS

    models_dir: Path = Path("models")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = None
    events_port: int | None = None
    events_workers: int = 2
    events_nice: int = 10
    threads: int = 1
    redis_url: str | None = None
    redis_timeout_ms: int = 50
    cache_ttl: int = 300
    local_cache_size: int = 10_000
    reload_interval: float = 5.0
    admin_token: str | None = None
    max_n: int = 50
    default_n: int = 6
    content_weight: float = 1.0
    coview_weight: float = 1.5
    coview_evidence: float = 10.0
    popularity_weight: float = 0.5
    popular_candidates: int = 300
    popular_min_similarity: float = 0.25
    section_weight: float = 0.0
    half_life_days: float | None = 3.0
    freshness_weight: float = 0.75
    section_half_lives: tuple[tuple[str, float], ...] = ()
    fallback_window: str = "7d"
    max_per_section: int | None = None
    max_per_author: int | None = None
    words_per_minute: int = 230
    per_story: int = 1
    now_from_clock: bool = False
    demo: bool = False
    log_level: str = "INFO"
    cors_origins: tuple[str, ...] = ()
    rules_db: Path = Path("data/rules.sqlite3")
    rules_url: str | None = field(default=None, repr=False)
    rules_token: str | None = field(default=None, repr=False)
    editor_user: str | None = None
    editor_password_hash: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    secure_cookies: bool = True
    live_redis_url: str | None = None
    state_dir: Path | None = None
    experiments: Path | None = None
    live_refresh_seconds: float = 5.0
    live_flush_seconds: float = 1.0
    events_max_batch: int = 500
    dedup_minutes: float = 30.0
    session_key: str | None = field(default=None, repr=False)
    excluded_ips: tuple[str, ...] = ()
    trust_proxy: int = 0
    staff_header: str | None = None
    staff_cookie: str | None = None
    trending_min_views: int = 5
    event_log_dir: Path | None = Path("data/events")
    cms_token: str | None = field(default=None, repr=False)
    #: The blend settings set explicitly, which win over a bundle's: :meth:`from_env` records
    #: the variables given; ``None`` (settings made in code) means those whose value differs
    #: from its default. Not a variable of its own.
    explicit_blend: frozenset[str] | None = field(
        default=None, compare=False, metadata={"variable": False}
    )

    def __post_init__(self) -> None:
        if self.default_n > self.max_n:
            raise SettingsError(
                "NEWSREC_DEFAULT_N",
                str(self.default_n),
                f"must not exceed NEWSREC_MAX_N ({self.max_n})",
            )
        try:
            check_blend_settings(_blend_values(self))
        except SettingError as exc:
            raise SettingsError(
                _BLEND_VARIABLES.get(exc.setting, exc.setting),
                str(exc.value),
                f"expected {exc.expected}",
            ) from None
        if (self.editor_user is None) != (self.editor_password_hash is None):
            missing = "NEWSREC_EDITOR_PASSWORD_HASH" if self.editor_user else "NEWSREC_EDITOR_USER"
            raise SettingsError(missing, "", "the editor login needs both user and password hash")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read and validate every variable of :data:`ENV_VARS`; unset or empty means default.

        Raises
        ------
        SettingsError
            Naming the first variable whose value cannot be used.
        """
        values: dict[str, Any] = {}
        for var in ENV_VARS:
            raw = environ.get(var.name, "")
            if raw == "":
                continue
            try:
                values[var.field] = var.parse(raw)
            except (ValueError, OverflowError):
                shown = "(hidden)" if var.secret else raw
                raise SettingsError(var.name, shown, f"expected {var.expected}") from None
        explicit = frozenset(_BLEND_NAMES.get(name, name) for name in values) & set(BLEND_BOUNDS)
        return cls(**values, explicit_blend=explicit)

    @staticmethod
    def unknown_variables(environ: Mapping[str, str] = os.environ) -> list[str]:
        """``NEWSREC_*`` variables that no setting reads (most likely typos)."""
        known = {var.name for var in ENV_VARS}
        return sorted(k for k in environ if k.startswith(PREFIX) and k not in known)

    @property
    def live_db(self) -> Path:
        """The embedded live store's file: ``live.sqlite3`` in ``NEWSREC_STATE_DIR``, by
        default in the folder ``state`` beside the models directory."""
        state = self.state_dir if self.state_dir is not None else self.models_dir.parent / "state"
        return state / "live.sqlite3"

    @property
    def experiments_db(self) -> Path:
        """Where experiments added through the API are kept (beside ``live.sqlite3``)."""
        return self.live_db.parent / "experiments.json"

    def blend_params(self) -> BlendParams:
        """The ranking parameters these settings choose (without a bundle's)."""
        return BlendParams(**_blend_values(self))

    def explicit_blend_names(self) -> frozenset[str]:
        """The blend settings set explicitly (see :attr:`explicit_blend`)."""
        if self.explicit_blend is not None:
            return self.explicit_blend
        defaults = _blend_values(Settings())
        return frozenset(k for k, v in _blend_values(self).items() if v != defaults[k])


#: The variable of each blend setting, to name it in an error.
_BLEND_VARIABLES = {var.field: var.name for var in ENV_VARS if var.field in BLEND_BOUNDS} | {
    "section_half_life_days": "NEWSREC_SECTION_HALF_LIVES"
}
#: The blend setting of each field whose name differs from the setting's.
_BLEND_NAMES = {"section_half_lives": "section_half_life_days"}
#: Where a served blend setting came from.
BLEND_SOURCES = ("environment", "bundle", "default")


@dataclass(frozen=True)
class ServedBlend:
    """The blend settings a bundle is served with, and where each came from.

    Attributes
    ----------
    params : BlendParams
    sources : mapping of str to str
        Per setting: ``environment`` (a ``NEWSREC_*`` variable set explicitly), ``bundle`` (its
        manifest's ``blend``) or ``default`` (neither).
    trained_with : mapping of str to str
        Per setting the bundle records: how the bundle got it (its manifest's
        ``settings_origin``: ``default``, ``config`` or ``calibration``).
    """

    params: BlendParams
    sources: Mapping[str, str]
    trained_with: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, dict[str, Any]]:
        """Each setting's value and source, for ``/v1/model`` and the preview."""
        values = self.params.to_dict()
        out: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            entry: dict[str, Any] = {"value": value, "source": self.sources[name]}
            if name in self.trained_with:
                entry["trained_with"] = self.trained_with[name]
            out[name] = entry
        return out


def served_blend(settings: Settings, manifest: Mapping[str, Any]) -> ServedBlend:
    """The blend settings to serve a bundle with: each from an explicitly set ``NEWSREC_*``
    variable, else from the bundle's manifest (``blend``), else the default.

    Raises
    ------
    BundleError
        The bundle records a value this version refuses (the bounds of
        :mod:`recommender.config`), or the combination cannot be served.
    """
    explicit = settings.explicit_blend_names()
    own = _blend_values(settings)
    recorded = manifest.get("blend")
    recorded = recorded if isinstance(recorded, Mapping) else {}
    origin = manifest.get("settings_origin")
    origin = origin if isinstance(origin, Mapping) else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    trained_with: dict[str, str] = {}
    # every setting of the library, also one no variable sets (the library's default then)
    for name, default in BlendParams().to_dict().items():
        if name in explicit:
            values[name], sources[name] = own[name], "environment"
        elif name in recorded:
            values[name], sources[name] = recorded[name], "bundle"
            trained_with[name] = str(origin.get(name, "default"))
        else:
            values[name], sources[name] = own.get(name, default), "default"
    try:
        params = BlendParams.from_table(values, "manifest")
    except DataError as exc:
        raise BundleError(f"its blend setting {exc.field}: {exc.message}") from None
    return ServedBlend(params, sources, trained_with)


def _blend_values(settings: Settings) -> dict[str, Any]:
    return {
        "content_weight": settings.content_weight,
        "coview_weight": settings.coview_weight,
        "coview_evidence": settings.coview_evidence,
        "popularity_weight": settings.popularity_weight,
        "popular_candidates": settings.popular_candidates,
        "popular_min_similarity": settings.popular_min_similarity,
        "section_weight": settings.section_weight,
        "half_life_days": settings.half_life_days,
        "freshness_weight": settings.freshness_weight,
        "section_half_life_days": dict(settings.section_half_lives),
    }


def settings_markdown() -> str:
    """The configuration table of the documentation, generated from :data:`ENV_VARS`."""
    lines = [
        "| Variable | Default | Accepted values | Meaning |",
        "|---|---|---|---|",
    ]
    for var in ENV_VARS:
        default = f"`{var.default}`" if var.default else "(unset)"
        lines.append(f"| `{var.name}` | {default} | {var.expected} | {var.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m service.settings > table (for docs/configuration.md)
    print(settings_markdown(), end="")
