"""The serving benchmark's baseline: a bare WSGI function answering a fixed 1 KB JSON body.

``bench/serve.py`` runs it under the same gunicorn settings as the service; the service's
throughput is reported as a ratio to this one's, measured in the same run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

_ITEMS = [
    {"id": f"a{i:06d}", "title": f"Baseline article number {i}", "score": 0.5} for i in range(10)
]
_JSON = json.dumps({"article_id": "a000000", "items": _ITEMS}, separators=(",", ":"))
# pad to exactly 1 KB, like a 10-item related answer
BODY = (_JSON[:-1] + ',"pad":"' + "x" * (1024 - len(_JSON) - 9) + '"}').encode()
assert len(BODY) == 1024, len(BODY)
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Every path: 200 and the same 1 KB of JSON (``/readyz`` included)."""
    start_response("200 OK", _HEADERS)
    return [BODY]
