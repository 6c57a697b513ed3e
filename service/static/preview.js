// newsrec editor preview. Plain JavaScript, no build step, no external code.
// Every piece of data reaches the page through textContent or setAttribute (see el()):
// never innerHTML, so an article titled "<script>..." shows as text.
(function () {
  "use strict";

  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var app = document.getElementById("app");
  var DEFAULTS = {
    n: Number(app.dataset.defaultN),
    maxN: Number(app.dataset.maxN),
    contentWeight: Number(app.dataset.contentWeight),
    coviewWeight: Number(app.dataset.coviewWeight),
    popularityWeight: Number(app.dataset.popularityWeight),
    maxPopularityWeight: Number(app.dataset.maxPopularityWeight),
    halfLife: app.dataset.halfLife === "off" ? null : Number(app.dataset.halfLife),
    freshnessWeight: Number(app.dataset.freshnessWeight),
    maxFreshnessWeight: Number(app.dataset.maxFreshnessWeight),
    maxWeight: Number(app.dataset.maxWeight),
  };
  var SOURCE_LABELS = {
    related: null,
    pinned: "pinned",
    section_popular: "fallback: section most viewed",
    popular: "fallback: site most viewed",
  };

  var state = {
    articleId: null,
    article: null,
    data: null,
    rules: [],
    listsController: null,
    listsSeq: 0,
    searchController: null,
    results: [],
    active: -1,
  };

  // --- small helpers ----------------------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  // el("li", {class: "x", onclick: f}, "text", child): text children become text nodes.
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (key) {
        var value = props[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function safeUrl(url) {
    // Only web links: a javascript: URL in the data must never become a link.
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (e) { return null; }
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function fmtDate(iso) {
    if (!iso) return "date unknown";
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" }) +
      " " + d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function fmtAge(days) {
    if (days === null || days === undefined) return null;
    if (days < 1) return Math.round(days * 24) + " h old";
    if (days < 60) return (Math.round(days * 10) / 10) + " d old";
    return Math.round(days / 30) + " mo old";
  }

  function plural(count, noun) {
    return count + " " + noun + (Number(count) === 1 ? "" : "s");
  }

  function fmt(value, digits) {
    if (value === null || value === undefined) return "–";
    return Number(value).toFixed(digits === undefined ? 3 : digits);
  }

  function ApiFailure(message, field, status) {
    this.message = message; this.field = field; this.status = status;
  }

  function api(path, options) {
    options = options || {};
    var method = options.method || "GET";
    var headers = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = CSRF;
    return fetch(path, {
      method: method,
      headers: headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
      signal: options.signal,
    }).then(function (response) {
      if (response.status === 401) {
        window.location.href = "/preview/login?next=" +
          encodeURIComponent(window.location.pathname + window.location.search);
        throw new ApiFailure("logged out", null, 401);
      }
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) {
          var error = (body && body.error) || {};
          throw new ApiFailure(error.message || response.statusText, error.field || error.parameter, response.status);
        }
        return body;
      });
    });
  }

  function showError(message) {
    var box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // --- search -----------------------------------------------------------------------------

  var search = $("search");
  var results = $("results");

  function closeResults() {
    results.hidden = true;
    search.setAttribute("aria-expanded", "false");
    search.removeAttribute("aria-activedescendant");
    state.active = -1;
  }

  function setActive(index) {
    var items = results.querySelectorAll("li[role=option]");
    if (!items.length) return;
    state.active = (index + items.length) % items.length;
    items.forEach(function (li, i) {
      li.classList.toggle("active", i === state.active);
      li.setAttribute("aria-selected", i === state.active ? "true" : "false");
    });
    var current = items[state.active];
    search.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  }

  function renderResults(data, query) {
    clear(results);
    state.results = data.items;
    if (!data.items.length) {
      results.append(el("li", { class: "r-none" }, "No article matches “" + query + "”"));
    }
    data.items.forEach(function (item, i) {
      results.append(el("li", {
        id: "result-" + i, role: "option", "aria-selected": "false",
        onmousedown: function (event) { event.preventDefault(); pick(i); },
      },
      el("span", { class: "r-title" }, item.title || item.id),
      el("span", { class: "r-views muted" }, plural(item.views_7d, "view") + "/7d"),
      el("span", { class: "r-meta" },
        [item.category || "no section", fmtDate(item.published_at), item.id].join(" · "),
        item.status !== "published" ? el("span", { class: "status-badge" }, " · " + item.status) : null)));
    });
    if (data.total > data.items.length) {
      results.append(el("li", { class: "r-none" }, (data.total - data.items.length) + " more: type more words"));
    }
    results.hidden = false;
    search.setAttribute("aria-expanded", "true");
    if (data.items.length) setActive(0);
  }

  var runSearch = debounce(function () {
    var query = search.value.trim();
    if (state.searchController) state.searchController.abort();
    if (!query) { closeResults(); return; }
    state.searchController = new AbortController();
    api("/preview/api/search?q=" + encodeURIComponent(query), { signal: state.searchController.signal })
      .then(function (data) { if (search.value.trim() === query) renderResults(data, query); })
      .catch(function (error) { if (error.name !== "AbortError") showError(error.message); });
  }, 120);

  function pick(index) {
    var item = state.results[index];
    if (!item) return;
    closeResults();
    search.value = "";
    search.blur();
    openArticle(item.id, true);
  }

  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { event.preventDefault(); if (results.hidden) runSearch(); else setActive(state.active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); setActive(state.active - 1); }
    else if (event.key === "Enter") {
      event.preventDefault();
      if (!results.hidden && state.active >= 0) pick(state.active);
    } else if (event.key === "Escape") { closeResults(); search.blur(); }
  });
  search.addEventListener("blur", function () { setTimeout(closeResults, 150); });

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    var typing = tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
    // "/" means "to the search" also when the (empty) search has the focus already: no query
    // starts with a slash, and typing one there was the surprise
    if (event.target === search && search.value === "") typing = false;
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });

  // --- settings sliders -----------------------------------------------------------------

  var contentWeight = $("content-weight");
  var coviewWeight = $("coview-weight");
  var popularityWeight = $("popularity-weight");
  var halfLife = $("half-life");
  var halfLifeOff = $("half-life-off");
  var freshnessWeight = $("freshness-weight");
  freshnessWeight.max = String(DEFAULTS.maxFreshnessWeight);
  contentWeight.max = coviewWeight.max = String(Math.min(DEFAULTS.maxWeight, 5));
  popularityWeight.max = String(DEFAULTS.maxPopularityWeight);

  function resetSliders() {
    contentWeight.value = String(DEFAULTS.contentWeight);
    coviewWeight.value = String(DEFAULTS.coviewWeight);
    popularityWeight.value = String(DEFAULTS.popularityWeight);
    halfLifeOff.checked = DEFAULTS.halfLife === null;
    halfLife.value = String(DEFAULTS.halfLife === null ? 3 : DEFAULTS.halfLife);
    freshnessWeight.value = String(DEFAULTS.freshnessWeight);
    showSliders();
  }

  function sliderParams() {
    return {
      content_weight: Number(contentWeight.value),
      coview_weight: Number(coviewWeight.value),
      popularity_weight: Number(popularityWeight.value),
      half_life_days: halfLifeOff.checked ? "off" : Number(halfLife.value),
      freshness_weight: Number(freshnessWeight.value),
    };
  }

  function changedFromDefaults() {
    var p = sliderParams();
    var half = DEFAULTS.halfLife === null ? "off" : DEFAULTS.halfLife;
    return p.content_weight !== DEFAULTS.contentWeight || p.coview_weight !== DEFAULTS.coviewWeight ||
      p.popularity_weight !== DEFAULTS.popularityWeight || p.half_life_days !== half ||
      p.freshness_weight !== DEFAULTS.freshnessWeight;
  }

  function showSliders() {
    $("content-weight-out").textContent = Number(contentWeight.value).toFixed(2);
    $("coview-weight-out").textContent = Number(coviewWeight.value).toFixed(2);
    $("popularity-weight-out").textContent = Number(popularityWeight.value).toFixed(2);
    $("half-life-out").textContent = halfLifeOff.checked ? "off" : Number(halfLife.value) + " d";
    halfLife.disabled = halfLifeOff.checked;
    $("freshness-weight-out").textContent = Number(freshnessWeight.value).toFixed(2);
    var changed = changedFromDefaults();
    var label = $("settings-state");
    label.textContent = changed ? "Preview settings: only you see this, nothing is saved" : "Service settings";
    label.classList.toggle("changed", changed);
  }

  var reloadLists = debounce(function () { loadLists(); }, 160);
  [contentWeight, coviewWeight, popularityWeight, halfLife, halfLifeOff, freshnessWeight].forEach(function (input) {
    input.addEventListener("input", function () { showSliders(); reloadLists(); });
  });
  $("reset").addEventListener("click", function () { resetSliders(); loadLists(); });
  $("controls").addEventListener("submit", function (event) { event.preventDefault(); });

  // --- the article and its lists ---------------------------------------------------------

  function openArticle(articleId, push) {
    state.articleId = articleId;
    var url = "/preview?article=" + encodeURIComponent(articleId);
    if (push) window.history.pushState({ article: articleId }, "", url);
    loadLists();
  }

  window.addEventListener("popstate", function () {
    var id = new URLSearchParams(window.location.search).get("article");
    if (id) { state.articleId = id; loadLists(); }
  });

  function loadLists() {
    if (!state.articleId) return;
    if (state.listsController) state.listsController.abort();
    state.listsController = new AbortController();
    var seq = ++state.listsSeq;
    var query = new URLSearchParams({ n: String(DEFAULTS.n) });
    if (changedFromDefaults()) {
      var p = sliderParams();
      query.set("content_weight", String(p.content_weight));
      query.set("coview_weight", String(p.coview_weight));
      query.set("popularity_weight", String(p.popularity_weight));
      query.set("half_life_days", String(p.half_life_days));
      query.set("freshness_weight", String(p.freshness_weight));
    }
    app.setAttribute("aria-busy", "true");
    return api("/preview/api/articles/" + encodeURIComponent(state.articleId) + "?" + query.toString(),
      { signal: state.listsController.signal })
      .then(function (data) {
        if (seq !== state.listsSeq) return;
        showError(null);
        state.data = data;
        renderArticle(data);
        renderRules();
      })
      .catch(function (error) {
        if (error.name === "AbortError" || seq !== state.listsSeq) return;
        showError(error.status === 404 ? "No article “" + state.articleId + "” in the model." : error.message);
      })
      .then(function () { if (seq === state.listsSeq) app.removeAttribute("aria-busy"); });
  }

  function renderArticle(data) {
    var a = data.article;
    state.article = a;
    $("empty").hidden = true;
    $("article").hidden = false;
    document.title = a.title + " · preview · newsrec";
    $("a-title").textContent = a.title || a.id;
    $("a-meta").textContent = [a.category || "no section", fmtDate(a.published_at), fmtAge(a.age_days),
      "id " + a.id, plural(a.views_7d, "view") + " in 7 days", a.status !== "published" ? a.status.toUpperCase() : null]
      .filter(Boolean).join(" · ");
    var link = safeUrl(a.url);
    var anchor = $("a-link");
    if (link) { anchor.href = link; anchor.hidden = false; } else { anchor.removeAttribute("href"); anchor.hidden = true; }
    $("model-version").textContent = data.model.version;
    $("model-built").textContent = fmtDate(data.model.created_at);
    $("rules-version").textContent = data.rules_version || "none";
    $("coview-here").textContent = "weight for this article: " + fmt(data.params.coview_weight_here, 2) +
      " (grows with its co-view evidence)";

    var lists = data.lists;
    var baseline = lists.readers.baseline;
    renderList($("list-readers"), lists.readers.items, { baseline: baseline, actions: true });
    renderBlocked($("list-readers").querySelector(".blocked-list"), lists.readers.blocked);
    renderCollapsed($("list-readers").querySelector(".collapsed-list"), lists.readers.collapsed);
    renderDropped($("list-readers").querySelector(".dropped"), baseline, lists.readers.items);
    renderList($("list-content"), lists.content.items, { actions: true });
    renderList($("list-coview"), lists.coview.items, {
      actions: true,
      empty: lists.coview.available ? "No article shares enough sessions with this one." : "This model has no co-view data.",
    });
    $("h-section").textContent = "Most viewed in " + (lists.section.section || "its section");
    $("section-hint").textContent = "Views in the last " + lists.section.window + "; blocks everywhere apply.";
    renderList($("list-section"), lists.section.items, { actions: true, views: true });
    $("h-latest").textContent = "New articles in " + (lists.latest.section || "the site");
    renderList($("list-latest"), lists.latest.items, {
      actions: true, empty: "No other dated article in this section.",
    });
    renderCompare(data.previous);
    $("rule-slot").max = String(DEFAULTS.maxN);
    $("rule-scope").options[1].textContent = "on every article of " + (a.category || "its section");
    syncRuleForm();
  }

  function partsOf(item, options) {
    var chips = [];
    var c = item.content || {};
    // the API's explain says the same under content_cosine (its "content" is this scaled to
    // the list's best): one name, one meaning
    chips.push(el("span", { class: "chip", title: "TF-IDF cosine similarity of the two texts (the API's explain.content_cosine)" },
      "cosine " + fmt(c.cosine)));
    if (c.terms && c.terms.length) {
      chips.push(el("span", { class: "chip terms", title: "Terms the two articles share most" },
        "shared: " + c.terms.map(function (t) { return termLabel(t.term); }).join(", ")));
    }
    var v = item.coview || {};
    chips.push(el("span", { class: "chip", title: "Co-view similarity (the API's explain.coview_score); sessions that read both" },
      v.score === null || v.score === undefined ? "co-view score –" :
        "co-view score " + fmt(v.score) + " · " + plural(v.sessions, "session") +
        (typeof v.next_sessions === "number" ? " · read next in " + v.next_sessions : "")));
    chips.push(el("span", { class: "chip", title: "Freshness factor 0.5^(age / half-life)" },
      "fresh ×" + fmt(item.freshness, 2)));
    if (item.popularity !== null && item.popularity !== undefined) {
      chips.push(el("span", { class: "chip", title: "Popularity prior 1 + w·(log views / top of the list); w fades as co-view evidence grows" },
        "popular ×" + fmt(item.popularity, 2)));
    }
    if (item.score !== null && item.score !== undefined && item.source !== "section_popular" && item.source !== "popular") {
      chips.push(el("span", { class: "chip", title: "The item's ranking score" }, "score " + fmt(item.score)));
    }
    var label = item.source ? SOURCE_LABELS[item.source] : null;
    if (label && item.source !== "pinned") chips.push(el("span", { class: "chip source" }, label));
    if (options.views && item.views !== undefined) chips.push(el("span", { class: "chip" }, plural(item.views, "view")));
    if (item.reading_minutes) chips.push(el("span", { class: "chip", title: "Reading time of the text" }, item.reading_minutes + " min read"));
    if (item.rule) {
      chips.push(el("span", { class: "chip rule-pin", title: ruleTitle(item.rule) },
        "pinned by rule #" + item.rule.id + (item.rule.slot ? " · slot " + item.rule.slot : "")));
    }
    if (item.blocked_by) {
      chips.push(el("span", { class: "chip rule-block", title: ruleTitle(item.blocked_by) },
        "blocked by rule #" + item.blocked_by.id));
    }
    if (item.folded && item.folded.length) {
      chips.push(el("span", { class: "chip story-folded", title: "Other versions of this story, not listed (same-story collapsing)" },
        "+" + plural(item.folded.length, "version") + " folded"));
    }
    return chips;
  }

  function termLabel(term) {
    // The vectorizer's label tokens (see recommender.content.compose_document), for people.
    if (term.indexOf("section_") === 0) return "section " + term.slice(8).replace(/_/g, " ");
    if (term.indexOf("tag_") === 0) return "#" + term.slice(4).replace(/_/g, " ");
    return term;
  }

  function ruleTitle(rule) {
    return (rule.author ? rule.author + ": " : "") + (rule.note || "");
  }

  function moveOf(id, index, baseline) {
    if (!baseline) return null;
    var before = baseline.findIndex(function (b) { return b.id === id; });
    if (before < 0) return el("span", { class: "move new", title: "Not in the list with the service's settings" }, "new");
    if (before === index) return null;
    var delta = before - index;
    return el("span", { class: "move " + (delta > 0 ? "up" : "down"), title: "Position with the service's settings: " + (before + 1) },
      (delta > 0 ? "▲" : "▼") + Math.abs(delta));
  }

  function renderList(section, items, options) {
    var list = section.querySelector("ol.items");
    clear(list);
    if (!items.length) {
      list.append(el("li", { class: "none" }, options.empty || "Nothing to show."));
      return;
    }
    items.forEach(function (item, index) {
      var classes = ["item"];
      if (item.rule) classes.push("pinned");
      if (item.blocked_by) classes.push("is-blocked");
      if (item.is_query) classes.push("is-query");
      if (item.folded && item.folded.length) classes.push("has-folded");
      var actions = null;
      if (options.actions && !item.is_query && state.article && item.id !== state.article.id) {
        actions = el("div", { class: "item-actions" },
          el("button", { type: "button", class: "small", onclick: function () { prepareRule("pin", item, index + 1); } }, "Pin…"),
          el("button", { type: "button", class: "small", onclick: function () { prepareRule("block", item); } }, "Block…"));
      }
      list.append(el("li", { class: classes.join(" "), "data-id": item.id },
        el("div", { class: "rank" }, String(item.rank || index + 1), moveOf(item.id, index, options.baseline)),
        el("div", { class: "body" },
          el("button", { type: "button", class: "title", title: "Preview this article", onclick: function () { openArticle(item.id, true); } },
            item.title || item.id),
          el("div", { class: "meta" },
            [item.category || "no section", fmtDate(item.published_at), fmtAge(item.age_days)].filter(Boolean).join(" · "),
            item.status && item.status !== "published" ? el("span", { class: "status-badge" }, " · " + item.status) : null,
            item.is_query ? " · this article" : null),
          el("div", { class: "parts" }, partsOf(item, options)),
          actions)));
    });
  }

  function renderCollapsed(box, collapsed) {
    clear(box);
    if (!collapsed || !collapsed.length) return;
    box.append(el("h3", null, "Folded away: same story"),
      el("ul", null, collapsed.map(function (item) {
        var under = item.is_query_story ? "this article" : (item.folded_under.title || item.folded_under.id);
        return el("li", { "data-id": item.id, "data-under": item.folded_under.id },
          item.title || item.id, " — same story as " + under);
      })));
  }

  function renderBlocked(box, blocked) {
    clear(box);
    if (!blocked || !blocked.length) return;
    box.append(el("h3", null, "Removed by rules"),
      el("ul", null, blocked.map(function (item) {
        return el("li", { "data-id": item.id, title: ruleTitle(item.blocked_by) },
          item.title || item.id, " — blocked by rule #" + item.blocked_by.id);
      })));
  }

  function renderDropped(box, baseline, items) {
    clear(box);
    if (!baseline) return;
    var now = items.map(function (i) { return i.id; });
    var gone = baseline.filter(function (b) { return now.indexOf(b.id) < 0; });
    if (!gone.length) return;
    box.append(el("h3", null, "Out with these settings"),
      el("ul", null, gone.map(function (b) { return el("li", null, b.title || b.id); })));
  }

  function renderCompare(previous) {
    var box = document.querySelector("#compare .compare-body");
    clear(box);
    if (!previous) return;
    if (previous.status !== "ok") {
      box.append(el("p", { class: "lead muted" },
        (previous.version ? "Previous model " + previous.version + ": " : "") + (previous.message || previous.status)));
      return;
    }
    box.append(el("p", { class: "lead" }, "Compared with model ", el("code", null, previous.version),
      " (built " + fmtDate(previous.created_at) + "): " + previous.kept + " of the items stayed."));
    function column(title, items, cls, rankLabel) {
      return el("div", null, el("h3", { class: cls }, title + " (" + items.length + ")"),
        items.length ? el("ul", null, items.map(function (item) {
          return el("li", { "data-id": item.id }, item.title || item.id, el("span", { class: "muted" }, " · " + rankLabel + " " + item.rank));
        })) : el("p", { class: "muted" }, "None."));
    }
    box.append(column("Entered", previous.entered, "entered", "now at"),
      column("Left", previous.left, "left", "was at"));
  }

  // --- rules ------------------------------------------------------------------------------

  var ruleForm = $("rule-form");

  function ruleKind() { return ruleForm.querySelector("input[name=kind]:checked").value; }

  function syncRuleForm() {
    var pin = ruleKind() === "pin";
    $("slot-field").hidden = !pin;
    $("rule-submit").textContent = pin ? "Create pin" : "Create block";
    var needsArticle = $("rule-scope").value !== "everywhere";
    $("rule-submit").disabled = needsArticle && !state.article;
  }

  function prepareRule(kind, item, slot) {
    ruleForm.querySelector("input[name=kind][value=" + kind + "]").checked = true;
    $("rule-target").value = item.id;
    $("rule-target-title").textContent = item.title || "";
    if (slot) $("rule-slot").value = String(slot);
    syncRuleForm();
    $("rules-panel").scrollIntoView({ behavior: "smooth", block: "start" });
    $("rule-note").focus({ preventScroll: true });
  }

  function localToIso(value) {
    if (!value) return null;
    var date = new Date(value);  // datetime-local: the editor's own time zone
    return isNaN(date) ? value : date.toISOString();
  }

  function setStatus(message, ok) {
    var status = $("rule-status");
    status.textContent = message;
    status.className = ok ? "ok" : "bad";
  }

  ruleForm.addEventListener("change", syncRuleForm);
  $("rule-target").addEventListener("input", function () { $("rule-target-title").textContent = ""; });
  ruleForm.addEventListener("submit", function (event) {
    event.preventDefault();
    ruleForm.querySelectorAll(".invalid").forEach(function (input) { input.classList.remove("invalid"); });
    var scope = $("rule-scope").value;
    var body = {
      kind: ruleKind(),
      target_id: $("rule-target").value.trim(),
      note: $("rule-note").value.trim(),
      starts_at: localToIso($("rule-start").value),
      ends_at: localToIso($("rule-end").value),
    };
    if (body.kind === "pin") body.slot = Number($("rule-slot").value);
    if (scope === "article" && state.article) body.article_id = state.article.id;
    if (scope === "section" && state.article) body.section = state.article.category;
    $("rule-submit").disabled = true;
    api("/v1/rules", { method: "POST", body: body })
      .then(function (answer) {
        setStatus("Rule #" + answer.rule.id + " created: readers get it now.", true);
        $("rule-note").value = "";
        refreshAll();
      })
      .catch(function (error) {
        setStatus(error.message, false);
        var input = error.field ? ruleForm.querySelector("[name=" + CSS.escape(error.field) + "]") : null;
        if (input) { input.classList.add("invalid"); input.focus(); }
      })
      .then(syncRuleForm);
  });

  function touches(rule) {
    var a = state.article;
    if (!a) return true;
    return rule.article_id === a.id || rule.target_id === a.id || rule.section === a.category ||
      rule.scope === "everywhere";
  }

  function titleOf(id) {
    var lists = state.data ? state.data.lists : null;
    if (state.article && state.article.id === id) return state.article.title;
    if (!lists) return null;
    var names = ["readers", "content", "coview", "section"];
    for (var i = 0; i < names.length; i++) {
      var items = lists[names[i]].items.concat(lists[names[i]].blocked || []);
      for (var j = 0; j < items.length; j++) if (items[j].id === id) return items[j].title;
    }
    return null;
  }

  function describeWhere(rule) {
    if (rule.scope === "article") return "on " + (titleOf(rule.article_id) || rule.article_id);
    if (rule.scope === "section") return "section " + rule.section;
    return "everywhere";
  }

  function renderRules() {
    var body = document.querySelector("#rules-table tbody");
    clear(body);
    var mine = $("rules-mine").checked;
    var shown = state.rules.filter(function (rule) { return !mine || touches(rule); });
    $("rules-empty").hidden = shown.length > 0;
    $("rules-table").hidden = shown.length === 0;
    shown.forEach(function (rule) {
      var del = el("button", { type: "button", class: "small danger", "data-rule": rule.id }, "Delete");
      del.addEventListener("click", function () {
        if (!del.classList.contains("confirm")) {
          del.classList.add("confirm");
          del.textContent = "Really delete?";
          setTimeout(function () { del.classList.remove("confirm"); del.textContent = "Delete"; }, 4000);
          return;
        }
        del.disabled = true;
        api("/v1/rules/" + rule.id, { method: "DELETE" })
          .then(function () { setStatus("Rule #" + rule.id + " deleted.", true); refreshAll(); })
          .catch(function (error) { setStatus(error.message, false); del.disabled = false; });
      });
      var period = (rule.starts_at ? fmtDate(rule.starts_at) : "now") + " → " + (rule.ends_at ? fmtDate(rule.ends_at) : "no end");
      body.append(el("tr", { class: "state-" + rule.state, "data-rule": rule.id },
        el("td", null, "#" + rule.id),
        el("td", null, rule.kind === "pin" ? "pin at slot " + rule.slot : "block"),
        el("td", null, titleOf(rule.target_id) || rule.target_id, el("div", { class: "hint" }, rule.target_id)),
        el("td", null, describeWhere(rule)),
        el("td", null, period),
        el("td", null, el("span", { class: "state " + rule.state }, rule.state)),
        el("td", { class: "note" }, el("strong", null, rule.author), ": ", rule.note),
        el("td", null, del)));
    });
  }

  function summary(entry) {
    var rule = entry.after || entry.before || {};
    var what = rule.kind === "pin" ? "pin " + rule.target_id + " at slot " + rule.slot : "block " + rule.target_id;
    var where = rule.scope === "article" ? " on " + rule.article_id : rule.scope === "section" ? " in section " + rule.section : " everywhere";
    return (entry.action === "create" ? "created" : "deleted") + " rule #" + entry.rule_id + ": " + what + where;
  }

  function loadRules() {
    return api("/v1/rules").then(function (data) {
      state.rules = data.rules;
      $("rules-version").textContent = data.rules_version || "none";
      renderRules();
    }).catch(function (error) { setStatus(error.message, false); });
  }

  function loadAudit() {
    return api("/v1/rules/audit?limit=50").then(function (data) {
      var body = document.querySelector("#audit-table tbody");
      clear(body);
      $("audit-empty").hidden = data.entries.length > 0;
      $("audit-table").hidden = data.entries.length === 0;
      data.entries.forEach(function (entry) {
        body.append(el("tr", null,
          el("td", null, fmtDate(entry.at)),
          el("td", null, entry.author),
          el("td", null, el("details", null,
            el("summary", null, summary(entry)),
            el("pre", null, JSON.stringify({ before: entry.before, after: entry.after }, null, 2))))));
      });
    }).catch(function (error) { setStatus(error.message, false); });
  }

  function refreshAll() {
    loadRules();
    loadAudit();
    loadLists();
  }

  $("rules-mine").addEventListener("change", renderRules);
  $("rule-scope").addEventListener("change", syncRuleForm);

  // --- start ------------------------------------------------------------------------------

  var built = $("model-built");
  if (built && built.getAttribute("datetime")) built.textContent = fmtDate(built.getAttribute("datetime"));
  resetSliders();
  syncRuleForm();
  loadRules();
  loadAudit();
  var initial = new URLSearchParams(window.location.search).get("article");
  if (initial) openArticle(initial, false);
  else search.focus();
})();
