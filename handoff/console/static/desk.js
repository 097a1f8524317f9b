// The desk in every console page (handoff/console/desk.py): waiting times tick, rows turn
// late when their time to a person passes, and every 30 s (while the page is on screen) the
// header's presence and the supervisors' alert are checked. That check is also what keeps an
// open, watched console counted as 対応可能.
(function () {
  const live = document.getElementById("desk-live");
  if (!live) return;
  const CHECK_EVERY = 30000;
  // Waits are counted from the server's timestamps. A computer whose clock is clearly off
  // (beyond the page's own travel time) is corrected by the server's; otherwise its clock is
  // used as it is, so the page's loading time does not shift every wait.
  const offset = (serverNow) => {
    const skew = Number(serverNow || Date.now()) - Date.now();
    return Math.abs(skew) > 30000 ? skew : 0;
  };
  let skew = offset(live.dataset.now);
  const now = () => Date.now() + skew;

  // As handoff/durations.py words it: 「45分」「2時間5分」「3日4時間」.
  const waitText = (ms) => {
    const m = Math.max(0, Math.floor(ms / 60000));
    if (m < 60) return m + "分";
    if (m < 1440) return Math.floor(m / 60) + "時間" + (m % 60 ? (m % 60) + "分" : "");
    const hours = Math.floor((m % 1440) / 60);
    return Math.floor(m / 1440) + "日" + (hours ? hours + "時間" : "");
  };

  const tick = () => {
    const t = now();
    document.querySelectorAll(".ticking[data-since]").forEach((el) => {
      el.textContent = waitText(t - Number(el.dataset.since));
    });
    document.querySelectorAll("tr[data-due]").forEach((row) => {
      const due = Number(row.dataset.due);
      if (row.dataset.due && due <= t && !row.classList.contains("sla-late")) {
        row.classList.remove("sla-warn");
        row.classList.add("sla-late");
        check();  // a case just passed its time: the alert should say so now
      }
    });
  };

  let dueTimer = null;
  const showAlert = (alert) => {
    const banner = document.getElementById("sla-banner");
    if (!banner || !alert) return;
    banner.querySelector(".sla-count").textContent = alert.count;
    banner.querySelector(".sla-teams").textContent = alert.teams;
    banner.hidden = alert.count === 0;
    if (dueTimer) clearTimeout(dueTimer);
    dueTimer = null;
    if (alert.next_due) {
      dueTimer = setTimeout(check, Math.max(1000, alert.next_due - now() + 500));
    }
  };

  const showPresence = (mine) => {
    const form = document.getElementById("presence");
    if (!form || !mine) return;
    form.querySelectorAll("button[name=presence]").forEach((button) => {
      const chosen = button.value === mine.shown;
      button.classList.toggle("chosen", chosen);
      button.setAttribute("aria-pressed", chosen ? "true" : "false");
      if (!button.dataset.label) button.dataset.label = button.textContent;
      button.textContent = chosen ? mine.label : button.dataset.label;
    });
  };

  let busy = false;
  async function check() {
    if (busy || document.visibilityState === "hidden") return;
    busy = true;
    try {
      const response = await fetch(live.dataset.status, {
        credentials: "same-origin", headers: { Accept: "application/json" }, redirect: "manual" });
      if (response.ok) {
        const status = await response.json();
        skew = offset(status.now);
        showAlert(status.alert);
        showPresence(status.presence);
      }
    } catch (e) {
      // The network blinked: the next check will tell.
    } finally {
      busy = false;
    }
  }

  const banner = document.getElementById("sla-banner");
  if (banner && banner.dataset.nextDue) {
    showAlert({ count: Number(banner.querySelector(".sla-count").textContent),
                teams: banner.querySelector(".sla-teams").textContent,
                next_due: Number(banner.dataset.nextDue) });
  }
  // The queue page refreshed its list (a case came, went or passed its time): tick the new
  // rows now, and let the alert catch up at once rather than at the next check.
  const queue = document.getElementById("live");
  if (queue && window.MutationObserver) {
    new MutationObserver(() => { tick(); check(); }).observe(queue, { childList: true });
  }
  tick();
  setInterval(tick, 15000);
  setInterval(check, CHECK_EVERY);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") check();
  });
})();
