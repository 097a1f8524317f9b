// While the counsellor writes a reply, the server is told at most once per 20 s: the resident
// then sees LINE's loading animation in their chat until the reply arrives.
"use strict";
(function () {
  const form = document.querySelector("form.reply[data-typing]");
  if (!form) return;
  const words = form.querySelector("textarea");
  const csrf = form.querySelector('input[name="csrf"]');
  const GAP_MS = 20000;
  let last = -Infinity;
  let sent = false;
  // Once the reply is on its way, no more: the animation would come after the words.
  form.addEventListener("submit", () => { sent = true; });
  words.addEventListener("input", () => {
    const now = performance.now();
    if (sent || !words.value.trim() || now - last < GAP_MS) return;
    last = now;
    fetch(form.dataset.typing, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf: csrf.value }),
    }).catch(() => {}); // only a courtesy: a lost one changes nothing
  });
})();
