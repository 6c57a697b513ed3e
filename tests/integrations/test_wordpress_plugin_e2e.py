"""The WordPress plugin on a real WordPress, end to end.

Debian's ``wordpress`` (6.1) runs under PHP's built-in server on a free port, on a database of
its own on the machine's MariaDB (``newsrec_test_wp_<pid>``, dropped before and after), with
Debian's twentytwentyone theme. The plugin is installed from the zip ``make wordpress-plugin``
builds and activated; posts are created through WordPress's REST API (an application password),
as an editor would. The story the tests follow:

1. Posts are published while the service is down: each publish waits in the retry queue.
2. The articles file is downloaded with the settings page's button, a bundle is trained on it
   (and on made-up views), and the real service (``python -m service``) starts.
3. WP-Cron runs the retry queue: the service gets every queued post, including one published
   after the export, which only the queue can have delivered.
4. Updates, trash, back to draft and deletion reach the service at once.
5. A post page renders both blocks on the server (and the block and shortcode variants), the
   widget refreshes them in chromium, the view beacon counts a reader's view and is not
   printed for an editor.
6. The settings page reports the connection healthy; "sync all" sends every post.
7. With the service down, pages still render (blocks left out, the failure logged) and a
   publish waits in the queue.

Screenshots: ``test-artifacts/wordpress-post.png`` and ``wordpress-settings.png``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.cookiejar
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import CHROMIUM_ARGS, free_port, require_chromium, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.mysql, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
WORDPRESS = Path("/usr/share/wordpress")
THEME = WORDPRESS / "wp-content" / "themes" / "twentytwentyone"
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "cms-token-for-the-wordpress-test"
ADMIN = ("admin", "admin-password-1")
EDITOR = ("editor", "editor-password-1")
#: A reader's browser: headless chromium's own user agent is a crawler, whose views never count.
READER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
TIMEOUT_MS = 15_000


# --- the machine: PHP, WordPress, MariaDB, chromium ------------------------------------------


def _require_packages() -> str:
    php = shutil.which("php")
    if php is None:
        unavailable("php is missing: install Debian's php-cli (make wordpress-deps)")
    if not (WORDPRESS / "wp-settings.php").exists() or not THEME.exists():
        unavailable(
            "Debian's wordpress or wordpress-theme-twentytwentyone is missing (make wordpress-deps)"
        )
    modules = subprocess.run([php, "-m"], capture_output=True, text=True).stdout
    if "mysqli" not in modules:
        unavailable("PHP has no mysqli: install Debian's php-mysql (make wordpress-deps)")
    return php


@contextlib.contextmanager
def _database(name: str) -> Iterator[str]:
    """A database of this run on the machine's MariaDB, dropped before and after."""
    import pymysql

    def admin() -> Any:
        return pymysql.connect(
            host="127.0.0.1", port=3306, user="root", password="", connect_timeout=3
        )

    try:
        conn = admin()
    except pymysql.MySQLError as exc:
        unavailable(f"MariaDB at 127.0.0.1:3306 is unreachable: {exc}")
    with conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'newsrec\\_test\\_wp\\_%'")
        for (found,) in cur.fetchall():
            pid = str(found).rsplit("_", 1)[-1]
            if found != name and pid.isdigit() and not Path(f"/proc/{pid}").exists():
                cur.execute(f"DROP DATABASE IF EXISTS `{found}`")  # left by a killed run
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield name
    finally:
        with admin() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def _build_zip(out: Path) -> Path:
    """``make wordpress-plugin``'s zip (``wordpress-plugin/build.py``), written to ``out``."""
    spec = importlib.util.spec_from_file_location(
        "plugin_build", ROOT / "wordpress-plugin" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built: Path = module.build(out)
    return built


# --- WordPress ---------------------------------------------------------------------------------

WP_CONFIG = """<?php
define( 'DB_NAME', '{db}' );
define( 'DB_USER', 'root' );
define( 'DB_PASSWORD', '' );
define( 'DB_HOST', '127.0.0.1:3306' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
define( 'WP_HOME', '{origin}' );
define( 'WP_SITEURL', '{origin}' );
define( 'WP_CONTENT_DIR', __DIR__ . '/wp-content' );
define( 'WP_ENVIRONMENT_TYPE', 'local' );  // application passwords over http
define( 'DISABLE_WP_CRON', true );          // the test runs wp-cron.php itself
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_LOG', '{log}' );
define( 'WP_DEBUG_DISPLAY', false );
{salts}
$table_prefix = 'wp_';
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""

ROUTER = """<?php
// PHP's built-in server: existing files as they are, everything else through index.php.
$path = urldecode( parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) );
$file = '{root}' . $path;
if ( '/' !== $path && ( is_file( $file ) || is_file( rtrim( $file, '/' ) . '/index.php' ) ) ) {{
	return false;
}}
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = '{root}/index.php';
require '{root}/index.php';
"""

#: A must-use plugin of the test site: the retry queue retries at once instead of after a
#: minute, so one wp-cron.php run shows the queue at work.
MU_PLUGIN = """<?php
add_filter( 'newsrec_retry_delay', function () { return 0; } );
"""

INSTALL = """
define( 'WP_INSTALLING', true );
require __DIR__ . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
wp_install( 'newsrec test news', '{admin}', 'admin@example.com', true, '', '{admin_password}' );
wp_delete_post( 1, true );  // "Hello world!"
update_option( 'blogdescription', 'A news site for the plugin test' );
update_option( 'timezone_string', 'Europe/Paris' );
switch_theme( 'twentytwentyone' );
global $wp_rewrite;
$wp_rewrite->set_permalink_structure( '/%category%/%postname%/' );
$wp_rewrite->flush_rules( false );
wp_insert_user( array( 'user_login' => '{editor}', 'user_pass' => '{editor_password}',
	'user_email' => 'editor@example.com', 'role' => 'editor', 'display_name' => 'Eda Editor' ) );
