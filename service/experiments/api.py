"""``/v1/experiments``: define experiments (bearer ``NEWSREC_RULES_TOKEN`` or an editor's
session), read their reports, and the report page of the editor preview."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from service.answers import json_response
from service.editorial.auth import require_editor_page, rules_caller
from service.errors import ApiError
from service.experiments.config import NAME_RE, Experiment, ExperimentError
from service.experiments.registry import Experiments
from service.experiments.report import build_report
from service.jsonbody import BodyError, bounded_json
from service.live.counts import LiveUnavailable
from service.params import parse_none
from service.runtime import Runtime, runtime

experiments_api = Blueprint("experiments_api", __name__)

MAX_BODY_BYTES = 32 * 1024
#: Chart size (SVG user units).
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 220, 40
COLOURS = ("#1a5fb4", "#c01c28", "#26a269", "#a347ba", "#e66100", "#613583")


def _registry(rt: Runtime) -> Experiments:
    if rt.experiments is None:  # pragma: no cover - create_app always makes one
        raise ApiError(503, "experiments_unavailable", "no experiments")
    return rt.experiments


def _experiment(rt: Runtime, name: str) -> Experiment:
    found = _registry(rt).get(name)
    if found is None:
        raise ApiError(404, "unknown_experiment", f"there is no experiment {name[:80]!r}")
    return found


def report_of(rt: Runtime, name: str) -> dict[str, Any]:
    """The report of an experiment (404 unknown, 503 when the live store does not answer)."""
    experiment = _experiment(rt, name)
    if rt.live is None:  # pragma: no cover - create_app always makes one
        raise ApiError(503, "live_unavailable", "no live store")
    try:
        tally = rt.live.store.tally(experiment.name)
    except LiveUnavailable as exc:
        raise ApiError(503, "live_unavailable", f"the live store does not answer ({exc})") from None
    report = build_report(experiment, tally, rt.live.clock())
    loaded = rt.store.current()
    # the model version serving each variant, and those a variant names itself
    report["serving"] = _registry(rt).serving(
        experiment, None if loaded is None else loaded.bundle.version
    )
    report["models"] = {v.name: v.model for v in experiment.variants if v.model is not None}
    return report


@experiments_api.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@experiments_api.get("/v1/experiments")
def list_experiments() -> Response:
    """Every experiment, and the one running now."""
    rules_caller()
    parse_none(request.args)
    rt = runtime()
    registry = _registry(rt)
    running = registry.running_all()
    loaded = rt.store.current()
    current = None if loaded is None else loaded.bundle.version
    return json_response(
        {
            # the related experiment running (kept for callers of one surface), and all
            "running": next((e.name for e in running if e.surface == "related"), None),
            "running_all": [e.name for e in running],
            "experiments": [
                {
                    **e.as_json(),
                    "configured": e in registry.configured,
                    "serving": registry.serving(e, current),
                }
                for e in registry.all()
            ],
        }
    )


@experiments_api.put("/v1/experiments/<name>")
def put_experiment(name: str) -> Response:
    """Define (or replace) an experiment of the API."""
    rules_caller()
    if not NAME_RE.fullmatch(name):
        raise ApiError(400, "invalid_experiment", "the name must be 1 to 64 letters, digits, .-_")
    if not request.is_json:
        raise ApiError(400, "invalid_experiment", "send a JSON object (application/json)")
    try:
        body = bounded_json(request.get_data(cache=False), max_bytes=MAX_BODY_BYTES)
    except BodyError as exc:
        raise ApiError(400, "invalid_experiment", f"send a JSON object ({exc})") from None
    if not isinstance(body, dict) or body.get("name", name) != name:
        raise ApiError(400, "invalid_experiment", "a JSON object whose name is the path's")
    try:
        experiment = _registry(runtime()).add({**body, "name": name})
    except PermissionError as exc:
        raise ApiError(409, "configured_experiment", str(exc)) from None
    except (ExperimentError, OSError) as exc:
        raise ApiError(400, "invalid_experiment", str(exc)) from None
    return json_response(experiment.as_json(), status=200)


@experiments_api.delete("/v1/experiments/<name>")
def delete_experiment(name: str) -> Response:
    """Delete an experiment of the API (its counts stay in the live store until they expire)."""
    rules_caller()
    try:
        removed = _registry(runtime()).remove(name)
    except PermissionError as exc:
        raise ApiError(409, "configured_experiment", str(exc)) from None
    if not removed:
        raise ApiError(404, "unknown_experiment", f"there is no experiment {name[:80]!r}")
    return Response(status=204)


@experiments_api.get("/v1/experiments/<name>/report")
def experiment_report(name: str) -> Response:
    """Impressions, clicks, CTR per variant and position, the test and the verdict."""
    rules_caller()
    parse_none(request.args)
    return json_response(report_of(runtime(), name))


def chart(report: dict[str, Any]) -> dict[str, Any]:
    """The daily CTR lines of a report as SVG coordinates."""
    variants = report["variants"]
    days = [d["day"] for d in variants[0]["daily"]] if variants else []
    top = max(
        [d["ctr"] or 0.0 for v in variants for d in v["daily"]] + [0.01],
    )
    top *= 1.15
    width = CHART_WIDTH - 2 * CHART_PAD
    height = CHART_HEIGHT - 2 * CHART_PAD
    step = width / max(len(days) - 1, 1)
    lines = []
    for index, variant in enumerate(variants):
        points = [
            (CHART_PAD + i * step, CHART_PAD + height * (1 - (d["ctr"] or 0.0) / top))
            for i, d in enumerate(variant["daily"])
        ]
        lines.append(
            {
                "name": variant["name"],
                "colour": COLOURS[index % len(COLOURS)],
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
                "dots": points,
            }
        )
    ticks = [(CHART_PAD + height * (1 - f), f"{top * f:.1%}") for f in (0.0, 0.5, 1.0)]
    labels = [(CHART_PAD + i * step, day[5:]) for i, day in enumerate(days)]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "pad": CHART_PAD,
        "lines": lines,
        "ticks": ticks,
        "labels": labels,
    }


@experiments_api.get("/preview/experiments/<name>")
@require_editor_page
def report_page(name: str) -> str:
    """The report of an experiment for editors, with the daily CTR chart."""
    report = report_of(runtime(), name)
    return render_template("experiment.html", report=report, chart=chart(report))
