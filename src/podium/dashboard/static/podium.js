// podium dashboard: live regions over server-sent events. The server renders every region's HTML; this only
// puts it in place (replace a region, append new events) and loads the raw log on demand.
(function () {
  "use strict";
  const body = document.body;
  const dot = document.getElementById("live-dot");
  const page = body.dataset.live;
  const fresh = document.createElement("template");
  if (page) {
    const params = new URLSearchParams({ page: page, after: body.dataset.after || "0" });
    const source = new EventSource("/live?" + params.toString());
    source.onopen = function () { if (dot) dot.className = "dot on"; };
    source.onerror = function () { if (dot) dot.className = "dot off"; };
    source.onmessage = function (message) {
      const data = JSON.parse(message.data);
      for (const [id, html] of Object.entries(data.replace || {})) {
        const region = document.getElementById(id);
        if (!region || region.contains(document.activeElement)) continue;  // never under the user's typing
        fresh.innerHTML = html;  // parsed the way the page was: an unchanged region is left alone (and clickable)
        if (fresh.innerHTML !== region.innerHTML) region.innerHTML = html;
      }
      for (const [id, html] of Object.entries(data.append || {})) {
        const region = document.getElementById(id);
        if (!region) continue;
        const atEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
        region.insertAdjacentHTML("beforeend", html);
        if (atEnd) window.scrollTo(0, document.body.scrollHeight);
      }
      body.dataset.updated = String(Date.now());
    };
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-log]");
    if (!button) return;
    const out = button.parentElement.querySelector("pre.log");
    fetch(button.dataset.log, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (text) { out.textContent = text || "(the log is empty)"; });
  });
})();
