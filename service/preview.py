"""The editor preview (``/preview``) and the editorial rules API (``/v1/rules``).

The page shows, for one article, what readers get (the public API's own
:func:`service.ranking.related_response`, rules and fallbacks included) next to the content-only
and co-view-only rankings and the most viewed of its section, with every item's score parts.
Its data calls take ``content_weight``, ``coview_weight``, ``popularity_weight`` and
``half_life_days`` overrides so an
editor sees what other settings would do (nothing is saved), and compare the list with the
previous model bundle, which is loaded on first use and kept per worker.

Both blueprints need an editor (:mod:`service.auth`); the public API stays open.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import scipy.sparse as sp
from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.datastructures import MultiDict

from recommender.blend import BlendParams, Filters, coview_weight, freshness, related
from recommender.bundle import Bundle, list_versions
from recommender.errors import BundleError
from service.answers import json_response
from service.auth import (
    csrf_token,
    current_editor,
    editors,
    protect_page,
    require_editor_json,
    require_editor_page,
    rules_caller,
)
from service.errors import ApiError, BadParameter, NoModel
from service.params import MostViewedParams, RelatedParams, parse_none
from service.ranking import (
    known_categories,
    model_summary,
    most_viewed_response,
    now_ts,
    related_response,
)
from service.rules import (
    KINDS,
    MAX_AUTHOR_LENGTH,
    MAX_ID_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_SECTION_LENGTH,
    SCOPES,
    ActiveRules,
    Rule,
    RuleError,
    RulesBackend,
    RulesStoreError,
    UnknownRuleError,
    iso,
    parse_rule,
)
from service.runtime import runtime
from service.settings import Settings
from service.store import LoadedModel

if TYPE_CHECKING:
    from service.live.view import LiveView
    from service.runtime import Runtime

#: The page's script and styles are the app's static files (``/static/preview.js``).
preview = Blueprint("preview", __name__)
rules_api = Blueprint("rules_api", __name__)

DAY = 86_400.0
#: Largest weight a slider may ask for, and the search's answer size.
MAX_WEIGHT = 10.0
#: Highest popularity weight (exponent of 1 + views) an editor can try.
MAX_POPULARITY_WEIGHT = 2.0
SEARCH_LIMIT = 20
SHARED_TERMS = 5
MAX_BODY_BYTES = 64 * 1024
MAX_AUDIT = 1000
_NUMBER_RE = re.compile(r"[0-9]{1,6}(?:\.[0-9]{0,6})?|\.[0-9]{1,6}")


class InvalidRule(ApiError):
    """A rule that cannot be stored; ``field`` names the offending field (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, "invalid_rule", message, field=field)


class UnknownRule(ApiError):
    """No rule has this id (404)."""

    def __init__(self, rule_id: int) -> None:
        super().__init__(404, "unknown_rule", f"there is no rule #{rule_id}")


