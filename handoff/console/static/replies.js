// Canned replies on the case page: the chosen reply, in the resident's language and with the
// counsellor's name already in it (rendered by the server into #canned-data), is put into the
// reply box at the cursor. It is never sent from here: the counsellor reads it, adapts it and
// presses 送信 themselves.
"use strict";
(function () {
  const data = document.getElementById("canned-data");
  const select = document.getElementById("canned");
  const insert = document.getElementById("canned-insert");
  const form = select && select.closest("form");
  const words = form && form.querySelector("textarea[name=words]");
  if (!data || !select || !insert || !words) return;
  const replies = new Map(JSON.parse(data.textContent).map((r) => [r.id, r]));

  function put() {
    const reply = replies.get(select.value);
    if (!reply) {
      select.focus();
      return;
    }
    const start = words.selectionStart;
    const end = words.selectionEnd;
    const before = words.value.slice(0, start);
    // Into the middle of a reply already begun: on a line of its own.
    const text = before && !before.endsWith("\n") ? "\n" + reply.text : reply.text;
    words.setRangeText(text, start, end, "end");
    words.focus();
    // Not an "input" event: only typing tells the resident a reply is being written.
    words.dispatchEvent(new CustomEvent("tsunagu:inserted", { bubbles: true }));
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
})();
