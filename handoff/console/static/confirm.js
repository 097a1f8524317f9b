// A form with data-confirm asks first, in a dialog that says what will happen: closing a case
// (the resident is told and the bot takes the chat back) and rolling content back (every
// resident meets the older words at once) cannot be undone by a click. Without JavaScript the
// form submits as it always did. {choice} in the message is the form's chosen <select> option.
"use strict";
(function () {
  const forms = document.querySelectorAll("form[data-confirm]");
  if (!forms.length || !window.HTMLDialogElement) return;

  const dialog = document.createElement("dialog");
  dialog.id = "confirm-dialog";
  dialog.setAttribute("aria-labelledby", "confirm-title");
  dialog.setAttribute("aria-describedby", "confirm-message");
  dialog.innerHTML =
    '<h2 id="confirm-title"></h2><p id="confirm-message"></p>' +
    '<form method="dialog" class="confirm-actions">' +
    '<button value="yes" id="confirm-yes"></button>' +
    '<button value="no" id="confirm-no" class="secondary">やめる</button></form>';
  document.body.appendChild(dialog);

  forms.forEach((form) => {
    let approved = false;
    form.addEventListener("submit", (event) => {
      if (approved) return;
      event.preventDefault();
      const chosen = form.querySelector("select option:checked");
      dialog.querySelector("#confirm-title").textContent = form.dataset.confirmTitle || "確認";
      dialog.querySelector("#confirm-message").textContent = form.dataset.confirm
        .replace("{choice}", chosen ? chosen.textContent.trim() : "");
      dialog.querySelector("#confirm-yes").textContent = form.dataset.confirmYes || "はい";
      const submitter = event.submitter;
      dialog.returnValue = "";
      dialog.addEventListener("close", () => {
        if (dialog.returnValue === "yes") {
          approved = true;
          form.requestSubmit(submitter || undefined);
        } else if (submitter) {
          submitter.focus();  // back where the counsellor was, nothing done
        }
      }, { once: true });
      dialog.showModal();
      dialog.querySelector("#confirm-no").focus();  // the safe choice is the default
    });
  });
})();
