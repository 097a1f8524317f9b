// The reply box: Ctrl+Enter (⌘+Enter on a Mac) sends, and a draft survives a reload or a
// live refresh. Drafts are kept in this browser only (localStorage), per account and case;
// one goes once the talk shows it sent, any after a day, and all of them at logout, so a
// shared computer keeps no resident's matter for the next person.
"use strict";
(function () {
  const PREFIX = "tsunagu:draft:";
  const DAY_MS = 24 * 60 * 60 * 1000;
  let store;
  try {
    store = window.localStorage;
  } catch (e) {
    return; // storage refused by the browser: the box works as before
  }

  const drafts = () => Object.keys(store).filter((k) => k.startsWith(PREFIX));
  drafts().forEach((key) => {
    try {
      if (Date.now() - JSON.parse(store.getItem(key)).at > DAY_MS) store.removeItem(key);
    } catch (e) {
      store.removeItem(key);
    }
  });
  document.querySelectorAll('form[action="/console/logout"]').forEach((form) => {
    form.addEventListener("submit", () => drafts().forEach((key) => store.removeItem(key)));
  });

  const form = document.querySelector("form.reply[data-draft]");
  if (!form) return;
  const words = form.querySelector("textarea[name=words]");
  const key = PREFIX + form.dataset.draft;
  const note = document.getElementById("draft-note");
  const same = (a, b) => a.replace(/\s+/g, " ").trim() === b.replace(/\s+/g, " ").trim();

  const saved = (() => {
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  })();
  if (saved && saved.text) {
    const sent = Array.from(document.querySelectorAll(".transcript .line.counsellor .text"))
      .some((line) => same(line.textContent, saved.text));
    if (sent) {
      store.removeItem(key);
    } else if (!words.value.trim()) {
      words.value = saved.text;
      if (note) note.hidden = false;
    }
  }

  const save = () => {
    if (words.value.trim()) {
      store.setItem(key, JSON.stringify({ text: words.value, at: Date.now() }));
    } else {
      store.removeItem(key);
    }
  };
  words.addEventListener("input", save);
  words.addEventListener("tsunagu:inserted", save);

  words.addEventListener("keydown", (event) => {
    // Not while an IME is still choosing kanji: Enter there confirms the conversion.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
