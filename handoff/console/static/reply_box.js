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

  // The counsellor's lines in the talk: a draft remembers how many there were when it was
  // written, so only a line after that can be it sent (the same words sent earlier, like
  // 「ありがとうございます」, do not make a new draft vanish).
  const counsellorLines = () =>
    Array.from(document.querySelectorAll(".transcript .line.counsellor .text"));
  const stored = (() => {
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  })();
  let before = null; // the count of counsellor lines when the present draft was begun
  const save = () => {
    if (words.value.trim()) {
      if (before === null) before = counsellorLines().length;
      store.setItem(key, JSON.stringify({ text: words.value, at: Date.now(), before: before }));
    } else {
      store.removeItem(key);
      before = null;
    }
  };

  if (stored && stored.text) {
    const since = Number.isInteger(stored.before) ? stored.before : 0;
    const sent = counsellorLines().slice(since).some((line) => same(line.textContent, stored.text));
    if (sent) {
      store.removeItem(key);
    } else {
      before = since;
      if (!words.value.trim()) {
        words.value = stored.text;
        if (note) note.hidden = false;
      }
    }
  }
  // Words typed while the page was still loading (before this script ran) are kept too.
  if (words.value.trim() && !(stored && stored.text === words.value)) save();

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
