// Draws the flow diagram in the page from the Mermaid text the server produced (no network).
(function () {
  if (!window.mermaid) return;
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  // Each state of the intake opens its card in the form editor, by mouse or keyboard.
  const linkStates = () => {
    document.querySelectorAll("pre.mermaid[data-cards]").forEach((diagram) => {
      const names = new Set(diagram.dataset.states.split(" "));
      diagram.querySelectorAll("svg g.node").forEach((node) => {
        const name = node.textContent.trim();
        if (!names.has(name)) return;
        const open = () => {
          window.location.href = diagram.dataset.cards + encodeURIComponent(name);
        };
        node.setAttribute("tabindex", "0");
        node.setAttribute("role", "link");
        node.setAttribute("aria-label", name + "のカードを開く");
        node.classList.add("card-link");
        node.addEventListener("click", open);
        node.addEventListener("keydown", (event) => {
          if (event.key === "Enter") open();
        });
      });
    });
  };
  window.mermaid.run({ querySelector: "pre.mermaid" }).then(linkStates);
})();
