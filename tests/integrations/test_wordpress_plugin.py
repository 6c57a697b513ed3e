"""The WordPress plugin's pure parts (``wordpress-plugin/``), with Debian's PHP.

PHPUnit (Debian's ``phpunit``) runs ``wordpress-plugin/tests``: payloads, publish/unpublish
decisions, the retry queue, the escaping of rendered cards, settings validation. Here too: every
PHP file passes ``php -l``, the plugin's plain text equals ``recommender.data.html.strip_html`` (the
live PUT and the trained model must read the same words), and the zip is built as WordPress
expects. ``make test`` installs the packages (``make wordpress-deps``); without them these
tests skip, except under ``CI=true``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from tests.support import unavailable

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "wordpress-plugin"


def _php() -> str:
    php = shutil.which("php")
    if php is None:
        unavailable("php is missing: install Debian's php-cli (make wordpress-deps)")
    return php


def test_plugin_php_unit_tests_pass() -> None:
    _php()
    phpunit = shutil.which("phpunit")
    if phpunit is None:
        unavailable("phpunit is missing: install Debian's phpunit (make wordpress-deps)")
    result = subprocess.run(
        [phpunit, "-c", str(PLUGIN / "tests" / "phpunit.xml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ran = re.search(r"OK \((\d+) tests?, (\d+) assertions?\)", result.stdout)
    assert ran is not None and int(ran.group(1)) >= 40, result.stdout


def test_plugin_php_files_have_no_syntax_errors() -> None:
    php = _php()
    files = sorted(PLUGIN.rglob("*.php"))
    assert len(files) >= 12
    for path in files:
        result = subprocess.run([php, "-l", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


#: Markup of the kinds posts have, and the edge cases strip_html documents.
HTML_SAMPLES = [
    "<p>Caf&eacute;</p><script>x()</script><p>open</p>",
    "<!-- wp:paragraph --><p>Block&nbsp;editor</p><!-- /wp:paragraph -->",
    "wo<b>rd</b> <i>and</i><br>line<br/>two",
    "a < b and c > d, <3",
    '<a href="x" title="a > b">link</a> text',
    "<figure><img src='x.jpg' alt=\"a\"><figcaption>Caption</figcaption></figure>",
    "<ul><li>one</li><li>two</li></ul><table><tr><td>1</td><td>2</td></tr></table>",
    "&#8220;Quoted&#8221; &amp; &lt;escaped&gt; &#x1F600; &hellip;",
    "<style>p { color: red }</style><noscript>no</noscript><template>t</template>after",
    "<!-- unclosed comment <p>hidden</p>",
    "<?php echo 1; ?><!DOCTYPE html>text",
    "multi\n\n  line\t text\u00a0with\u2003spaces",
    "<SCRIPT type='text/javascript'>a<b</SCRIPT>Upper",
    "<div><h2>Head</h2><p>Para <em>emph</em>.</p></div>",
]


def test_plugin_plain_text_is_the_text_training_reads() -> None:
    from recommender.data.html import strip_html
    from recommender.sources.sample import generate_sample

    php = _php()
    samples = list(HTML_SAMPLES)
    script = (
        "define('ABSPATH', '/');"
        f"require '{PLUGIN / 'newsrec' / 'includes' / 'class-newsrec-payload.php'}';"
        "$in = json_decode(stream_get_contents(STDIN), true);"
        "echo json_encode(array_map(array('Newsrec_Payload', 'plain'), $in));"
    )
    with tempfile.TemporaryDirectory() as tmp:
        info = generate_sample(Path(tmp), n_articles=20, days=2, seed=3)
        with open(info.articles_path, encoding="utf-8") as lines:  # real generated bodies too
            samples += [json.loads(line)["body"] for line in lines]
    result = subprocess.run(
        [php, "-r", script], input=json.dumps(samples), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    for html, text in zip(samples, got, strict=True):
        assert text == strip_html(html), html


def test_plugin_zip_holds_one_newsrec_folder_and_is_reproducible(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("plugin_build", PLUGIN / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    first = build.build(tmp_path / "a.zip")
    second = build.build(tmp_path / "b.zip")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        header = archive.read("newsrec/newsrec.php").decode()
    assert all(name.startswith("newsrec/") for name in names)
    for needed in (
        "newsrec/newsrec.php",
        "newsrec/uninstall.php",
        "newsrec/readme.txt",
        "newsrec/blocks/related/block.json",
        "newsrec/blocks/most-viewed/block.json",
        "newsrec/assets/view.js",
    ):
        assert needed in names
    assert not any("/tests/" in name for name in names)
    version = re.search(r"^ \* Version:\s+(\S+)$", header, re.M)
    constant = re.search(r"define\( 'NEWSREC_VERSION', '([^']+)' \)", header)
    assert version and constant and version.group(1) == constant.group(1)
    assert re.search(r"^ \* Text Domain:\s+newsrec$", header, re.M)