$result = activate_plugin( 'newsrec/newsrec.php' );
if ( is_wp_error( $result ) ) {{
	fwrite( STDERR, $result->get_error_message() );
	exit( 1 );
}}
list( $password ) = WP_Application_Passwords::create_new_application_password(
	1, array( 'name' => 'test' ) );
echo json_encode( array( 'app_password' => $password ) );
"""


@dataclass
class Site:
    """The WordPress site, its PHP server and the admin's REST credentials."""

    root: Path
    origin: str
    php: str
    process: subprocess.Popen[bytes] | None = None
    app_password: str = ""
    log: Path = field(default_factory=Path)

    def run_php(self, code: str) -> str:
        """Run PHP in the site (wp-load.php), as WP-CLI would; its output."""
        script = self.root / f"_run_{time.monotonic_ns()}.php"
        script.write_text("<?php\n" + code)
        try:
            result = subprocess.run(
                [self.php, str(script)], capture_output=True, text=True, timeout=60, cwd=self.root
            )
        finally:
            script.unlink()
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def wp(self, code: str) -> Any:
        """A PHP expression's value (JSON) in the loaded site."""
        out = self.run_php(f"require __DIR__ . '/wp-load.php';\necho json_encode({code});")
        return json.loads(out)

    def rest(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The REST API as the admin (application password)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.origin + "/wp-json" + path, data=data, method=method)
        credentials = f"{ADMIN[0]}:{self.app_password}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        # PHP_CLI_SERVER_WORKERS forks workers that outlive their parent: stop the whole group
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)


