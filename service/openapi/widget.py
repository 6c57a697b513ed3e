"""The OpenAPI description of the widget's files (:mod:`service.widget`)."""

from __future__ import annotations

from typing import Any

from service.widget import ASSETS


def paths() -> dict[str, Any]:
    """The OpenAPI path items of ``/widget.js`` and ``/widget.css``."""
    paths = {}
    for name, mimetype in ASSETS.items():
        paths[f"/{name}"] = {
            "get": {
                "operationId": "widgetScript" if name.endswith(".js") else "widgetStyles",
                "summary": "The embeddable widget"
                if name.endswith(".js")
                else "The widget's optional default styles",
                "description": "See docs/widget.md. Cached: one year under ?v=<version> "
                "(immutable), one day without; ETag and If-None-Match give 304; gzip when "
                "the client accepts it.",
                "tags": ["widget"],
                "parameters": [
                    {
                        "name": "v",
                        "in": "query",
                        "required": False,
                        "description": "The file's version (first 16 hex digits of its "
                        "SHA-256, its ETag); any other value serves today's file, briefly "
                        "cached.",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "description": "An ETag from an earlier answer.",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": f"The file ({mimetype}).",
                        "headers": {
                            "ETag": {"schema": {"type": "string"}},
                            "Cache-Control": {"schema": {"type": "string"}},
                        },
                        "content": {mimetype: {"schema": {"type": "string"}}},
                    },
                    "304": {
                        "description": "Not modified (If-None-Match matched).",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                    },
                },
            }
        }
    return paths
