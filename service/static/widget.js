/*! newsrec widget: related articles, new articles and most viewed for news pages. Docs: docs/widget.md */
(function () {
  "use strict";
  // Included twice (theme and plugin, say): the first copy does the work.
  if (window.newsrecWidget) return;

  var RELATED = "data-newsrec-related";
  var LATEST = "data-newsrec-latest";
  var MOST_VIEWED = "data-newsrec-most-viewed";
  var SIZES = "auto, (min-width: 64rem) 16rem, (min-width: 40rem) 30vw, 100vw";
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
  var session = null;
  if (!api) return;
  var beaconOff = script.getAttribute("data-newsrec-beacon") === "off";
  // A click on a list's link reached this page: nr_list/nr_pos go with the view (they count
  // the click if its beacon was lost), and leave the address bar (shared links stay clean).
  var arrived = readArrival();
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

  // A setting of the block, else of the script tag (site-wide), else the default.
  function setting(block, name, fallback) {
    var value = block.getAttribute(name);
    if (value === null) value = script.getAttribute(name);
    return value === null || value === "" ? fallback : value;
  }

  function locale(block) {
    return setting(block, "data-locale", document.documentElement.lang || undefined);
  }

  // Intl's formatter for the page's locale; the browser's own for a locale that is none
  function intl(Format, lang, options) {
    try {
      return new Format(lang, options);
    } catch (e) {
      return new Format(undefined, options);
    }
  }

  function formatDate(iso, lang) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return null;
    return intl(Intl.DateTimeFormat, lang, { year: "numeric", month: "short", day: "numeric" })
      .format(date);
  }

  function formatCount(n, lang) {
    return intl(Intl.NumberFormat, lang, { notation: "compact", maximumFractionDigits: 1 })
      .format(n);
  }

  // "{n} min read": the site's words, the number in its place
  function fill(template, value) {
    var text = String(template);
    return text.indexOf("{n}") < 0 ? value + " " + text : text.replace("{n}", value);
  }

  // A srcset whose every candidate is a web URL with a width or density descriptor, or null.
  function srcset(value) {
    var parts = typeof value === "string" && value.trim() ? value.split(",") : [];
    for (var i = 0; i < parts.length; i++) {
      var words = parts[i].trim().split(/\s+/);
      if (!/^https?:\/\/./.test(words[0]) || !httpUrl(words[0]) || words.length > 2 ||
          (words[1] && !/^([0-9]{1,5}w|[0-9]{1,2}(\.[0-9]{1,3})?x)$/.test(words[1]))) return null;
      parts[i] = words.join(" ");
    }
    return parts.length ? parts.join(", ") : null;
  }

  function readArrival() {
    try {
      var url = new URL(window.location.href);
      var list = url.searchParams.get("nr_list");
      var pos = Number(url.searchParams.get("nr_pos"));
      if (!list) return null;
      url.searchParams.delete("nr_list");
      url.searchParams.delete("nr_pos");
      window.history.replaceState(window.history.state, "", url.href);
      return /^[0-9a-f]{16}$/.test(list) && pos >= 1 && pos <= 999 ? { list: list, pos: pos } : null;
    } catch (e) {
      return null;
    }
  }

  function beacon(events) {
    if (beaconOff) return;
    try { // text/plain: a simple request, no preflight; the answer (even a 404) is never read
      navigator.sendBeacon(eventsBase + "/v1/events", JSON.stringify(events));
    } catch (e) {
      return;
    }
  }

  // What impressions and clicks say about an item of a list.
  function listEvent(type, list, item) {
    var event = { type: type, list_id: list.id, position: item.position, article_id: String(item.id),
      session_id: sessionId() };
    if (list.variant) event.variant = list.variant;
    if (list.page) event.page_id = list.page;
    return event;
  }

  // One impression per shown item, once, when half the block (or, for a block taller than
  // the window, half the window) is on screen.
  function watch(section, list, shown) {
    if (!list.id || !shown.length || !window.IntersectionObserver) return;
    var steps = [];
    for (var t = 0; t <= 20; t++) steps.push(t / 20);
    var observer = new IntersectionObserver(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        var entry = entries[i];
        if (entry.intersectionRatio < 0.5 &&
            entry.intersectionRect.height < window.innerHeight / 2) continue;
        observer.disconnect();
        beacon(shown.map(function (item) { return listEvent("impression", list, item); }));
        return;
      }
    }, { threshold: steps });
    observer.observe(section);
  }

  function card(item, look, list) {
    var href = item && httpUrl(item.url);
    if (!href || !item.title) return null;
    var li = el("li", "newsrec__item");
    var box = el("article", "newsrec__card");
    var headline = el("h" + look.cardLevel, "newsrec__headline");
    var link = el("a", "newsrec__link", String(item.title));
    var src = httpUrl(item.image_url);
    var meta = el("p", "newsrec__meta");
    var date = item.published_at && formatDate(item.published_at, look.locale);
    link.href = href;
    if (list.id && typeof item.position === "number") {
      // The link gains nr_list/nr_pos when it is about to be followed (any button, a new tab,
      // the keyboard), so the page shows and copies clean URLs; the click's beacon goes out
      // before the browser leaves the page.
      var target = new URL(href);
      target.searchParams.set("nr_list", list.id);
      target.searchParams.set("nr_pos", String(item.position));
      var track = function () { link.href = target.href; };
      link.addEventListener("mousedown", track);
      link.addEventListener("contextmenu", track);
      link.addEventListener("click", function () {
        track();
        beacon([listEvent("click", list, item)]);
      });
    }
    if (src) {
      // The box keeps its place (aspect-ratio) while the image loads: no layout shift.
      var media = el("div", "newsrec__media");
      var img = el("img", "newsrec__image");
      var set = srcset(item.image_srcset);
      // Decorative: the headline's link names the card (WCAG technique H2).
      img.setAttribute("alt", "");
      img.setAttribute("loading", "lazy");
      img.setAttribute("decoding", "async");
      img.setAttribute("width", "640");
      img.setAttribute("height", "360");
      img.addEventListener("error", function () { media.remove(); });
      if (set) {
        img.setAttribute("sizes", look.sizes);
        img.setAttribute("srcset", set);
      }
      img.src = src;
      media.appendChild(img);
      box.appendChild(media);
    }
    headline.appendChild(link);
    box.appendChild(headline);
    if (item.category) meta.appendChild(el("span", "newsrec__section", String(item.category)));
    if (date) {
      var time = el("time", "newsrec__date", date);
      time.setAttribute("datetime", String(item.published_at));
      meta.appendChild(time);
    }
    if (typeof item.reading_minutes === "number" && item.reading_minutes > 0) {
      meta.appendChild(el("span", "newsrec__reading",
        fill(look.readingText, formatCount(item.reading_minutes, look.locale))));
    }
    if (typeof item.views === "number" && item.views >= 0) {
      meta.appendChild(el("span", "newsrec__views",
        fill(item.views === 1 ? look.viewText : look.viewsText, formatCount(item.views, look.locale))));
    }
    if (meta.firstChild) box.appendChild(meta);
    li.appendChild(box);
    return li;
  }

  function render(block, kind, title, items, n, list) {
    var section = el("section", "newsrec newsrec--" + kind);
    var level = block.getAttribute("data-heading-level") || "";
    var blockLevel = /^[2-6]$/.test(level) ? +level : 2;
    var look = {
      cardLevel: Math.min(blockLevel + 1, 6),
      locale: locale(block),
      sizes: setting(block, "data-image-sizes", SIZES),
      readingText: setting(block, "data-reading-text", "{n} min read"),
      viewsText: setting(block, "data-views-text", "{n} views"),
      viewText: setting(block, "data-view-text", "{n} view")
    };
    var ul = el(kind === "most-viewed" ? "ol" : "ul", "newsrec__list");
    var shown = [];
    for (var i = 0; i < items.length && ul.childNodes.length < n; i++) {
      var item = card(items[i], look, list);
      if (item) {
        ul.appendChild(item);
        shown.push(items[i]);
      }
    }
    if (!ul.firstChild) return hide(block);
    section.setAttribute("aria-label", title);
    section.appendChild(el("h" + blockLevel, "newsrec__title", title));
    section.appendChild(ul);
    while (block.firstChild) block.removeChild(block.firstChild);
    block.appendChild(section);
    block.hidden = false;
    block.setAttribute(STATE, "done");
    if (list.variant) block.setAttribute("data-newsrec-variant", list.variant);
    watch(section, list, shown);
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
      var list = { id: body && /^[0-9a-f]{16}$/.test(body.list_id) ? body.list_id : null,
        variant: body && typeof body.variant === "string" ? body.variant : null,
        page: kind === "related" ? block.getAttribute("data-article-id") : null };
      render(block, kind, title, body && Array.isArray(body.items) ? body.items : [], n, list);
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
    if (!session) session = newSession();
    return session;
  }

  function newSession() {
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
    if (viewSent) return;
    viewSent = true;
    var view = { type: "view", article_id: id, session_id: sessionId() };
    if (arrived) {
      view.list_id = arrived.list;
      view.position = arrived.pos;
    }
    beacon(view);
  }

  function related(block) {
    var id = block.getAttribute("data-article-id");
    var params = new URLSearchParams({ n: count(block) });
    if (!id) return hide(block);
    var exclude = excluded(block, id);
    if (exclude.length) params.set("exclude", exclude.join(","));
    // the reader's variant of an A/B test of the list (none without consent to measuring)
    if (!beaconOff) params.set("session_id", sessionId());
    load(block, "related", "/v1/articles/" + encodeURIComponent(id) + "/related", params,
      block.getAttribute("data-title") || "You might also like");
    sendView(id);
  }

  function latest(block) {
    var params = new URLSearchParams({ n: count(block) });
    var category = block.getAttribute("data-category");
    var age = block.getAttribute("data-max-age-days");
    // every article of the page, its own included, is already on the page
    var exclude = excluded(block, null);
    if (category) params.set("category", category);
    if (age) params.set("max_age_days", age);
    if (exclude.length) params.set("exclude", exclude.join(","));
    if (!beaconOff) params.set("session_id", sessionId());
    load(block, "latest", "/v1/latest", params, block.getAttribute("data-title") || "New articles");
  }

  function mostViewed(block) {
    var params = new URLSearchParams({ n: count(block) });
    var window_ = block.getAttribute("data-window");
    var category = block.getAttribute("data-category");
    if (window_) params.set("window", window_);
    if (category) params.set("category", category);
    if (!beaconOff) params.set("session_id", sessionId());
    load(block, "most-viewed", "/v1/most-viewed", params,
      block.getAttribute("data-title") || "Most viewed");
  }

  function scan() {
    var blocks = document.querySelectorAll(
      "[" + RELATED + "],[" + LATEST + "],[" + MOST_VIEWED + "]");
    for (var i = 0; i < blocks.length; i++) {
      var block = blocks[i];
      if (block.hasAttribute(STATE)) continue;
      try {
        if (block.hasAttribute(RELATED)) related(block);
        else if (block.hasAttribute(LATEST)) latest(block);
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
