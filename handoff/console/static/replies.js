// Canned replies on the case page: the chosen reply, in the resident's language and with its
// variables already filled in (rendered by the server into #canned-data), is put into the
// reply box. Chosen from the menu, or by typing "/" in the reply box (then a few letters of
// its title, arrows, Enter or Tab). It is never sent from here: the counsellor reads it,
// adapts it and sends it themselves (a helpline study found one-click macros hurt outcomes).
"use strict";
(function () {
  const data = document.getElementById("canned-data");
  const select = document.getElementById("canned");
  const insert = document.getElementById("canned-insert");
  const form = select && select.closest("form");
  const words = form && form.querySelector("textarea[name=words]");
  if (!data || !select || !insert || !words) return;
  const all = JSON.parse(data.textContent);
  const replies = new Map(all.map((r) => [r.id, r]));

  // Puts `text` in place of [start, end): on a line of its own after words already there.
  function place(text, start, end) {
    const before = words.value.slice(0, start);
    const value = before && !before.endsWith("\n") ? "\n" + text : text;
    words.setRangeText(value, start, end, "end");
    words.focus();
    // Not an "input" event: only typing tells the resident a reply is being written.
    words.dispatchEvent(new CustomEvent("tsunagu:inserted", { bubbles: true }));
  }

  function put() {
    const reply = replies.get(select.value);
    if (!reply) {
      select.focus();
      return;
    }
    place(reply.text, words.selectionStart, words.selectionEnd);
    select.value = "";
  }

  insert.addEventListener("click", put);
  // Enter on the menu puts the chosen reply in, as the button does (it never submits).
  select.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      put();
    }
  });

  // "/" in the reply box: a list of the replies, narrowed by what follows the slash.
  const list = document.createElement("ul");
  list.id = "canned-slash";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "返信に入れる文の候補");
  list.hidden = true;
  // Above the box, a line of its own: beside it, the list would squeeze what is being typed.
  words.insertAdjacentElement("beforebegin", list);
  words.setAttribute("aria-autocomplete", "list");
  words.setAttribute("aria-controls", list.id);
  words.setAttribute("aria-expanded", "false");
  let shown = [];
  let active = 0;
  let slashAt = -1;

  function close() {
    list.hidden = true;
    shown = [];
    slashAt = -1;
    words.setAttribute("aria-expanded", "false");
    words.removeAttribute("aria-activedescendant");
  }

  function draw() {
    list.replaceChildren(...shown.map((reply, i) => {
      const item = document.createElement("li");
      item.id = "canned-slash-" + reply.id;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", i === active ? "true" : "false");
      item.textContent = reply.title;
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();  // keep the focus (and the cursor) in the reply box
        choose(i);
      });
      return item;
    }));
    if (shown.length) words.setAttribute("aria-activedescendant", "canned-slash-" + shown[active].id);
  }

  function choose(i) {
    const reply = shown[i];
    const at = slashAt;
    const end = words.selectionStart;
    close();
    if (reply && at >= 0) place(reply.text, at, end);
  }

  words.addEventListener("input", () => {
    const upto = words.value.slice(0, words.selectionStart);
    const found = /(^|\s)\/([^\s/]*)$/.exec(upto);
    if (!found) {
      close();
      return;
    }
    const query = found[2].toLowerCase();
    shown = all.filter((r) => !query || r.title.toLowerCase().includes(query)
      || r.id.toLowerCase().includes(query));
    if (!shown.length) {
      close();
      return;
    }
    slashAt = upto.length - found[2].length - 1;
    active = 0;
    list.hidden = false;
    words.setAttribute("aria-expanded", "true");
    draw();
  });

  words.addEventListener("keydown", (event) => {
    if (list.hidden || event.isComposing) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      active = (active + step + shown.length) % shown.length;
      draw();
    } else if ((event.key === "Enter" && !event.ctrlKey && !event.metaKey) || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();  // Enter picks a reply here; it never sends
      choose(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  words.addEventListener("blur", () => setTimeout(close, 150));
})();
