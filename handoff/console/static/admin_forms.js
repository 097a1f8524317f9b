// Live counters for LINE's limits: a message bubble counts UTF-16 units (5000), a button's
// label characters (20). The server checks again on saving; this only warns while typing.
"use strict";
(function () {
  const count = (field) =>
    field.dataset.count === "utf16" ? field.value.length : Array.from(field.value).length;
  document.querySelectorAll("[data-limit]").forEach((field) => {
    const out = document.getElementById(field.getAttribute("aria-describedby"));
    if (!out) return;
    const limit = Number(field.dataset.limit);
    const show = () => {
      const n = count(field);
      out.textContent = n + " / " + limit + "字" + (n > limit ? "（" + (n - limit) + "字多すぎます）" : "");
      out.classList.toggle("over", n > limit);
    };
    field.addEventListener("input", show);
    show();
  });
})();
