// Live updates: the server says "changed" over SSE; the page fetches the part it shows.
(function () {
  const live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  const source = new EventSource(live.dataset.stream);
  let busy = false;
  source.addEventListener("changed", async () => {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(live.dataset.fragment, { credentials: "same-origin" });
      if (response.ok) live.innerHTML = await response.text();
    } finally {
      busy = false;
    }
  });
})();
