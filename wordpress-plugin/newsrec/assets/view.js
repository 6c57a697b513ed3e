/* newsrec view beacon: one view of this post per page load, as the service's widget sends it
   (same body, same first-party visit id in localStorage "newsrec_session", renewed after 30 idle
   minutes), so sessions are the same whichever sends. Printed only for readers who do not edit
   the site. */
(function () {
  "use strict";
  var config = window.newsrecView;
  var KEY = "newsrec_session";
  var GAP_MS = 30 * 60 * 1000;
  if (!config || !config.id || !config.events || !navigator.sendBeacon || !window.crypto) return;

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
      try { // storage can be blocked or full
        var store = window[names[i]];
        var saved = JSON.parse(store.getItem(KEY) || "null");
        var fresh = saved && now - saved.at < GAP_MS && /^[0-9a-f]{32}$/.test(saved.id);
        var id = fresh ? saved.id : randomId();
        store.setItem(KEY, JSON.stringify({ id: id, at: now }));
        return id;
      } catch (e) {
        continue;
      }
    }
    return randomId();
  }

  try { // text/plain: a simple request, no preflight; the answer is never read
    navigator.sendBeacon(String(config.events).replace(/\/+$/, "") + "/v1/events", JSON.stringify({
      type: "view", article_id: String(config.id), session_id: sessionId()
    }));
  } catch (e) {
    // a page must never break over a view
  }
})();
