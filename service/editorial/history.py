"""The previous-bundle diff of the preview: what entered and left a related list since the
model before (the previous bundle is loaded on first use and kept per worker)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flask import current_app

from recommender.bundle import Bundle, list_versions
from recommender.errors import BundleError
from service.editorial.explainer import Explainer
from service.editorial.rules import (
    ActiveRules,
)
from service.params import RelatedParams
from service.ranking import (
    related_response,
)

if TYPE_CHECKING:
    from service.runtime import Runtime


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


def compare(
    rt: Runtime,
    bundle: Bundle,
    article_id: str,
    n: int,
    rules: ActiveRules,
    explainer: Explainer,
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
            [
                i["id"]
                for i in related_response(b, article_id, params, rt.options_for(b), rules)["items"]
            ]
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