def _install_site(tmp: Path, php: str, db: str, service_url: str) -> Site:
    root = tmp / "wordpress"
    shutil.copytree(WORDPRESS, root, symlinks=True)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    salts = "\n".join(
        f"define( '{name}', '{os.urandom(24).hex()}' );"
        for name in [
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        ]
    )
    log = tmp / "wordpress-debug.log"
    (root / "wp-config.php").write_text(
        WP_CONFIG.format(db=db, origin=origin, log=log, salts=salts)
    )
    router = tmp / "router.php"
    router.write_text(ROUTER.format(root=root))
    content = root / "wp-content"
    (content / "mu-plugins").mkdir(exist_ok=True)
    (content / "mu-plugins" / "newsrec-test.php").write_text(MU_PLUGIN)
    # the plugin as a site owner installs it: from the zip
    with zipfile.ZipFile(_build_zip(tmp / "newsrec-wordpress.zip")) as archive:
        archive.extractall(content / "plugins")
    site = Site(root=root, origin=origin, php=php, log=log)
    out = site.run_php(
        INSTALL.format(
            admin=ADMIN[0], admin_password=ADMIN[1], editor=EDITOR[0], editor_password=EDITOR[1]
        )
    )
    site.app_password = json.loads(out)["app_password"]
    settings = {
        "service_url": service_url,
        "public_url": "",
        "related_enabled": 1,
        "most_viewed_enabled": 1,
        "auto_place": 1,
        "widget": 1,
        "widget_css": 1,
        "count_views": 1,
        "n": 4,
        "window": "7d",
        "related_title": "",
        "most_viewed_title": "",
        "cache_ttl": 60,
        "timeout": 3,
        "post_types": ["post"],
    }
    site.run_php(
        "require __DIR__ . '/wp-load.php';\n"
        f"update_option( 'newsrec_settings', json_decode( '{json.dumps(settings)}', true ) );\n"
        f"update_option( 'newsrec_token', '{TOKEN}', false );\n"
    )
    env = dict(os.environ, PHP_CLI_SERVER_WORKERS="4")
    with open(tmp / "php-server.log", "wb") as out_log:
        site.process = subprocess.Popen(
            [php, "-S", f"127.0.0.1:{port}", "-t", str(root), str(router)],
            cwd=root,
            env=env,
            start_new_session=True,  # its own process group, which stop() ends
            stdout=out_log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(origin + "/wp-json/", timeout=5) as response:
                if response.status == 200:
                    return site
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if site.process.poll() is not None or time.monotonic() > deadline:
            site.stop()
            pytest.fail("WordPress did not start:\n" + (tmp / "php-server.log").read_text()[-3000:])
        time.sleep(0.2)


class Browserless:
    """A logged-in WordPress user without a browser: cookies, nonces from the pages."""

    def __init__(self, site: Site, user: tuple[str, str]) -> None:
        self.site = site
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.jar.set_cookie(_cookie("wordpress_test_cookie", "WP Cookie check", site.origin))
        form = urllib.parse.urlencode(
            {
                "log": user[0],
                "pwd": user[1],
                "testcookie": "1",
                "redirect_to": site.origin + "/wp-admin/",
            }
        ).encode()
        with self.opener.open(site.origin + "/wp-login.php", data=form, timeout=30) as response:
            assert "/wp-admin" in response.url, f"login of {user[0]} failed: {response.url}"

    def get(self, path: str) -> str:
        with self.opener.open(self.site.origin + path, timeout=30) as response:
            return str(response.read().decode())

    def post(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.site.origin + path, data=data, timeout=60) as response:
            return response.status, dict(response.headers), response.read()


def _cookie(name: str, value: str, origin: str) -> http.cookiejar.Cookie:
    host = urllib.parse.urlsplit(origin).hostname or ""
    return http.cookiejar.Cookie(
        0,
        name,
        value,
        None,
        False,
        host,
        False,
        False,
        "/",
        True,
        False,
        None,
        False,
        None,
        None,
        {},
    )


def _form_nonce(page: str, action: str) -> str:
    """The nonce of the settings page's form posting ``action``."""
    form = re.search(
        r'<input type="hidden" name="action" value="'
        + action
        + r'">.*?name="_wpnonce" value="([0-9a-f]+)"',
        page,
        re.S,
    )
    assert form is not None, f"no form for {action}"
    return form.group(1)


# --- the service -------------------------------------------------------------------------------


@dataclass
class Service:
    url: str
    port: int
    models: Path
    directory: Path
    origin: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSREC_", "PROMETHEUS_"))}
        env.update(
            {
                "NEWSREC_MODELS_DIR": str(self.models),
                "NEWSREC_HOST": "127.0.0.1",
                "NEWSREC_PORT": str(self.port),
                "NEWSREC_WORKERS": "1",  # no Redis: live state in the one worker
                "NEWSREC_LOG_LEVEL": "WARNING",
                "NEWSREC_CORS_ORIGINS": self.origin,
                "NEWSREC_CMS_TOKEN": TOKEN,
                "NEWSREC_NOW_FROM_CLOCK": "1",
                "NEWSREC_EVENT_LOG_DIR": str(self.directory / "events"),
                "NEWSREC_LIVE_REFRESH_SECONDS": "1",
                "PYTHONPATH": str(ROOT),
            }
        )
        log = self.directory / "service.log"
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service"],
                env=env,
                cwd=self.directory,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + 60
        while True:
            with (
                contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
                urllib.request.urlopen(self.url + "/readyz", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the service did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def _wait_for(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


# --- the story's setup -------------------------------------------------------------------------


@dataclass
class World:
    site: Site
    service: Service
    posts: dict[str, int]  # name -> post ID
    stories: dict[int, str]  # post ID -> story (topic) of the sample
    links: dict[int, str]  # post ID -> permalink
    exported: list[dict[str, Any]]


def _sample_posts(tmp: Path) -> list[dict[str, Any]]:
    """15 articles of the generated sample, 5 from each of its 3 largest stories."""
    from recommender.sources.sample import generate_sample, read_topics

    info = generate_sample(tmp / "sample", n_articles=80, days=3, seed=11)
    topics = read_topics(info.topics_path)
    by_story: dict[str, list[dict[str, Any]]] = {}
    with open(info.articles_path, encoding="utf-8") as lines:
        for line in lines:
            article = json.loads(line)
            by_story.setdefault(topics[article["id"]], []).append(article)
    largest = sorted(by_story, key=lambda story: (-len(by_story[story]), story))[:3]
    chosen = []
    for story in largest:
        for article in by_story[story][:5]:
            chosen.append({**article, "story": story})
    return chosen


def _views(exported: list[dict[str, Any]], stories: dict[int, str], path: Path) -> None:
    """Made-up reading: sessions that read three posts of one story in the last day."""
    rng = random.Random(5)
    by_story: dict[str, list[str]] = {}
    for article in exported:
        by_story.setdefault(stories[int(article["id"])], []).append(article["id"])
    now = dt.datetime.now(dt.UTC)
    lines = ["article_id,session_id,timestamp"]
    for session in range(150):
        story = sorted(by_story)[session % len(by_story)]
        start = now - dt.timedelta(hours=rng.uniform(1, 20))
        for step, article_id in enumerate(rng.sample(by_story[story], 3)):
            when = (start + dt.timedelta(minutes=2 * step)).isoformat().replace("+00:00", "Z")
            lines.append(f"{article_id},s{session},{when}")
    path.write_text("\n".join(lines) + "\n")


def _queue(site: Site) -> dict[str, Any]:
    queue = site.wp("get_option( 'newsrec_queue', array() )")
    return queue if isinstance(queue, dict) else {}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    php = _require_packages()
    require_chromium()
    tmp = tmp_path_factory.mktemp("wordpress")
    service_port = free_port()  # reserved: nothing listens there yet (the service is "down")
    with _database(f"newsrec_test_wp_{os.getpid()}") as db:
        site = _install_site(tmp, php, db, f"http://127.0.0.1:{service_port}")
        service = Service(
            f"http://127.0.0.1:{service_port}", service_port, tmp / "models", tmp, site.origin
        )
        try:
            yield _story_setup(tmp, site, service)
        finally:
            service.stop()
            site.stop()


def _story_setup(tmp: Path, site: Site, service: Service) -> World:
    from recommender.train import TrainConfig, train

    sample = _sample_posts(tmp)
    categories = {
        name: site.rest("POST", "/wp/v2/categories", {"name": name.capitalize()})["id"]
        for name in sorted({a["category"] for a in sample})
    }
    tag_ids: dict[str, int] = {}
    posts: dict[str, int] = {}
    stories: dict[int, str] = {}
    links: dict[int, str] = {}
    for number, article in enumerate(sample):
        for tag in article["tags"]:
            if tag not in tag_ids:
                tag_ids[tag] = site.rest("POST", "/wp/v2/tags", {"name": tag})["id"]
        content = "\n".join(re.findall(r"<p>.*?</p>", article["body"], flags=re.S)[:4])
        if number == 1:  # one post places the related block itself, one a shortcode
            content += '\n<!-- wp:newsrec/related {"n":3,"title":"Block related"} /-->'
        if number == 2:
            content += '\n[newsrec_most_viewed n="3" title="Top three" window="all"]'
        created = site.rest(
            "POST",
            "/wp/v2/posts",
            {
                "title": article["title"],
                "content": content,
                "status": "publish",
                "categories": [categories[article["category"]]],
                "tags": [tag_ids[t] for t in article["tags"]],
            },
        )
        posts[f"p{number}"] = created["id"]
        stories[created["id"]] = article["story"]
        links[created["id"]] = created["link"]
    others = {
        "draft": {"status": "draft"},
        "private": {"status": "private"},
        "protected": {"status": "publish", "password": "secret"},
    }
    for name, fields in others.items():
        body = {"title": f"A {name} post", "content": "<p>Not for lists.</p>", **fields}
        posts[name] = site.rest("POST", "/wp/v2/posts", body)["id"]
    posts["page"] = site.rest(
        "POST",
        "/wp/v2/pages",
        {"title": "About us", "content": "<p>A page.</p>", "status": "publish"},
    )["id"]

    # 1. The service is down: every published post waits in the retry queue, nothing else does.
    queued = _queue(site)
    assert sorted(int(k) for k in queued) == sorted(stories), queued
    assert all(entry["op"] == "put" for entry in queued.values())

    # 2. The articles file from the settings page's button, then a bundle trained on it.
    admin = Browserless(site, ADMIN)
    page = admin.get("/wp-admin/options-general.php?page=newsrec")
    nonce = _form_nonce(page, "newsrec_export")
    status, headers, body = admin.post(
        "/wp-admin/admin-post.php", {"action": "newsrec_export", "_wpnonce": nonce}
    )
    assert status == 200 and "attachment" in headers.get("Content-Disposition", "")
    exported = [json.loads(line) for line in body.decode().splitlines()]
    articles = tmp / "articles.jsonl"
    articles.write_bytes(body)

    # one more post after the export: only the retry queue can bring it to the service
    late = sample[0]
    created = site.rest(
        "POST",
        "/wp/v2/posts",
        {
            "title": "Late: " + late["title"],
            "content": "\n".join(re.findall(r"<p>.*?</p>", late["body"], flags=re.S)[:4]),
            "status": "publish",
            "categories": [categories[late["category"]]],
        },
    )
    posts["late"] = created["id"]
    stories[created["id"]] = late["story"]
    links[created["id"]] = created["link"]
    views = tmp / "views.csv"
    _views(exported, stories, views)
    train(articles, views, service.models, config=TrainConfig(min_df=1, max_df=0.5))
    service.start()

    # 3. WP-Cron runs the retry queue, as page visits trigger it on a live site: a run takes at
    # most one batch, and a try that timed out on a loaded machine is due again at once.
    def cron_emptied_the_queue() -> bool:
        with urllib.request.urlopen(site.origin + "/wp-cron.php?doing_wp_cron", timeout=60):
            pass
        return not _queue(site)

    _wait_for(cron_emptied_the_queue, "WP-Cron to empty the retry queue", timeout=120)
    return World(site, service, posts, stories, links, exported)


# --- the tests ---------------------------------------------------------------------------------


def _sample_ids(world: World) -> list[int]:
    return [world.posts[f"p{n}"] for n in range(15)]


def test_export_is_the_articles_file_of_the_published_posts(world: World) -> None:
    from recommender.data.articles import read_articles

    exported = {int(a["id"]): a for a in world.exported}
    assert sorted(exported) == sorted(_sample_ids(world))  # no draft, private, protected, page
    first = exported[world.posts["p0"]]
    assert first["url"] == world.links[world.posts["p0"]]
    assert set(first) == {
        "id", "title", "body", "category", "tags", "author", "published_at", "url", "image_url",
        "status", "language",
    }  # fmt: skip
    assert first["category"] in {"Economy", "Politics"} and first["tags"]
    assert first["author"] == "admin" and first["status"] == "published"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["published_at"])
    shortcode = exported[world.posts["p2"]]["body"]
    assert "<" not in first["body"] and "newsrec_most_viewed" not in shortcode
    table = read_articles(world.site.root.parent / "articles.jsonl")
    assert len(table.articles) == 15 and not table.invalid


def test_the_retry_queue_delivered_what_was_published_while_the_service_was_down(
    world: World,
) -> None:
    status, late = world.service.get(f"/v1/articles/{world.posts['late']}")
    assert status == 200 and late["title"].startswith("Late: "), late
    for name in ("draft", "private", "protected", "page"):
        assert world.service.get(f"/v1/articles/{world.posts[name]}")[0] == 404, name


def test_updates_and_unpublishing_reach_the_service_at_once(world: World) -> None:
    site, service, posts = world.site, world.service, world.posts
    site.rest("POST", f"/wp/v2/posts/{posts['p3']}", {"title": "An updated headline"})
    assert service.get(f"/v1/articles/{posts['p3']}")[1]["title"] == "An updated headline"
    site.rest("DELETE", f"/wp/v2/posts/{posts['p4']}")  # to the trash
    site.rest("POST", f"/wp/v2/posts/{posts['p5']}", {"status": "draft"})
    site.rest("DELETE", f"/wp/v2/posts/{posts['p6']}?force=true")  # deleted for good
    site.rest("POST", f"/wp/v2/posts/{posts['p7']}", {"password": "now-secret"})
    gone = {posts[f"p{n}"] for n in (4, 5, 6, 7)}
    for post_id in gone:
        assert service.get(f"/v1/articles/{post_id}")[0] == 404, post_id
    for post_id in (posts["p0"], posts["p8"], posts["p12"]):
        _, related = service.get(f"/v1/articles/{post_id}/related?n=20")
        assert not gone & {int(item["id"]) for item in related["items"]}
    assert _queue(site) == {}


def _block(html: str, kind: str) -> list[str]:
    """The hrefs of the cards of each block of ``kind`` in a page."""
    blocks = re.findall(
        r'<div class="newsrec-block newsrec-block--' + kind + r'"[^>]*>(.*?)</section></div>',
        html,
        re.S,
    )
    return [re.findall(r'<a class="newsrec__card" href="([^"]+)"', block) for block in blocks]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode())


def test_post_pages_render_the_blocks_on_the_server(world: World) -> None:
    posts, links = world.posts, world.links
    p0 = posts["p0"]
    html = _get(links[p0])
    (related,) = _block(html, "related")
    (most_viewed,) = _block(html, "most-viewed")
    assert len(related) == 4 and len(most_viewed) == 4
    by_link = {link: post_id for post_id, link in links.items()}
    related_ids = [by_link[href] for href in related]  # real permalinks of this site
    assert p0 not in related_ids
    same_story = [i for i in related_ids if world.stories[i] == world.stories[p0]]
    assert len(same_story) >= 3, (related_ids, world.stories)
    assert f'data-newsrec-related data-article-id="{p0}"' in html
    # progressive enhancement: the widget (async, sending no view of its own) and the beacon
    assert re.search(
        r"<script async data-newsrec-beacon=\"off\" src=['\"]http://127[^'\"]+/widget\.js['\"]",
        html,
    )
    assert f'window.newsrecView = {{"events":"{world.service.url}","id":"{p0}"}}' in html.replace(
        "\\/", "/"
    )
    # the block and the shortcode where a post places them; no second related block then
    block_post = _get(links[posts["p1"]])
    assert len(_block(block_post, "related")) == 1 and ">Block related</h2>" in block_post
    assert len(_block(block_post, "related")[0]) == 3
    shortcode_post = _get(links[posts["p2"]])
    assert ">Top three</h2>" in shortcode_post
    assert len(_block(shortcode_post, "most-viewed")) == 1
    assert len(_block(shortcode_post, "most-viewed")[0]) == 3
    # an editor reads without counting
    editor = Browserless(world.site, EDITOR).get(urllib.parse.urlsplit(links[p0]).path)
    assert _block(editor, "related") and "newsrecView" not in editor
    # no blocks and no beacon on a page
    about = _get(world.site.origin + f"/?page_id={posts['page']}")
    assert "About us" in about and "newsrec-block" not in about and "newsrecView" not in about


def test_in_chromium_the_widget_refreshes_the_blocks_and_a_view_counts(world: World) -> None:
    from playwright.sync_api import sync_playwright

    p0 = world.posts["p0"]
    before = world.service.get(f"/v1/articles/{p0}")[1]["views"]["all"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(require_chromium()), args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, user_agent=READER_UA, locale="en-GB"
            )
            page = context.new_page()
            errors: list[str] = []
            beacons: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.on(
                "request",
                lambda request: (
                    beacons.append(request.post_data or "")
                    if request.url == world.service.url + "/v1/events"
                    else None
                ),
            )
            page.goto(world.links[p0])
            for marker in ("data-newsrec-related", "data-newsrec-most-viewed"):
                page.wait_for_selector(f"[{marker}][data-newsrec-state=done]", timeout=TIMEOUT_MS)
            cards = page.locator("[data-newsrec-related] .newsrec__card")
            assert cards.count() == 4
            assert page.locator("[data-newsrec-most-viewed] .newsrec__card").count() == 4
            page.locator("[data-newsrec-related]").scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "wordpress-post.png"), full_page=True)
            assert errors == []
            assert len(beacons) == 1 and json.loads(beacons[0])["article_id"] == str(p0)
            context.close()
        finally:
            browser.close()
    _wait_for(
        lambda: world.service.get(f"/v1/articles/{p0}")[1]["views"]["all"] == before + 1,
        "the reader's view to count",
    )


