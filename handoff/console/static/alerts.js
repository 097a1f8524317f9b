// Emergency alerts on every console page: the banner is fetched when the server says the
// alerts changed (SSE); a short beep repeats every 10 s while an alert waits for *this*
// person's acknowledgement (unless muted); a desktop notification once per alert, if allowed.
(function () {
  const box = document.getElementById("emergency");
  if (!box) return;
  const list = document.getElementById("alerts-list");
  const muteButton = document.getElementById("alerts-mute");
  const notifyButton = document.getElementById("alerts-notify");
  const MUTED = "tsunagu.alerts.muted";
  const NOTIFIED = "tsunagu.alerts.notified";
  let muted = localStorage.getItem(MUTED) === "1";
  let audio = null;
  let busy = false;
  let again = false;

  const waitingForMe = () => list.querySelectorAll("[data-alert][data-mine='0']");

  // Browsers start sound only after a gesture on the page: the first click or key unlocks it.
  const unlock = () => {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
  };
  document.addEventListener("pointerdown", unlock);
  document.addEventListener("keydown", unlock);

  const beep = () => {
    if (muted || !audio || audio.state !== "running") return;
    const now = audio.currentTime;
    [0, 0.25].forEach((offset) => {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "sine";
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.3, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.18);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + offset);
      tone.stop(now + offset + 0.2);
    });
  };

  const showMute = () => {
    muteButton.textContent = muted ? "音を出す" : "音を消す";
    muteButton.setAttribute("aria-pressed", muted ? "true" : "false");
  };
  muteButton.addEventListener("click", () => {
    muted = !muted;
    localStorage.setItem(MUTED, muted ? "1" : "0");
    showMute();
  });

  // Permission is asked on a click, never on load (browsers ignore or punish that).
  const canNotify = () => "Notification" in window;
  const showNotifyButton = () => {
    notifyButton.hidden = !canNotify() || Notification.permission !== "default";
  };
  notifyButton.addEventListener("click", async () => {
    if (!canNotify()) return;
    try {
      await Notification.requestPermission();
    } catch (e) {
      // an old browser's callback form, or a refusal: the banner and the sound remain
    }
    showNotifyButton();
    notify();
  });

  const notified = () => {
    try {
      return new Set(JSON.parse(sessionStorage.getItem(NOTIFIED) || "[]"));
    } catch (e) {
      return new Set();
    }
  };
  function notify() {
    if (!canNotify() || Notification.permission !== "granted") return;
    const seen = notified();
    waitingForMe().forEach((alert) => {
      if (seen.has(alert.dataset.alert)) return;
      seen.add(alert.dataset.alert);
      try {
        const note = new Notification(alert.dataset.title, {
          body: alert.dataset.body, tag: "tsunagu-alert-" + alert.dataset.alert,
          requireInteraction: true,
        });
        note.onclick = () => { window.focus(); note.close(); };
      } catch (e) {
        // some browsers allow notifications only from a service worker: the banner remains
      }
    });
    sessionStorage.setItem(NOTIFIED, JSON.stringify([...seen]));
  }

  const tick = () => {
    list.querySelectorAll("[data-raised]").forEach((alert) => {
      const since = alert.querySelector(".since");
      const minutes = Math.max(0, Math.floor(Date.now() / 60000 - alert.dataset.raised / 60));
      if (since) since.textContent = String(minutes);
    });
  };

  const show = (html) => {
    const before = new Set([...waitingForMe()].map((a) => a.dataset.alert));
    list.innerHTML = html;
    const shown = list.querySelectorAll("[data-alert]");
    box.hidden = shown.length === 0;
    box.classList.toggle("calm", waitingForMe().length === 0);
    tick();
    showNotifyButton();
    notify();
    if ([...waitingForMe()].some((a) => !before.has(a.dataset.alert))) beep();
  };

  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(box.dataset.fragment, { credentials: "same-origin" });
      if (response.ok) show(await response.text());
    } finally {
      busy = false;
    }
    if (again) { again = false; refresh(); }
  };

  // 「確認しました」 without leaving the page (a reply being typed stays); the answer is the
  // banner as it is now.
  list.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.ack");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST", body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      if (response.ok) show(await response.text());
      else refresh();
    } catch (e) {
      if (button) button.disabled = false;
    }
  });

  showMute();
  showNotifyButton();
  setInterval(() => { if (waitingForMe().length) beep(); }, 10000);
  setInterval(tick, 30000);
  refresh();
  if (!window.EventSource) {
    setInterval(refresh, 15000);
    return;
  }
  // One stream per browser, not per tab: over HTTP/1.1 a browser keeps at most six connections
  // to the console, and each page already holds its own live stream. The tab that holds the
  // lock listens and tells the others; when it closes, another tab takes the lock over.
  const listen = () => {
    const source = new EventSource(box.dataset.stream);
    source.addEventListener("changed", () => {
      refresh();
      if (others) others.postMessage("changed");
    });
    // Once the stream has read its baseline, also after a reconnect: nothing missed between.
    source.addEventListener("ready", refresh);
  };
  const others = window.BroadcastChannel ? new BroadcastChannel("tsunagu-alerts") : null;
  if (others && navigator.locks) {
    others.addEventListener("message", refresh);
    navigator.locks.request("tsunagu-alerts-stream", () => {
      listen();
      refresh();
      return new Promise(() => {});  // held for the life of this tab
    });
  } else {
    listen();
  }
})();
