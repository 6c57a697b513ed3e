"""The OpenAPI 3.1 description of the service, built from the settings (ranges depend on them).

Each area contributes its own paths and schemas: :mod:`service.openapi.pages` (the page API
and operations), :mod:`service.openapi.live` (events, trending, the CMS routes),
:mod:`service.openapi.editorial` (the rules API and the preview),
:mod:`service.openapi.experiments` (A/B tests) and
:mod:`service.openapi.widget`; :func:`build_openapi` puts them together. ``/openapi.json``
serves it, ``/docs`` renders it as a page (:mod:`service.openapi.docs`), and the tests validate
both the document and every response against it.
"""

from __future__ import annotations

from typing import Any

from recommender import __version__
from service.openapi import editorial, experiments, live, pages, widget
from service.settings import Settings


def build_openapi(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an app with these settings."""
    paths = pages.paths(settings)
    paths.update(widget.paths())
    paths.update(editorial.paths(settings))
    paths.update(experiments.paths())
    for path, item in live.paths(settings).items():  # PUT and DELETE join the article's GET
        paths.setdefault(path, {}).update(item)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newsrec",
            "version": __version__,
            "summary": "Related articles, most viewed and view counts for news sites.",
            "description": (
                "Every answer carries an X-Request-ID header (the request's own when it sent a "
                'valid one). Errors are JSON: {"error": {"code", "message"}}; a bad query '
                "parameter (including an unknown one) is a 400 naming the parameter and its "
                "accepted range."
            ),
        },
        "tags": [
            {"name": "recommendations", "description": "What a page shows."},
            {"name": "articles", "description": "Article metadata and view counts."},
            {"name": "operations", "description": "Health, readiness, metrics, model."},
            {"name": "widget", "description": "The embeddable widget for article pages."},
            {"name": "live", "description": "Page views sent by the site (live counts)."},
            {"name": "rules", "description": "Editorial pins and blocks (editors only)."},
            {"name": "editor", "description": "The editor preview (docs/preview.md)."},
            {"name": "experiments", "description": "A/B tests (docs/experiments.md)."},
        ],
        "paths": paths,
        "components": {
            "schemas": {
                **pages.schemas(),
                **editorial.schemas(settings),
                **experiments.schemas(),
            },
            "parameters": {**pages.parameters(settings), **pages.fragment_parameters()},
            "headers": {
                "X-Request-ID": {
                    "description": "The request id (echoed or generated); logged with errors.",
                    "schema": {"type": "string"},
                }
            },
            "responses": pages.responses(),
            "securitySchemes": {**pages.SECURITY_SCHEMES, **editorial.SECURITY_SCHEMES},
        },
    }
