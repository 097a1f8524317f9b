// Live updates: the server says "changed" over SSE; the page fetches the part it shows. A tab
// in the background fetches with seen=0, so new words stay marked (and unread, and without
// LINE's 既読) until the page is on screen again, when it fetches once more. The queue's
// fragment carries the count of my cases' new words, which the page title shows.
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const toLatest = () => {
    const talk = live.querySelector("ol.transcript");
    if (talk) talk.scrollTop = talk.scrollHeight;
  };
  const baseTitle = document.title.replace(/^\(\d+\) /, "");
  const showCount = () => {
    const counter = live.querySelector("#unread-total");
    if (!counter) return;
    const n = Number(counter.dataset.unread || 0);
    document.title = (n > 0 ? "(" + n + ") " : "") + baseTitle;
  };
  toLatest();
  showCount();
  if (!window.EventSource) return;
  const source = new EventSource(live.dataset.stream);
  let busy = false;
  let again = false;
  let unseen = false;  // the last fetch happened while the tab was hidden
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const onScreen = document.visibilityState !== "hidden";
      const url = new URL(live.dataset.fragment, window.location.href);
      if (!onScreen) url.searchParams.set("seen", "0");
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) {
        live.innerHTML = await response.text();
        live.dataset.synced = "";  // in step with the server since the stream's baseline
        unseen = !onScreen;
        toLatest();
        showCount();
      }
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  };
  source.addEventListener("changed", refresh);
  // Sent once the stream has read its baseline (also after a reconnect): words that arrived
  // between this page's render and then are fetched now, not at the next change.
  source.addEventListener("ready", refresh);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && unseen) refresh();
  });
})();