class RulesUnavailable(ApiError):
    """The rules database cannot be reached, read or written (503)."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, "rules_unavailable", f"the rules database failed: {detail}")


#: What a failed write of either store raises (SQLite: a locked file, a full disk, a directory
#: that cannot be made; PostgreSQL: :class:`RulesStoreError`).
_STORE_ERRORS = (sqlite3.Error, OSError, RulesStoreError)


def _store(rt: Runtime) -> RulesBackend:
    if rt.rules is None:  # pragma: no cover - create_app always makes one
        raise RulesUnavailable("no rules store")
    return rt.rules


def _model(rt: Runtime) -> LoadedModel:
    model = rt.store.current()
    if model is None:
        raise NoModel(rt.store.waiting_for)
    return model


def _values(args: MultiDict[str, str], allowed: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, given in args.lists():
        if name not in allowed:
            raise BadParameter(
                name, f"unknown query parameter {name[:60]!r}; accepted: {', '.join(allowed)}"
            )
        if len(given) != 1:
            raise BadParameter(name, f"{name} must be given at most once")
        values[name] = given[0]
    return values


def _number(name: str, text: str | None, default: float, low: float, high: float) -> float:
    if text is None:
        return default
    if _NUMBER_RE.fullmatch(text):
        value = float(text)
        if low <= value <= high:
            return value
    raise BadParameter(name, f"{name} must be a number from {low:g} to {high:g}")


def _integer(name: str, text: str | None, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    if text.isdigit() and len(text) <= 6 and low <= int(text) <= high:
        return int(text)
    raise BadParameter(name, f"{name} must be an integer from {low} to {high}")


# --- describing items ---------------------------------------------------------------------------


class _FeatureNames:
    """Stands in for the vectorizer in :func:`shared_terms`: the vocabulary, computed once per
    bundle (scikit-learn sorts the whole vocabulary on every ``get_feature_names_out``)."""

    def __init__(self, names: np.ndarray) -> None:
        self._names = names

    def get_feature_names_out(self) -> np.ndarray:
        return self._names


#: Per-bundle memos (like ``ranking.known_categories``): freed with their bundle.
_feature_names: weakref.WeakKeyDictionary[Bundle, _FeatureNames | None] = (
    weakref.WeakKeyDictionary()
)
_memo_lock = threading.Lock()


def _names(bundle: Bundle) -> _FeatureNames | None:
    with _memo_lock:
        if bundle not in _feature_names:
            try:
                names = np.asarray(bundle.vectorizer.get_feature_names_out())
                _feature_names[bundle] = _FeatureNames(names)
            except (BundleError, AttributeError, OSError, ValueError):
                # Hand-made or damaged bundles have no usable vectorizer: no shared terms.
                _feature_names[bundle] = None
        return _feature_names[bundle]


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


class _Explainer:
    """Score parts of any article next to one query article, as the page shows them."""

    def __init__(
        self, bundle: Bundle, row: int, now: int, blend: BlendParams, rules: dict[int, Rule]
    ) -> None:
        self.bundle = bundle
        self.row = row
        self.now = now
        self.blend = blend
        self.rules = rules
        self.content = {
            int(r): float(s)
            for r, s in zip(bundle.content_neighbors[row], bundle.content_scores[row], strict=True)
            if r >= 0
        }
        self.coview: dict[int, tuple[float, int]] = {}
        if bundle.has_coview and bundle.coview_neighbors is not None:
            assert bundle.coview_scores is not None and bundle.coview_counts is not None
            for r, s, c in zip(
                bundle.coview_neighbors[row],
                bundle.coview_scores[row],
                bundle.coview_counts[row],
                strict=True,
            ):
                if r >= 0:
                    self.coview[int(r)] = (float(s), int(c))
        self._matrix: sp.csr_matrix | None = None
        self._names = _names(bundle)

    def _vectors(self, other: int) -> tuple[sp.csr_matrix, sp.csr_matrix] | None:
        try:
            if self._matrix is None:
                self._matrix = self.bundle.content_matrix
            return self._matrix[self.row], self._matrix[other]
        except (KeyError, ValueError, IndexError):
            return None

    def rule(self, ref: dict[str, Any] | None) -> dict[str, Any] | None:
        if ref is None:
            return None
        found = self.rules.get(int(ref["id"]))
        return found.to_json() if found is not None else dict(ref)

    def describe(self, article_id: str, live: LiveView | None, **extra: Any) -> dict[str, Any]:
        """:meth:`item` by id; an article the live layer added since the model has no score
        parts (it is not in the model's arrays)."""
        if self.bundle.has(article_id) or live is None:
            return self.item(self.bundle.row(article_id), **extra)
        row = live.row(article_id)
        return {
            **live.article(row),
            "status": live.status(row),
            "age_days": None,
            "content": {"cosine": None, "terms": []},
            "coview": {"score": None, "sessions": None},
            "freshness": None,
            "popularity": None,
            "score": None,
            "source": None,
            "rule": None,
            "blocked_by": None,
            **extra,
        }

    def item(self, row: int, **extra: Any) -> dict[str, Any]:
        bundle = self.bundle
        published = int(bundle.published_ts[row])
        cosine = self.content.get(row)
        terms: list[dict[str, Any]] = []
        vectors = self._vectors(row)
        if vectors is not None:
            if cosine is None:
                cosine = float(vectors[0].multiply(vectors[1]).sum())
            if self._names is not None:
                # scikit-learn comes with this module: imported on first use, not at start-up
                from recommender.content import shared_terms

                terms = [
                    {"term": term, "weight": _round(weight)}
                    for term, weight in shared_terms(
                        self._names, vectors[0], vectors[1], SHARED_TERMS
                    )
                ]
        coview = self.coview.get(row)
        fresh = freshness(published, self.now, self.blend.half_life(bundle.categories[row]))
        return {
            **bundle.article(row),
            "status": bundle.statuses[row],
            "age_days": None if published < 0 else _round(max(self.now - published, 0) / DAY, 2),
            "content": {"cosine": _round(cosine), "terms": terms},
            "coview": {
                "score": None if coview is None else _round(coview[0]),
                "sessions": None if coview is None else coview[1],
            },
            "freshness": _round(fresh),
            "popularity": None,
            "score": None,
            "source": None,
            "rule": None,
            "blocked_by": None,
            **extra,
        }


# --- search -----------------------------------------------------------------------------------


def _normal_url(text: str) -> str:
    parts = urlsplit(text.strip())
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class _SearchIndex:
    titles: list[str]
    urls: dict[str, int]
    paths: dict[str, int]


_search_indexes: weakref.WeakKeyDictionary[Bundle, _SearchIndex] = weakref.WeakKeyDictionary()


def _index(bundle: Bundle) -> _SearchIndex:
    with _memo_lock:
        found = _search_indexes.get(bundle)
        if found is None:
            urls: dict[str, int] = {}
            paths: dict[str, int] = {}
            for row, url in enumerate(bundle.urls):
                if url:
                    urls.setdefault(_normal_url(url), row)
                    paths.setdefault(urlsplit(url).path.rstrip("/"), row)
            found = _SearchIndex([t.casefold() for t in bundle.titles], urls, paths)
            _search_indexes[bundle] = found
        return found


def search(bundle: Bundle, query: str, limit: int = SEARCH_LIMIT) -> tuple[list[int], int]:
    """Rows matching an id, a pasted URL or words of a title; and how many titles matched.

    An exact id or URL comes first; then titles holding every word, those starting with the
    query first, newest first within each group.
    """
    text = query.strip()
    if not text:
        return [], 0
    index = _index(bundle)
    exact: list[int] = []
    if bundle.has(text):
        exact.append(bundle.row(text))
    if "/" in text:
        parts = urlsplit(text)
        row = index.urls.get(_normal_url(text))
        if row is None and parts.path:
            row = index.paths.get(parts.path.rstrip("/"))
        if row is not None and row not in exact:
            exact.append(row)
    words = sorted(text.casefold().split(), key=len, reverse=True)
    titles = index.titles
    matches = [i for i, title in enumerate(titles) if words[0] in title]
    for word in words[1:]:
        matches = [i for i in matches if word in titles[i]]
    phrase = text.casefold()
    published = bundle.published_ts
    matches.sort(key=lambda i: (not titles[i].startswith(phrase), -int(published[i]), i))
    rows = exact + [i for i in matches if i not in exact]
    return rows[:limit], len(matches)


# --- the previous bundle ----------------------------------------------------------------------


class PreviousBundles:
    """The complete bundle published before the one in service, loaded on first use and kept
    (one per worker) until the model in service changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[str, str | None, Bundle | None, str | None] | None = None

    def get(self, models_dir: Any, current: str) -> tuple[str | None, Bundle | None, str | None]:
        """``(version, bundle, error)`` of the bundle before ``current``; all ``None`` when
        there is none."""
        with self._lock:
            if self._cached is not None and self._cached[0] == current:
                return self._cached[1:]
            older = [v for v in list_versions(models_dir) if v < current]
            version = older[-1] if older else None
            bundle, error = None, None
            if version is not None:
                try:
                    bundle = Bundle.load(models_dir / version)
                except BundleError as exc:
                    error = str(exc)
            self._cached = (current, version, bundle, error)
            return version, bundle, error


def _previous_bundles() -> PreviousBundles:
    found = current_app.extensions.get("newsrec_previous")
    if found is None:
        found = current_app.extensions.setdefault("newsrec_previous", PreviousBundles())
    assert isinstance(found, PreviousBundles)
    return found


def _compare(
    rt: Runtime,
    bundle: Bundle,
    article_id: str,
    n: int,
    rules: ActiveRules,
    explainer: _Explainer,
) -> dict[str, Any]:
    version, previous, error = _previous_bundles().get(rt.settings.models_dir, bundle.version)
    if version is None:
        return {"status": "none", "message": "no earlier complete bundle in the models directory"}
    answer: dict[str, Any] = {"status": "ok", "version": version}
    if previous is None:
        return {**answer, "status": "error", "message": error}
    answer["created_at"] = previous.manifest.get("created_at")
    if not previous.has(article_id):
        return {**answer, "status": "new_article", "message": "the previous model did not know it"}
    params = RelatedParams(n=n)
    try:
        current_ids, previous_ids = (
            [i["id"] for i in related_response(b, article_id, params, rt.options, rules)["items"]]
            for b in (bundle, previous)
        )
    except (BundleError, IndexError, KeyError, ValueError) as exc:
        # An old bundle never smoke-checked by this worker: report it, keep the page working.
        return {**answer, "status": "error", "message": f"cannot rank with it: {exc!r}"}
    entered = [
        explainer.item(bundle.row(i), rank=k + 1)
        for k, i in enumerate(current_ids)
        if i not in previous_ids
    ]
    left = [
        {**previous.article(previous.row(i)), "rank": k + 1}
        for k, i in enumerate(previous_ids)
        if i not in current_ids
    ]
    return {**answer, "entered": entered, "left": left, "kept": len(current_ids) - len(entered)}


# --- the page and its data calls ----------------------------------------------------------------


@preview.after_request
def _protect_preview(response: Response) -> Response:
    return protect_page(response)


@rules_api.after_request
def _protect_rules(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@preview.get("/preview")
@require_editor_page
def page() -> str:
    """The editor preview page."""
    rt = runtime()
    loaded = rt.store.current()
    blend = rt.options.blend
    return render_template(
        "preview.html",
        user=current_editor(),
        csrf=csrf_token(),
        demo=editors().demo,
        model=model_summary(loaded.bundle, loaded.loaded_at) if loaded else None,
        defaults={
            "n": rt.settings.default_n,
            "max_n": rt.settings.max_n,
            "content_weight": blend.content_weight,
            "coview_weight": blend.coview_weight,
            "popularity_weight": blend.popularity_weight,
            "half_life_days": blend.half_life_days,
            "max_weight": MAX_WEIGHT,
            "max_popularity_weight": MAX_POPULARITY_WEIGHT,
        },
    )


@preview.get("/preview/api/search")
@require_editor_json
def search_articles() -> Response:
    """Articles whose title holds the words typed, or with the pasted id or URL."""
    values = _values(request.args, ("q", "limit"))
    limit = _integer("limit", values.get("limit"), SEARCH_LIMIT, 1, 100)
    bundle = _model(runtime()).bundle
    rows, total = search(bundle, values.get("q", "")[:500], limit)
    items = [
        {
            **bundle.article(r),
            "status": bundle.statuses[r],
            "views_7d": int(bundle.popularity_views[r, 1]),
        }
        for r in rows
    ]
    return json_response({"items": items, "total": total, "model_version": bundle.version})


def _blend(values: dict[str, str], defaults: BlendParams) -> BlendParams:
    content = _number(
        "content_weight", values.get("content_weight"), defaults.content_weight, 0, MAX_WEIGHT
    )
    coview = _number(
        "coview_weight", values.get("coview_weight"), defaults.coview_weight, 0, MAX_WEIGHT
    )
    popularity = _number(
        "popularity_weight",
        values.get("popularity_weight"),
        defaults.popularity_weight,
        0,
        MAX_POPULARITY_WEIGHT,
    )
    text = values.get("half_life_days")
    half_life = defaults.half_life_days
    if text is not None:
        if text == "off":
            half_life = None
        else:
            half_life = _number("half_life_days", text, 0, 0, 3650)
            if half_life <= 0:
                raise BadParameter("half_life_days", "half_life_days must be above 0, or off")
    # A changed half-life replaces the per-section ones too: the slider means "all sections".
    sections = defaults.section_half_life_days if text is None else {}
    return replace(
        defaults,
        content_weight=content,
        coview_weight=coview,
        popularity_weight=popularity,
        half_life_days=half_life,
        section_half_life_days=sections,
    )


def _items(
    explainer: _Explainer, rows: Iterable[int], blocks: dict[int, Rule], **extra: Any
) -> list[dict[str, Any]]:
    out = []
    for rank, row in enumerate(rows, start=1):
        rule = blocks.get(row)
        out.append(
            explainer.item(
                row, rank=rank, blocked_by=None if rule is None else rule.to_json(), **extra
            )
        )
    return out


@preview.get("/preview/api/articles/<article_id>")
@require_editor_json
def article_lists(article_id: str) -> Response:
    """The four lists of one article, with score parts, under the given blend overrides."""
    rt = runtime()
    values = _values(
        request.args,
        ("n", "content_weight", "coview_weight", "popularity_weight", "half_life_days", "compare"),
    )
    n = _integer("n", values.get("n"), rt.settings.default_n, 1, rt.settings.max_n)
    compare = values.get("compare", "1") != "0"
    loaded = _model(rt)
    bundle = loaded.bundle
    row = bundle.row(article_id)
    defaults = rt.options.blend
    blend = _blend(values, defaults)
    if blend.content_weight == 0 and coview_weight(bundle, row, blend) == 0:
        # recommender.blend divides by the sum of the weights: nothing would be ranked
        raise BadParameter(
            "content_weight",
            "with a content weight of 0 nothing ranks this article: it has no co-view "
            "evidence (or the co-view weight is 0)",
        )
    options = replace(rt.options, blend=blend)
    now = now_ts(bundle, options)
    section = bundle.categories[row]
    active = _store(rt).active()
    by_id = {rule.id: rule for rule in active.book.rules}
    explainer = _Explainer(bundle, row, now, blend, by_id)
    page_rules = active.page(bundle, article_id, section)
    blocks = dict(page_rules.blocks) if page_rules is not None else {}

    # What readers get: the public API's own function (with the live layer, as the public API
    # has it), under this editor's overrides.
    live = rt.live.view(bundle) if rt.live is not None else None
    readers = related_response(
        bundle, article_id, RelatedParams(n=n, explain=True), options, active, live
    )
    reader_items = [
        explainer.describe(
            item["id"],
            live,
            rank=rank,
            score=item["score"],
            source=item["source"],
            popularity=item["explain"].get("popularity"),
            rule=explainer.rule(item["explain"].get("rule")),
        )
        for rank, item in enumerate(readers["items"], start=1)
    ]
    blocked = [
        explainer.describe(b["id"], live, blocked_by=explainer.rule(b["rule"]))
        for b in readers.get("blocked", [])
    ]
    changed = blend != defaults
    baseline = None
    if changed:
        served = related_response(bundle, article_id, RelatedParams(n=n), rt.options, active, live)
        baseline = [{"id": item["id"], "title": item["title"]} for item in served["items"]]

    singles: dict[str, list[dict[str, Any]]] = {}
    for strategy in ("content", "coview"):
        ranked = related(
            bundle, row, n, now_ts=now, strategy=strategy, params=blend, filters=Filters()
        )
        singles[strategy] = [
            {**item, "score": _round(s.score), "source": s.source}
            for item, s in zip(
                _items(explainer, (s.row for s in ranked), blocks), ranked, strict=True
            )
        ]
    popular = most_viewed_response(
        bundle,
        MostViewedParams(n=n, window=rt.settings.fallback_window, category=section),
        options,
        active,
        live,
    )
    section_items = [
        explainer.describe(
            raw["id"], live, rank=rank, views=raw["views"], is_query=raw["id"] == article_id
        )
        for rank, raw in enumerate(popular["items"], start=1)
    ]

    body = {
        "article": explainer.item(row) | {"views_7d": int(bundle.popularity_views[row, 1])},
        "model": model_summary(bundle, loaded.loaded_at),
        "rules_version": active.key or None,
        "now": iso(now),
        "params": {
            "n": n,
            "content_weight": blend.content_weight,
            "coview_weight": blend.coview_weight,
            "popularity_weight": blend.popularity_weight,
            "half_life_days": blend.half_life_days,
            "coview_weight_here": _round(coview_weight(bundle, row, blend)),
            "changed": changed,
        },
        "lists": {
            "readers": {"items": reader_items, "blocked": blocked, "baseline": baseline},
            "content": {"items": singles["content"]},
            "coview": {"items": singles["coview"], "available": bundle.has_coview},
            "section": {"items": section_items, "section": section, "window": popular["window"]},
        },
        "rules": [
            r.to_json(active.now)
            for r in active.book.rules
            if article_id in (r.article_id, r.target_id)
            or r.section == section
            or r.scope == "everywhere"
        ],
        "previous": _compare(rt, bundle, article_id, n, active, explainer) if compare else None,
    }
    return json_response(body)


# --- the rules API ------------------------------------------------------------------------------


def _json_body() -> Any:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise InvalidRule("body", f"the body must be at most {MAX_BODY_BYTES} bytes")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidRule("body", "send a JSON object with Content-Type: application/json")
    return data


def _check_known(data: dict[str, Any], rt: Runtime) -> None:
    """Ids and sections must be known to the model in service (when one is loaded)."""
    loaded = rt.store.current()
    if loaded is None:
        return
    bundle = loaded.bundle
    for name in ("target_id", "article_id"):
        value = data.get(name)
        if value is not None and not bundle.has(value):
            raise InvalidRule(name, f"{name}: the model knows no article {value[:80]!r}")
    section = data.get("section")
    if section is not None and section not in known_categories(bundle):
        raise InvalidRule("section", f"section: the model knows no section {section[:80]!r}")


@rules_api.get("/v1/rules")
def list_rules() -> Response:
    """Every editorial rule with its state (scheduled, active, expired)."""
    rules_caller()
    parse_none(request.args)
    active = _store(runtime()).active()
    return json_response(
        {
            "rules_version": active.key or None,
            "now": iso(active.now),
            "rules": [rule.to_json(active.now) for rule in active.book.rules],
        }
    )


@rules_api.post("/v1/rules")
def create_rule() -> Response:
    """Create a pin or a block (author from the session, or from the body for scripts)."""
    author = rules_caller()
    parse_none(request.args)
    rt = runtime()
    store = _store(rt)
    now = store.clock()
    try:
        new = parse_rule(_json_body(), author=author, max_slot=rt.settings.max_n, now=now)
    except RuleError as exc:
        raise InvalidRule(exc.field, exc.message) from None
    _check_known(
        {"target_id": new.target_id, "article_id": new.article_id, "section": new.section}, rt
    )
    try:
        rule = store.create(new)
    except _STORE_ERRORS as exc:  # the database is down, locked or full: 503, the editor retries
        raise RulesUnavailable(str(exc)) from exc
    response = json_response({"rule": rule.to_json(now)}, 201)
    response.headers["Location"] = f"/v1/rules/{rule.id}"
    return response


@rules_api.delete("/v1/rules/<int:rule_id>")
def delete_rule(rule_id: int) -> Response:
    """Delete a rule (scripts name themselves with ``?author=``)."""
    author = rules_caller()
    values = _values(request.args, ("author",))
    if author is None:
        given = values.get("author", "").strip()
        if not given or len(given) > MAX_AUTHOR_LENGTH:
            raise InvalidRule(
                "author", f"author is required (1 to {MAX_AUTHOR_LENGTH} characters) with the token"
            )
        author = given
    store = _store(runtime())
    try:
        rule = store.delete(rule_id, author)
    except UnknownRuleError:
        raise UnknownRule(rule_id) from None
    except _STORE_ERRORS as exc:
        raise RulesUnavailable(str(exc)) from exc
    return json_response({"deleted": rule.to_json(store.clock())})


@rules_api.get("/v1/rules/audit")
def rules_audit() -> Response:
    """Who created or deleted which rule, and when; newest first."""
    rules_caller()
    values = _values(request.args, ("limit",))
    limit = _integer("limit", values.get("limit"), 100, 1, MAX_AUDIT)
    try:
        entries = _store(runtime()).audit(limit)
    except _STORE_ERRORS as exc:
        raise RulesUnavailable(str(exc)) from exc
    return json_response({"entries": [entry.to_json() for entry in entries]})


# --- the OpenAPI description of the rules API (merged by service.openapi) ----------------------


def openapi_schemas(settings: Settings) -> dict[str, Any]:
    """Schemas of the rules API (and of a rule as ``explain`` shows it)."""
    text = {"type": "string"}
    time_or_null = {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "ISO 8601 with a time zone; null: no bound.",
    }
    identifier = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
    scope = {
        "type": "string",
        "enum": list(SCOPES),
        "description": "article: the list of article_id; section: of every article of the "
        "section; everywhere: every list (a block everywhere also leaves the most viewed).",
    }
    rule_properties: dict[str, Any] = {
        "id": {"type": "integer", "minimum": 1, "description": "Never reused."},
        "kind": {"type": "string", "enum": list(KINDS)},
        "scope": scope,
        "target_id": {**text, "description": "The article pinned or blocked."},
        "article_id": {**_nullable_text(), "description": "The list it applies to."},
        "section": {**_nullable_text(), "description": "The section it applies to."},
        "slot": {"type": ["integer", "null"], "minimum": 1, "description": "Pins: 1 = first."},
        "starts_at": time_or_null,
        "ends_at": time_or_null,
        "author": text,
        "note": text,
        "created_at": {**text, "format": "date-time"},
        "state": {"type": "string", "enum": ["scheduled", "active", "expired"]},
    }
    return {
        "PublicRule": {
            "type": "object",
            "description": "The rule that placed or removed an item (without author or note).",
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "kind": {"type": "string", "enum": list(KINDS)},
                "scope": scope,
                "slot": {"type": ["integer", "null"], "minimum": 1},
            },
            "required": ["id", "kind", "scope", "slot"],
        },
        "Rule": {
            "type": "object",
            "properties": rule_properties,
            "required": [name for name in rule_properties if name != "state"],
        },
        "RuleInput": {
            "type": "object",
            "description": "A pin (target_id at slot) or a block (target_id never shown) for "
            "the list of article_id, of every article of section, or everywhere (neither). "
            "It applies from starts_at (default: now) until ends_at (default: no end).",
            "properties": {
                "kind": {"type": "string", "enum": list(KINDS)},
                "target_id": identifier,
                "article_id": identifier,
                "section": {"type": "string", "minLength": 1, "maxLength": MAX_SECTION_LENGTH},
                "slot": {"type": "integer", "minimum": 1, "maximum": settings.max_n},
                "starts_at": time_or_null,
                "ends_at": time_or_null,
                "note": {"type": "string", "minLength": 1, "maxLength": MAX_NOTE_LENGTH},
                "author": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_AUTHOR_LENGTH,
                    "description": "Required with the token; a session names its editor.",
                },
            },
            "required": ["kind", "target_id", "note"],
            "additionalProperties": False,
        },
        "RulesResponse": {
            "type": "object",
            "properties": {
                "rules_version": {
                    **_nullable_text(),
                    "description": "Changes with every change (null before the first rule).",
                },
                "now": {**text, "format": "date-time"},
                "rules": {"type": "array", "items": {"$ref": "#/components/schemas/Rule"}},
            },
            "required": ["rules_version", "now", "rules"],
        },
        "RuleCreated": {
            "type": "object",
            "properties": {"rule": {"$ref": "#/components/schemas/Rule"}},
            "required": ["rule"],
        },
        "RuleDeleted": {
            "type": "object",
            "properties": {"deleted": {"$ref": "#/components/schemas/Rule"}},
            "required": ["deleted"],
        },
        "PreviewSearch": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"type": "object"}},
                "total": {"type": "integer", "minimum": 0},
                "model_version": text,
            },
            "required": ["items", "total", "model_version"],
        },
        "PreviewLists": {
            "type": "object",
            "description": "See docs/preview.md; made for the page, not a stable API.",
            "properties": {
                "article": {"type": "object"},
                "model": {"type": "object"},
                "lists": {"type": "object"},
                "rules": {"type": "array"},
                "previous": {"type": ["object", "null"]},
            },
            "required": ["article", "model", "lists", "rules", "previous"],
        },
        "AuditResponse": {
            "type": "object",
            "properties": {
                "entries": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "at": {**text, "format": "date-time"},
                            "author": text,
                            "action": {"type": "string", "enum": ["create", "delete"]},
                            "rule_id": {"type": "integer"},
                            "before": {"type": ["object", "null"]},
                            "after": {"type": ["object", "null"]},
                        },
                        "required": ["id", "at", "author", "action", "rule_id", "before", "after"],
                    },
                }
            },
            "required": ["entries"],
        },
    }


def _nullable_text() -> dict[str, Any]:
    return {"type": ["string", "null"]}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}},
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _redirect(description: str) -> dict[str, Any]:
    return {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _editor_paths(settings: Settings) -> dict[str, Any]:
    """The preview page, its login and its data calls (for editors; see docs/preview.md)."""
    session: list[dict[str, list[str]]] = [{"editorSession": []}]
    form = "application/x-www-form-urlencoded"
    weight = {"type": "number", "minimum": 0, "maximum": MAX_WEIGHT}
    login_fields = {
        "username": {"type": "string"},
        "password": {"type": "string"},
        "csrf_token": {"type": "string", "description": "From the login form."},
        "next": {"type": "string", "description": "Where to go next (within /preview)."},
    }
    return {
        "/preview": {
            "get": {
                "operationId": "previewPage",
                "summary": "The editor preview page",
                "description": "Logged-in editors get the page; others go to the login.",
                "tags": ["editor"],
                "parameters": [_query("article", {"type": "string"}, "An article to open.")],
                "responses": {
                    "200": _html("The page."),
                    "302": _redirect("Not logged in: to /preview/login."),
                },
            }
        },
        "/preview/login": {
            "get": {
                "operationId": "previewLoginForm",
                "summary": "The editor login form",
                "tags": ["editor"],
                "parameters": [_query("next", {"type": "string"}, "Where to go next.")],
                "responses": {
                    "200": _html("The form."),
                    "302": _redirect("Already logged in: to the preview."),
                },
            },
            "post": {
                "operationId": "previewLogin",
                "summary": "Log in",
                "description": "10 failed logins per address and worker in 5 minutes: 429.",
                "tags": ["editor"],
                "requestBody": {
                    "required": True,
                    "content": {
                        form: {
                            "schema": {
                                "type": "object",
                                "properties": login_fields,
                                "required": ["username", "password", "csrf_token"],
                            }
                        }
                    },
                },
                "responses": {
                    "302": _redirect("Logged in: to the preview."),
                    "401": _html("Wrong user name or password."),
                    "403": _html("The form's CSRF token is missing or stale."),
                    "429": _html("Too many failed logins (Retry-After)."),
                },
            },
        },
        "/preview/logout": {
            "post": {
                "operationId": "previewLogout",
                "summary": "Log out",
                "tags": ["editor"],
                "requestBody": {
                    "required": False,
                    "content": {
                        form: {
                            "schema": {
                                "type": "object",
                                "properties": {"csrf_token": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {"302": _redirect("To the login form.")},
            }
        },
        "/preview/api/search": {
            "get": {
                "operationId": "previewSearch",
                "summary": "Find articles by title words, URL or id",
                "tags": ["editor"],
                "security": session,
                "parameters": [
                    _query("q", {"type": "string"}, "Words of a title, a URL or an id."),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                        "How many results.",
                    ),
                ],
                "responses": {
                    "200": _json("Matching articles.", "PreviewSearch"),
                    "400": {"$ref": "#/components/responses/BadParameter"},
                    "401": _json("Not logged in (unauthorized).", "Error"),
                    "503": {"$ref": "#/components/responses/NoModel"},
                },
            }
        },
        "/preview/api/articles/{article_id}": {
            "get": {
                "operationId": "previewLists",
                "summary": "The preview's four lists of one article",
                "description": "What readers get, content only, co-view only and the most "
                "viewed of the section, with score parts, under optional ranking overrides "
                "(nothing is saved); and the comparison with the previous model.",
                "tags": ["editor"],
                "security": session,
                "parameters": [
                    {"$ref": "#/components/parameters/article_id"},
                    _query(
                        "n",
                        {"type": "integer", "minimum": 1, "maximum": settings.max_n},
                        "Items per list.",
                    ),
                    _query("content_weight", weight, "Override of the content weight."),
                    _query("coview_weight", weight, "Override of the co-view weight."),
                    _query(
                        "popularity_weight",
                        {"type": "number", "minimum": 0, "maximum": MAX_POPULARITY_WEIGHT},
                        "Override of the popularity weight (exponent of 1 + 24-hour views).",
                    ),
                    _query(
                        "half_life_days",
                        {
                            "anyOf": [
                                {"type": "number", "exclusiveMinimum": 0, "maximum": 3650},
                                {"type": "string", "enum": ["off"]},
                            ]
                        },
                        "Override of the freshness half-life (every section).",
                    ),
                    _query("compare", {"type": "string", "enum": ["0", "1"]}, "0: no comparison."),
                ],
                "responses": {
                    "200": _json("The lists.", "PreviewLists"),
                    "400": {"$ref": "#/components/responses/BadParameter"},
                    "401": _json("Not logged in (unauthorized).", "Error"),
                    "404": _json("The model knows no such article (unknown_article).", "Error"),
                    "503": {"$ref": "#/components/responses/NoModel"},
                },
            }
        },
    }


def openapi_paths(settings: Settings) -> dict[str, Any]:
    """Path items of ``/v1/rules`` (scripts use the bearer token, the preview its session) and
    of the preview itself."""
    security: list[dict[str, list[str]]] = [{"rulesToken": []}, {"editorSession": []}]
    denied = {
        "401": _json("No valid token and no editor session (unauthorized).", "Error"),
        "403": _json("A change through a session without X-CSRF-Token (csrf_failed).", "Error"),
    }
    bad_query = {"400": {"$ref": "#/components/responses/BadParameter"}}
    return {
        **_editor_paths(settings),
        "/v1/rules": {
            "get": {
                "operationId": "listRules",
                "summary": "Editorial rules",
                "description": "Every pin and block with its state.",
                "tags": ["rules"],
                "security": security,
                "responses": {
                    "200": _json("The rules.", "RulesResponse"),
                    **bad_query,
                    **denied,
                },
            },
            "post": {
                "operationId": "createRule",
                "summary": "Create a pin or a block",
                "description": "Applies at once in every answer of every worker. Ids and "
                "sections must be known to the model in service. A 400 names the bad field.",
                "tags": ["rules"],
                "security": security,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/RuleInput"}}
                    },
                },
                "responses": {
                    "201": _json("The rule, with its id.", "RuleCreated"),
                    "400": _json("A bad field (invalid_rule, naming the field).", "Error"),
                    **denied,
                    "503": _json("The rules database failed (rules_unavailable).", "Error"),
                },
            },
        },
        "/v1/rules/{rule_id}": {
            "delete": {
                "operationId": "deleteRule",
                "summary": "Delete a rule",
                "description": "Scripts name themselves with ?author= (the audit log says "
                "who); a session names its editor.",
                "tags": ["rules"],
                "security": security,
                "parameters": [
                    {
                        "name": "rule_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    },
                    {
                        "name": "author",
                        "in": "query",
                        "required": False,
                        "description": "Who deletes it (required with the token).",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                    },
                ],
                "responses": {
                    "200": _json("The deleted rule.", "RuleDeleted"),
                    "400": _json("No author with the token (invalid_rule).", "Error"),
                    **denied,
                    "404": _json("No such rule (unknown_rule).", "Error"),
                    "503": _json("The rules database failed (rules_unavailable).", "Error"),
                },
            }
        },
        "/v1/rules/audit": {
            "get": {
                "operationId": "rulesAudit",
                "summary": "Audit log of the rules",
                "description": "Who created or deleted which rule and when, newest first, "
                "with the rule before and after.",
                "tags": ["rules"],
                "security": security,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_AUDIT,
                            "default": 100,
                        },
                    }
                ],
                "responses": {
                    "200": _json("The latest changes.", "AuditResponse"),
                    **bad_query,
                    **denied,
                    "503": _json("The rules database failed (rules_unavailable).", "Error"),
                },
            }
        },
    }


SECURITY_SCHEMES = {
    "rulesToken": {"type": "http", "scheme": "bearer", "description": "NEWSREC_RULES_TOKEN"},
    "editorSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "newsrec_editor",
        "description": "An editor's session from /preview/login; changes also need the "
        "X-CSRF-Token header.",
    },
}