def test_the_settings_page_shows_a_healthy_connection_and_syncs_all(world: World) -> None:
    from playwright.sync_api import sync_playwright

    published = world.site.wp(
        "count( get_posts( array( 'post_type' => 'post', 'post_status' => 'publish',"
        " 'has_password' => false, 'numberposts' => -1, 'fields' => 'ids' ) ) )"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(require_chromium()), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(world.site.origin + "/wp-login.php")
            page.fill("#user_login", ADMIN[0])
            page.fill("#user_pass", ADMIN[1])
            page.click("#wp-submit")
            page.wait_for_url("**/wp-admin/**")
            page.goto(world.site.origin + "/wp-admin/options-general.php?page=newsrec")
            assert TOKEN not in page.content()  # never printed back
            assert "A token is saved" in page.content()
            page.click("#newsrec-test")
            status = page.locator("#newsrec-status")
            status.wait_for(timeout=TIMEOUT_MS)
            text = status.inner_text()
            assert status.get_attribute("data-ok") == "1", text
            assert "Service ready" in text and "CMS token accepted" in text
            assert "may call the service (CORS)" in text
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "wordpress-settings.png"), full_page=True)
            page.click("#newsrec-sync-all")
            page.locator("#newsrec-status").wait_for(timeout=TIMEOUT_MS)
            synced = page.locator("#newsrec-status").inner_text()
            assert f"Sync all: {published} posts sent, 0 queued for retry." in synced
        finally:
            browser.close()


