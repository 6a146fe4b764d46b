// sis web console: keep the page current while the manager runs. The page names a small JSON
// endpoint (data-poll) and the version it was rendered at; when the version changes, the page is
// fetched again and its <header> and <main> are swapped in (no reload, no lost scroll position).
// Collapsible previews (<details id=...>) keep the state the user gave them across such swaps.
(function () {
  "use strict";
  const body = document.body;
  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("button[data-details]");
    if (!button) return;
    const open = button.dataset.details === "open";
    for (const d of document.querySelectorAll("main details.preview")) d.open = open;
  });
  const poll = body.dataset.poll;
  if (!poll) return;
  let version = body.dataset.version;
  const live = () => document.getElementById("live");
  async function tick() {
    try {
      const r = await fetch(poll, { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      const v = (await r.json()).version;
      if (v !== version) {
        const page = await fetch(location.href, { cache: "no-store" });
        const doc = new DOMParser().parseFromString(await page.text(), "text/html");
        for (const d of document.querySelectorAll("main details[id]")) {
          const fresh = doc.getElementById(d.id);
          if (fresh && fresh.tagName === "DETAILS") fresh.open = d.open;
        }
        for (const sel of ["header", "main"]) {
          const fresh = doc.querySelector(sel);
          const old = document.querySelector(sel);
          if (fresh && old) old.replaceWith(fresh);
        }
        version = doc.body.dataset.version || v;
      }
    } catch (e) {
      const el = live();
      if (el) el.textContent = "console offline (the manager has stopped?)";
    }
    setTimeout(tick, 2000);
  }
  setTimeout(tick, 2000);
})();
