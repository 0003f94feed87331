// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Tapping a picture answers the question: go straight to the next step.
  document.querySelectorAll("form[data-auto-advance]").forEach(function (form) {
    var next = form.querySelector('.step-nav .button-primary');
    form.addEventListener("change", function (event) {
      if (event.target.type !== "radio" || !next) return;
      window.setTimeout(function () { form.requestSubmit ? form.requestSubmit(next) : next.click(); }, 180);
    });
  });
  // Copy-to-clipboard for discount codes.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied");
      });
    });
  });
  // One click is enough: a second tap on submit must not send the form twice.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
