// The つなぐシート's print button (the page's own script: inline code is not allowed here).
"use strict";
document.getElementById("print")?.addEventListener("click", () => window.print());
