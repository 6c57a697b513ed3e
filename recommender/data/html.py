"""HTML to plain text: article bodies arrive as CMS markup."""

from __future__ import annotations

import html
import re

__all__ = ["strip_html"]


#: Tags that separate words: they become a space (``<p>a</p><p>b</p>`` -> "a b"); any other
#: tag is removed without a trace (``wo<b>rd</b>`` -> "word").
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "iframe", "img", "li", "main", "nav", "ol", "p", "pre", "section", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_ATTRIBUTES = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""  # a ">" inside a quoted value does not end a tag
#: One token of markup, tried left to right like a tokenizer: an element whose content is
#: never shown (group 1 names it; unclosed means "to the end"), a comment, a tag (group 2
#: names it), a declaration or processing instruction. Text between tokens is kept, so a
#: "<" that starts none of them ("a < b", "<3") stays text.
_MARKUP = re.compile(
    r"<(script|style|template|noscript)(?=[\s/>])" + _ATTRIBUTES + r"(?<!/)>.*?(?:</\1\s*>|\Z)"
    r"|<!--.*?(?:-->|\Z)"
    r"|</?([a-z][^\s/>]*)" + _ATTRIBUTES + r">"
    r"|<[!?][^>]*>",
    re.IGNORECASE | re.DOTALL,
)


def _markup_gap(match: re.Match[str]) -> str:
    name = match.group(2)
    return " " if name is not None and name.lower() in _BLOCK_TAGS else ""


def strip_html(text: str) -> str:
    """Turn an HTML fragment into plain text.

    Tags, comments and declarations are removed, character references (``&amp;``,
    ``&#233;``, ``&nbsp;``) decoded, the contents of ``<script>``, ``<style>``,
    ``<template>`` and ``<noscript>`` dropped, block elements (``<p>``, ``<br>``, ``<li>``
    ...) separate words, and runs of whitespace (including non-breaking spaces) are
    collapsed to one space.

    Parameters
    ----------
    text : str
        HTML fragment or plain text.

    Returns
    -------
    str
        The visible text, stripped, single-spaced.

    Notes
    -----
    This is one compiled regular expression plus :func:`html.unescape`, not
    :class:`html.parser.HTMLParser`: it gives the same text as an ``HTMLParser`` subclass on
    news markup (the tests compare the two) and is about five times faster, which matters at
    100k articles. Like a browser, and unlike ``HTMLParser``, it treats an unclosed
    ``<!--`` as a comment running to the end.

    Examples
    --------
    >>> strip_html("<p>Caf&eacute;</p><script>x()</script><p>open</p>")
    'Café open'
    """
    if "<" in text:
        text = _MARKUP.sub(_markup_gap, text)
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split())