def test_with_the_service_down_pages_render_without_blocks_and_changes_wait(
    world: World,
) -> None:
    site, posts = world.site, world.posts
    world.service.stop()
    site.run_php(
        "require __DIR__ . '/wp-load.php';\n"
        "global $wpdb;\n"
        '$wpdb->query( "DELETE FROM {$wpdb->options}"\n'
        "    . \" WHERE option_name LIKE '%transient%newsrec_list%'\" );\n"
    )
    started = time.monotonic()
    html = _get(world.links[posts["p8"]])
    assert time.monotonic() - started < 10
    assert "newsrec-block" not in html and "entry-content" in html
    log = site.wp("get_option( 'newsrec_log' )")
    assert any("/related" in entry[1] and "no answer" in entry[1] for entry in log), log
    site.rest("POST", f"/wp/v2/posts/{posts['p9']}", {"title": "Edited while down"})
    assert _queue(site)[str(posts["p9"])]["op"] == "put"


def test_the_plugin_raised_no_php_warning_on_the_way(world: World) -> None:
    log = world.site.log.read_text() if world.site.log.exists() else ""
    problems = [
        line
        for line in log.splitlines()
        if re.search(r"PHP (Warning|Notice|Deprecated|Fatal error|Parse error)", line)
        and "plugins/newsrec/" in line
    ]
    assert problems == []
    assert "newsrec: PUT post" in log  # the log is the one WordPress wrote during the story
