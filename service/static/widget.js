/*! newsrec widget: related articles and most viewed for news pages. Docs: docs/widget.md */
(function () {
  "use strict";
  // Included twice (theme and plugin, say): the first copy does the work.
  if (window.newsrecWidget) return;

  var RELATED = "data-newsrec-related";
  var MOST_VIEWED = "data-newsrec-most-viewed";
  var STATE = "data-newsrec-state";
  var TIMEOUT_MS = 5000;
  var SESSION_KEY = "newsrec_session";
  // A visit ends after 30 idle minutes, as the training's session split (session_gap_minutes).
  var SESSION_GAP_MS = 30 * 60 * 1000;
  var MAX_EXCLUDE = 100;
  // Items asked for beyond the block's n: one without a usable link (no http(s) URL, or no
  // title) is left out, and the next one takes its place.
  var SPARE = 3;
  var script = document.currentScript ||
    document.querySelector("script[data-newsrec-api],script[src*='/widget.js']");
  var api = script && apiBase(script);
  var viewSent = false;
  if (!api) return;
  // views may go to a pool of their own (NEWSREC_EVENTS_PORT); default: the same service
  var eventsBase = (httpUrl(script.getAttribute("data-newsrec-events")) || api).replace(/\/+$/, "");

  function httpUrl(value) {
    if (!value) return null;
    try {
      var url = new URL(String(value), document.baseURI);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function apiBase(tag) {
    var given = tag.getAttribute("data-newsrec-api");
    var src = tag.src || "";
    if (!given && !/\/widget\.js([?#].*)?$/.test(src)) return null;
    var base = httpUrl(given || src.replace(/\/widget\.js([?#].*)?$/, "/"));
    return base && base.replace(/\/+$/, "");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function count(block) {
    var n = block.getAttribute("data-n") || "";
    return /^[1-9][0-9]?$/.test(n) ? n : "5";
  }

  function hide(block) {
    block.hidden = true;
    block.setAttribute(STATE, "empty");
  }

  function formatDate(iso) {
    var date = new Date(iso);
    var options = { year: "numeric", month: "short", day: "numeric" };
    if (isNaN(date.getTime())) return null;
    try {
      return date.toLocaleDateString(document.documentElement.lang || undefined, options);
    } catch (e) { // a lang attribute that is no valid locale
      return date.toLocaleDateString(undefined, options);
    }
  }

  function card(item) {
    var href = item && httpUrl(item.url);
    if (!href || !item.title) return null;
    var li = el("li", "newsrec__item");
    var link = el("a", "newsrec__card");
    var src = httpUrl(item.image_url);
    var meta = el("span", "newsrec__meta");
    var date = item.published_at && formatDate(item.published_at);
    link.href = href;
    if (src) {
      var img = el("img", "newsrec__image");
      // Decorative: the headline in the same link names it (WCAG technique H2).
      img.setAttribute("alt", "");
      img.setAttribute("loading", "lazy");
      img.setAttribute("decoding", "async");
      img.addEventListener("error", function () { img.remove(); });
      img.src = src;
      link.appendChild(img);
    }
    link.appendChild(el("span", "newsrec__headline", String(item.title)));
    if (item.category) meta.appendChild(el("span", "newsrec__section", String(item.category)));
    if (date) {
      var time = el("time", "newsrec__date", date);
      time.setAttribute("datetime", String(item.published_at));
      meta.appendChild(time);
    }
    if (meta.firstChild) link.appendChild(meta);
    li.appendChild(link);
    return li;
  }

  function render(block, kind, title, items, n) {
    var section = el("section", "newsrec newsrec--" + kind);
    var level = block.getAttribute("data-heading-level") || "";
    var list = el(kind === "most-viewed" ? "ol" : "ul", "newsrec__list");
    for (var i = 0; i < items.length && list.childNodes.length < n; i++) {
      var item = card(items[i]);
      if (item) list.appendChild(item);
    }
    if (!list.firstChild) return hide(block);
    section.setAttribute("aria-label", title);
    section.appendChild(el(/^[2-6]$/.test(level) ? "h" + level : "h2", "newsrec__title", title));
    section.appendChild(list);
    while (block.firstChild) block.removeChild(block.firstChild);
    block.appendChild(section);
    block.hidden = false;
    block.setAttribute(STATE, "done");
  }

  function load(block, kind, path, params, title) {
    var abort = window.AbortController ? new AbortController() : null;
    var timer = abort && setTimeout(function () { abort.abort(); }, TIMEOUT_MS);
    var n = Number(params.get("n"));
    block.setAttribute(STATE, "loading");
    function ask(wanted) {
      params.set("n", String(wanted));
      return fetch(api + path + "?" + params, {
        credentials: "omit",
        signal: abort ? abort.signal : undefined
      });
    }
    // A service that is down, slow or answers an error leaves the page as if no block was there.
    ask(n + SPARE).then(function (response) {
      // n + SPARE over the service's NEWSREC_MAX_N: ask for n alone
      return response.status === 400 ? ask(n) : response;
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (body) {
      render(block, kind, title, body && Array.isArray(body.items) ? body.items : [], n);
    }).catch(function () {
      hide(block);
    }).then(function () {
      clearTimeout(timer);
    });
  }

  function excluded(block, id) {
    var seen = {};
    var ids = [];
    var nodes = document.querySelectorAll("[data-article-id]");
    var given = (block.getAttribute("data-exclude") || "").split(",");
    for (var i = 0; i < nodes.length; i++) given.push(nodes[i].getAttribute("data-article-id"));
    for (var j = 0; j < given.length && ids.length < MAX_EXCLUDE; j++) {
      var other = (given[j] || "").trim();
      // The API refuses the whole request over one id it cannot take: leave such ids out.
      if (other && other !== id && !seen[other] && other.length <= 200 &&
          !/[,\u0000-\u001f\u007f-\u009f]/.test(other)) {
        seen[other] = true;
        ids.push(other);
      }
    }
    return ids.sort();
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function sessionId() {
    var now = Date.now();
    var names = ["localStorage", "sessionStorage"];
    for (var i = 0; i < names.length; i++) {
      try { // storage can be blocked (privacy settings, sandboxed frames) or full
        var store = window[names[i]];
        var saved = JSON.parse(store.getItem(SESSION_KEY) || "null");
        var fresh = saved && now - saved.at < SESSION_GAP_MS && /^[0-9a-f]{32}$/.test(saved.id);
        var id = fresh ? saved.id : randomId();
        store.setItem(SESSION_KEY, JSON.stringify({ id: id, at: now }));
        return id;
      } catch (e) {
        continue;
      }
    }
    return randomId();
  }

  function sendView(id) {
    if (viewSent || script.getAttribute("data-newsrec-beacon") === "off") return;
    viewSent = true;
    try { // text/plain: a simple request, no preflight; the answer (even a 404) is never read
      navigator.sendBeacon(eventsBase + "/v1/events", JSON.stringify({
        type: "view", article_id: id, session_id: sessionId()
      }));
    } catch (e) {
      return;
    }
  }

  function related(block) {
    var id = block.getAttribute("data-article-id");
    var params = new URLSearchParams({ n: count(block) });
    if (!id) return hide(block);
    var exclude = excluded(block, id);
    if (exclude.length) params.set("exclude", exclude.join(","));
    load(block, "related", "/v1/articles/" + encodeURIComponent(id) + "/related", params,
      block.getAttribute("data-title") || "You might also like");
    sendView(id);
  }

  function mostViewed(block) {
    var params = new URLSearchParams({ n: count(block) });
    var window_ = block.getAttribute("data-window");
    var category = block.getAttribute("data-category");
    if (window_) params.set("window", window_);
    if (category) params.set("category", category);
    load(block, "most-viewed", "/v1/most-viewed", params,
      block.getAttribute("data-title") || "Most viewed");
  }

  function scan() {
    var blocks = document.querySelectorAll("[" + RELATED + "],[" + MOST_VIEWED + "]");
    for (var i = 0; i < blocks.length; i++) {
      var block = blocks[i];
      if (block.hasAttribute(STATE)) continue;
      try {
        if (block.hasAttribute(RELATED)) related(block);
        else mostViewed(block);
      } catch (e) {
        hide(block);
      }
    }
  }

  // For pages that add blocks after loading (infinite scroll, single-page apps).
  window.newsrecWidget = { scan: scan };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
