"""``/openapi.json`` and ``/docs``: the API description, as JSON and as a readable page.

The page is rendered on the server from the OpenAPI document (no JavaScript, no CDN, no
external assets), so it works offline and cannot drift from the document.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

from service.answers import dumps
from service.runtime import runtime

docs = Blueprint("docs", __name__)

_METHODS = ("get", "post", "put", "patch", "delete")
#: Example queries shown (and linked) on the page; ``{id}`` is a real article when one is known.
_EXAMPLES = {
    "relatedArticles": "/v1/articles/{id}/related?n=6&explain=true",
    "mostViewed": "/v1/most-viewed?window=7d&n=10",
    "latestArticles": "/v1/latest?n=10",
    "relatedArticlesHtml": "/v1/articles/{id}/related.html?n=6",
    "article": "/v1/articles/{id}",
}


def _resolve(doc: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in value:
        node: Any = doc
        for part in value["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        value = node
    return value


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def describe_schema(schema: dict[str, Any]) -> str:
    """A one-line description of a (parameter or property) schema for people."""
    name = _ref_name(schema)
    if name is not None:
        return name
    kind = schema.get("type", "any")
    text = " or ".join(kind) if isinstance(kind, list) else str(kind)
    if kind == "array" and "items" in schema:
        text = f"array of {describe_schema(schema['items'])}"
    notes = []
    if "enum" in schema:
        notes.append("one of " + ", ".join(str(v) for v in schema["enum"]))
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum")
    if low is not None or high is not None:
        low_text = ""
        if low is not None:
            low_text = ("> " if "exclusiveMinimum" in schema else "") + f"{low:g}"
        notes.append(f"{low_text} to {high:g}" if high is not None else f"at least {low_text}")
    shortest, longest = schema.get("minLength"), schema.get("maxLength")
    if longest is not None:
        notes.append(f"{shortest or 0} to {longest} characters")
    elif shortest:
        notes.append(f"at least {shortest} character" + ("s" if shortest > 1 else ""))
    if "default" in schema:
        notes.append(f"default {schema['default']}")
    if "format" in schema:
        notes.append(str(schema["format"]))
    return text + (f" ({'; '.join(notes)})" if notes else "")


def page_model(doc: dict[str, Any], base_url: str, example_id: str | None) -> dict[str, Any]:
    """What the template shows: operations with parameters, responses and examples; schemas."""
    operations = []
    for path, item in doc["paths"].items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            parameters = []
            for raw in op.get("parameters", []):
                param = _resolve(doc, raw)
                parameters.append(
                    {
                        "name": param["name"],
                        "where": param["in"],
                        "required": param.get("required", False),
                        "type": describe_schema(param.get("schema", {})),
                        "description": param.get("description", ""),
                    }
                )
            responses = []
            for status, raw in sorted(op.get("responses", {}).items()):
                response = _resolve(doc, raw)
                content = response.get("content", {})
                media = next(iter(content), "")
                schema = content.get(media, {}).get("schema", {}) if media else {}
                responses.append(
                    {
                        "status": status,
                        "description": response.get("description", ""),
                        "schema": _ref_name(schema) or media,
                    }
                )
            example = _EXAMPLES.get(op.get("operationId", ""))
            if example is None and "{" not in path:
                example = path
            curl = None
            link = None
            if example is not None:
                example = example.replace("{id}", quote(example_id or "ARTICLE_ID", safe=""))
                link = example if method == "get" else None
                curl = f"curl -s '{base_url}{example}'"
            token = _bearer_token(doc, op)
            if example is None and method == "post" and token is not None:
                curl = f"curl -s -X POST -H \"Authorization: Bearer ${token}\" '{base_url}{path}'"
            operations.append(
                {
                    "anchor": op.get("operationId", path),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "tags": op.get("tags", []),
                    "parameters": parameters,
                    "responses": responses,
                    "curl": curl,
                    "link": link,
                    "auth": bool(op.get("security")),
                    "token": token,
                }
            )
    schemas = []
    for name, schema in doc["components"]["schemas"].items():
        properties: dict[str, Any] = schema.get("properties", {})
        required: set[str] = set(schema.get("required", []))
        schemas.append(
            {
                "name": name,
                "description": schema.get("description", ""),
                "extends": [n for n in (_ref_name(p) for p in schema.get("allOf", [])) if n],
                "properties": [
                    {
                        "name": prop,
                        "type": describe_schema(spec),
                        "required": prop in required,
                        "description": spec.get("description", ""),
                    }
                    for prop, spec in properties.items()
                ],
            }
        )
    return {"info": doc["info"], "operations": operations, "schemas": schemas}


@docs.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document."""
    return Response(dumps(runtime().openapi), mimetype="application/json")


@docs.get("/docs")
def docs_page() -> str:
    """The API reference as a self-contained HTML page."""
    rt = runtime()
    model = rt.store.model
    example_id = None
    if model is not None and len(model.bundle):
        popular = model.bundle.popular_rows(rt.settings.fallback_window)
        row = int(popular[0]) if popular.size else 0
        example_id = model.bundle.article_id(row)
    base_url = request.host_url.rstrip("/")
    return render_template(
        "docs.html",
        page=page_model(rt.openapi, base_url, example_id),
        model_version=model.bundle.version if model else None,
    )


@docs.get("/")
def index() -> WerkzeugResponse:
    """The root leads to the documentation (in demo mode: to the demo article page)."""
    return redirect("/demo" if runtime().settings.demo else "/docs", code=302)


def _bearer_token(doc: dict[str, Any], op: dict[str, Any]) -> str | None:
    """The variable holding the bearer token an operation accepts (its scheme's description,
    e.g. ``NEWSREC_CMS_TOKEN``), or ``None`` when it takes none."""
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for requirement in op.get("security", []):
        for name in requirement:
            scheme = schemes.get(name, {})
            if scheme.get("scheme") == "bearer":
                description: str = scheme.get("description", "a token")
                return description
    return None
