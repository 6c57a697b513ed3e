/* The demo page only: the sample's article URLs lead nowhere, so a card opens that article's
   demo page instead. */
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a.newsrec__link");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  window.location.href = "/demo/go?url=" + encodeURIComponent(link.getAttribute("href"));
});
