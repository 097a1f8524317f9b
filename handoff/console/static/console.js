// Live updates: the server says "changed" over SSE; the page fetches the part it shows.
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const toLatest = () => {
    const talk = live.querySelector("ol.transcript");
    if (talk) talk.scrollTop = talk.scrollHeight;
  };
  toLatest();
  if (!window.EventSource) return;
  const source = new EventSource(live.dataset.stream);
  let busy = false;
  source.addEventListener("changed", async () => {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(live.dataset.fragment, { credentials: "same-origin" });
      if (response.ok) {
        live.innerHTML = await response.text();
        toLatest();
      }
    } finally {
      busy = false;
    }
  });
})();
