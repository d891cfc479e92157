// Airlock review UI: the only script. Pages work without it; with it the queue refreshes
// itself when the ledger changes (server-sent events from /events).
(function () {
  "use strict";
  var list = document.querySelector("[data-live=queue]");
  if (!list || !window.EventSource) { return; }
  var first = null;
  var source = new EventSource("/events");
  source.addEventListener("ledger", function (e) {
    if (first === null) { first = e.data; return; }
    if (e.data === first) { return; }
    first = e.data;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["list", "heading"].forEach(function (id) {
          var fresh = doc.getElementById(id);
          var old = document.getElementById(id);
          if (fresh && old) { old.replaceWith(fresh); }
        });
        document.title = doc.title;
      });
  });
})();
