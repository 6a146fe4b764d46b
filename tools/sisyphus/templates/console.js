// sis web console: keep the page current while the manager runs. The page names a small JSON
// endpoint (data-poll) and the version it was rendered at; when the version changes, the page is
// fetched again and its <header> and <main> are swapped in (no reload, no lost scroll position).
(function () {
  "use strict";
  const body = document.body;
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
