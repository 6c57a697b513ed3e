"""What the documentation states about the code holds: links, sizes, pages it opens."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = sorted(
    [ROOT / "README.md", ROOT / "models" / "README.md", *(ROOT / "docs").glob("*.md")]
)
STATIC = ROOT / "service" / "static"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return [
        target
        for target in re.findall(r"\]\(([^)\s]+)\)", text)
        if not re.match(r"[a-z]+:", target)  # http:, https:, mailto:
    ]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_relative_links_reach_a_file_and_a_heading(path: Path) -> None:
    broken = []
    for target in _links(path):
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert not broken, broken


def test_models_readme_links_the_bundle_section() -> None:
    links = _links(ROOT / "models" / "README.md")
    assert any("README.md#" in link for link in links), links


def _near(stated: str, actual_bytes: int) -> bool:
    """A size written in kB (``8.3``, ``3``) is the actual size rounded as written."""
    decimals = len(stated.partition(".")[2])
    return abs(float(stated) - actual_bytes / 1000) <= 0.5 * 10**-decimals + 1e-9


def test_widget_doc_states_the_sizes_served() -> None:
    text = (ROOT / "docs" / "widget.md").read_text()
    found = re.search(
        r"`/widget\.js` is about \*\*([\d.]+) kB\*\* \(\*\*([\d.]+) kB\*\* gzipped.*?"
        r"`/widget\.css` is about ([\d.]+) kB \(([\d.]+) kB gzipped\)",
        text,
        flags=re.S,
    )
    assert found, "docs/widget.md no longer states the sizes as this test reads them"
    sizes = []
    for name in ("widget.js", "widget.css"):
        body = (STATIC / name).read_bytes()
        # as the service compresses it (service/widget.py)
        sizes += [len(body), len(gzip.compress(body, compresslevel=9, mtime=0))]
    for stated, actual in zip(found.groups(), sizes, strict=True):
        assert _near(stated, actual), (stated, actual, found.group(0))


def test_docs_open_lines_open_a_page(make_app: object) -> None:
    """`open http://localhost:8000/...` in the docs opens a page, not a redirect."""
    assert callable(make_app)
    app: Flask = make_app()
    client = app.test_client()
    paths = []
    for path in MARKDOWN:
        paths += re.findall(r"^open http://localhost:8000(/\S*)", path.read_text(), flags=re.M)
    assert paths
    for url in paths:
        assert client.get(url).status_code == 200, url
