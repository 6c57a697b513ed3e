"""The editor preview (``/preview``); the rules API (``/v1/rules``) is
:mod:`service.editorial.api`.

The page shows, for one article, what readers get (the public API's own
:func:`service.ranking.related_response`, rules and fallbacks included) next to the content-only
and co-view-only rankings, the most viewed of its section and the section's new articles (the
public ``/v1/latest``), with every item's score parts.
Its data calls take ``content_weight``, ``coview_weight``, ``popularity_weight``,
``half_life_days`` and ``freshness_weight`` overrides so an
editor sees what other settings would do (nothing is saved), and compare the list with the
previous model bundle (:mod:`service.editorial.history`), with the explanations of
:mod:`service.editorial.explainer` and the search of :mod:`service.editorial.search`.

The sliders are checked against the library's one set of blend bounds
(:data:`recommender.config.BLEND_BOUNDS`, with their slider tops).

It needs an editor (:mod:`service.editorial.auth`); the public API stays open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, render_template, request

from recommender.blend import BlendParams, Filters, coview_weight, related
from recommender.config import BLEND_BOUNDS, parse_blend_value
from recommender.errors import SettingError
from service.answers import json_response
from service.editorial.api import rules_store
from service.editorial.auth import (
    csrf_token,
    current_editor,
    editors,
    protect_page,
    require_editor_json,
    require_editor_page,
)
from service.editorial.explainer import Explainer, rounded
from service.editorial.history import compare as compare_previous
from service.editorial.rules import (
    Rule,
    iso,
)
from service.editorial.search import SEARCH_LIMIT, search
from service.errors import BadParameter, NoModel
from service.params import (
    LatestParams,
    MostViewedParams,
    RelatedParams,
    parse_bounded_integer,
    parse_values,
)
from service.ranking import (
    latest_response,
    model_summary,
    most_viewed_response,
    now_ts,
    related_response,
)
from service.runtime import runtime
from service.store import LoadedModel

if TYPE_CHECKING:
    from service.runtime import Runtime

#: The page's script and styles are the app's static files (``/static/preview.js``).
preview = Blueprint("preview", __name__)

#: Largest weight a slider may ask for, and the highest popularity weight (exponent of
#: 1 + views) an editor can try: the sliders' tops of the one set of blend bounds.
MAX_WEIGHT = BLEND_BOUNDS["content_weight"].slider_high
MAX_POPULARITY_WEIGHT = BLEND_BOUNDS["popularity_weight"].slider_high
MAX_FRESHNESS_WEIGHT = BLEND_BOUNDS["freshness_weight"].slider_high


def _model(rt: Runtime) -> LoadedModel:
    model = rt.store.current()
    if model is None:
        raise NoModel(rt.store.waiting_for)
    return model


@preview.after_request
def _protect_preview(response: Response) -> Response:
    return protect_page(response)


@preview.get("/preview")
@require_editor_page
def page() -> str:
    """The editor preview page."""
    rt = runtime()
    loaded = rt.store.current()
    options = rt.options_for(loaded.bundle) if loaded else rt.options
    blend = options.blend
    return render_template(
        "preview.html",
        user=current_editor(),
        csrf=csrf_token(),
        demo=editors().demo,
        model=model_summary(loaded.bundle, loaded.loaded_at, options) if loaded else None,
        defaults={
            "n": rt.settings.default_n,
            "max_n": rt.settings.max_n,
            "content_weight": blend.content_weight,
            "coview_weight": blend.coview_weight,
            "popularity_weight": blend.popularity_weight,
            "half_life_days": blend.half_life_days,
            "max_weight": MAX_WEIGHT,
            "max_popularity_weight": MAX_POPULARITY_WEIGHT,
            "freshness_weight": blend.freshness_weight,
            "max_freshness_weight": MAX_FRESHNESS_WEIGHT,
        },
    )


@preview.get("/preview/api/search")
@require_editor_json
def search_articles() -> Response:
    """Articles whose title holds the words typed, or with the pasted id or URL."""
    values = parse_values(request.args, ("q", "limit"))
    limit = parse_bounded_integer("limit", values.get("limit"), SEARCH_LIMIT, 1, 100)
    bundle = _model(runtime()).bundle
    rows, total = search(bundle, values.get("q", "")[:500], limit)
    items = [
        {
            **bundle.article(r),
            "status": bundle.status(r),
            "views_7d": int(bundle.popularity_views[r, 1]),
        }
        for r in rows
    ]
    return json_response({"items": items, "total": total, "model_version": bundle.version})


#: The sliders an editor may move, each a blend setting (bounds: recommender.config).
SLIDERS = (
    "content_weight",
    "coview_weight",
    "popularity_weight",
    "half_life_days",
    "freshness_weight",
)


def _blend(values: dict[str, str], defaults: BlendParams) -> BlendParams:
    changed: dict[str, Any] = {}
    for name in SLIDERS:
        text = values.get(name)
        if text is None:
            continue
        try:
            changed[name] = parse_blend_value(name, text, slider=True)
        except SettingError as exc:
            raise BadParameter(name, f"{name} must be {exc.expected}, got {text[:40]!r}") from None
    if "half_life_days" in changed:
        # a changed half-life replaces the per-section ones too: the slider means "all sections"
        changed["section_half_life_days"] = {}
    return replace(defaults, **changed)


def _items(
    explainer: Explainer, rows: Iterable[int], blocks: dict[int, Rule], **extra: Any
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
    values = parse_values(
        request.args,
        ("n", *SLIDERS, "compare"),
    )
    n = parse_bounded_integer("n", values.get("n"), rt.settings.default_n, 1, rt.settings.max_n)
    compare = values.get("compare", "1") != "0"
    loaded = _model(rt)
    bundle = loaded.bundle
    row = bundle.row(article_id)
    served = rt.options_for(bundle)
    defaults = served.blend
    blend = _blend(values, defaults)
    if blend.content_weight == 0 and coview_weight(bundle, row, blend) == 0:
        # recommender.blend divides by the sum of the weights: nothing would be ranked
        raise BadParameter(
            "content_weight",
            "with a content weight of 0 nothing ranks this article: it has no co-view "
            "evidence (or the co-view weight is 0)",
        )
    options = replace(served, blend=blend)
    now = now_ts(bundle, options)
    section = bundle.categories[row]
    active = rules_store(rt).active()
    by_id = {rule.id: rule for rule in active.book.rules}
    explainer = Explainer(bundle, row, now, blend, by_id)
    page_rules = active.page(bundle, article_id, section)
    blocks = dict(page_rules.blocks) if page_rules is not None else {}

    # What readers get: the public API's own function (with the live layer, as the public API
    # has it), under this editor's overrides.
    live = rt.live.view(bundle) if rt.live is not None else None
    readers = related_response(
        bundle, article_id, RelatedParams(n=n, explain=True), options, active, live
    )
    # same-story collapsing: what each shown item (or the page itself) stands for
    titles = {item["id"]: item["title"] for item in readers["items"]}
    titles[article_id] = bundle.article(row)["title"]
    folded_under: dict[str, list[str]] = {}
    for c in readers.get("collapsed", []):
        folded_under.setdefault(c["under"], []).append(c["id"])
    reader_items = [
        explainer.describe(
            item["id"],
            live,
            rank=rank,
            score=item["score"],
            source=item["source"],
            popularity=item["explain"].get("popularity"),
            rule=explainer.rule(item["explain"].get("rule")),
            folded=folded_under.get(item["id"], []),
        )
        for rank, item in enumerate(readers["items"], start=1)
    ]
    collapsed = [
        explainer.describe(
            c["id"],
            live,
            folded_under={"id": c["under"], "title": titles.get(c["under"], c["under"])},
            is_query_story=c["under"] == article_id,
        )
        for c in readers.get("collapsed", [])
    ]
    blocked = [
        explainer.describe(b["id"], live, blocked_by=explainer.rule(b["rule"]))
        for b in readers.get("blocked", [])
    ]
    changed = blend != defaults
    baseline = None
    if changed:
        shown = related_response(bundle, article_id, RelatedParams(n=n), served, active, live)
        baseline = [{"id": item["id"], "title": item["title"]} for item in shown["items"]]

    singles: dict[str, list[dict[str, Any]]] = {}
    for strategy in ("content", "coview"):
        ranked = related(
            bundle, row, n, now_ts=now, strategy=strategy, params=blend, filters=Filters()
        )
        singles[strategy] = [
            {**item, "score": rounded(s.score), "source": s.source}
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

    # the "New articles" block of the page: the section's newest, the article left out
    newest = latest_response(
        bundle,
        LatestParams(n=n, category=section or None, exclude=(article_id,)),
        options,
        active,
        live,
    )
    latest_items = [
        explainer.describe(raw["id"], live, rank=rank, reading_minutes=raw.get("reading_minutes"))
        for rank, raw in enumerate(newest["items"], start=1)
    ]

    body = {
        "article": explainer.item(row) | {"views_7d": int(bundle.popularity_views[row, 1])},
        "model": model_summary(bundle, loaded.loaded_at, served),
        "rules_version": active.key or None,
        "now": iso(now),
        "params": {
            "n": n,
            "content_weight": blend.content_weight,
            "coview_weight": blend.coview_weight,
            "popularity_weight": blend.popularity_weight,
            "half_life_days": blend.half_life_days,
            "freshness_weight": blend.freshness_weight,
            "coview_weight_here": rounded(coview_weight(bundle, row, blend)),
            "changed": changed,
            # where each served value came from (environment, bundle, default); a slider moved
            # here is the editor's what-if, not a source
            "sources": {} if served.served is None else dict(served.served.sources),
        },
        "lists": {
            "readers": {
                "items": reader_items,
                "blocked": blocked,
                "baseline": baseline,
                "collapsed": collapsed,
                "per_story": readers.get("per_story", 0),
            },
            "content": {"items": singles["content"]},
            "coview": {"items": singles["coview"], "available": bundle.has_coview},
            "section": {"items": section_items, "section": section, "window": popular["window"]},
            "latest": {"items": latest_items, "section": section},
        },
        "rules": [
            r.to_json(active.now)
            for r in active.book.rules
            if article_id in (r.article_id, r.target_id)
            or r.section == section
            or r.scope == "everywhere"
        ],
        "previous": compare_previous(rt, bundle, article_id, n, active, explainer)
        if compare
        else None,
    }
    return json_response(body)
