"""Tests of ``recommender.data.html``: HTML to text, against ``html.parser`` as an oracle."""

from __future__ import annotations

import random
from html.parser import HTMLParser

import pytest

from recommender.data.html import strip_html

# ---------------------------------------------------------------------------------------------
# strip_html
# ---------------------------------------------------------------------------------------------


def test_strip_html_removes_tags_scripts_styles_and_decodes_entities() -> None:
    html = (
        "<div><h1>Caf&eacute; &amp; bar</h1><script>var s = '<p>no</p>';</script>"
        "<style>p { color: red }</style><p>Open&nbsp;now,<br>every&#160;day</p>"
        "<!-- a comment --><p>It&#39;s <b>bold</b>ly <a href='x'>linked</a>.</p></div>"
    )
    assert strip_html(html) == "Café & bar Open now, every day It's boldly linked."


def test_strip_html_block_tags_separate_words() -> None:
    assert strip_html("<p>one</p><p>two</p><ul><li>three</li><li>four</li></ul>") == (
        "one two three four"
    )


def test_strip_html_plain_text_only_collapses_whitespace() -> None:
    assert strip_html("  plain\n\ttext   here ") == "plain text here"
    assert strip_html("a < b and c > d") == "a < b and c > d"


def test_strip_html_unclosed_script_drops_the_rest() -> None:
    assert strip_html("visible <script>hidden(") == "visible"


class _ReferenceText(HTMLParser):
    """The slow, obviously right way: the stdlib tokenizer, keeping visible text only."""

    hidden_tags = frozenset({"script", "style", "template", "noscript"})
    block_tags = frozenset(
        {
            "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl",
            "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
            "header", "hr", "iframe", "img", "li", "main", "nav", "ol", "p", "pre", "section",
            "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.hidden_tags:
            self.hidden += 1
        elif tag in self.block_tags:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.hidden_tags:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.block_tags:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _reference_strip_html(text: str) -> str:
    parser = _ReferenceText()
    parser.feed(text)
    parser.close()
    return " ".join("".join(parser.parts).split())


_TRICKY_HTML = [
    "a<script>var a='<!--';</script><p>text</p>",
    "<SCRIPT type='x'>x</script >y",
    "<script src='a.js'/>after",
    "a<!-- c -->b",
    '<a href="x>y">link</a>',
    "if a<b then",
    "x < y > z",
    "<p>a</P>b",
    "t&amp;t &lt;b&gt; &copy &#x41; &#233;",
    "<br/>a<br />b",
    "<style>p{}</style>q",
    "<noscript><img src=x>no js</noscript>js",
    "<?xml version='1.0'?>doc",
    "<!DOCTYPE html>d",
    "<script>never closed",
    "<div\nclass='x'\n>multi\nline</div>",
    "wo<b>rd</b>",
    "<p class=>x</p>",
    "&nbsp;a&nbsp;",
    "<ul><li>1<li>2</ul>",
    "<img alt='a > b'>c",
    '<a title="it\'s">x</a>',
    "5 <3 love",
    "a</b c>d",
    "<scripts>x</scripts>",
    "<figure><img src='x.jpg'/><figcaption>Cap</figcaption></figure>Body",
]


@pytest.mark.parametrize("text", _TRICKY_HTML)
def test_strip_html_matches_htmlparser_reference(text: str) -> None:
    assert strip_html(text) == _reference_strip_html(text)


def test_strip_html_matches_htmlparser_on_random_markup() -> None:
    rng = random.Random(7)
    pieces = ["word", "Caf&eacute;", "&amp;", " ", "\n", "<p>", "</p>", "<b>", "</b>", "<br>",
              "<a href='x.html?a=1&b=2'>", "</a>", "<div class=\"c\">", "</div>", "<li>", "a < b",
              "<script>if (a<b) x('</p>');</script>", "<style>.x{}</style>", "<!-- note -->",
              "<img src=\"i.png\" alt=\"1 > 0\"/>", "&#8217;", "<span>", "</span>"]  # fmt: skip
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40)))
        assert strip_html(text) == _reference_strip_html(text), text


def test_strip_html_unclosed_comment_runs_to_the_end() -> None:
    # The one documented difference from HTMLParser, which would keep the text.
    assert strip_html("a<!-- never closed") == "a"
