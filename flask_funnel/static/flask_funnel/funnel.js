// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // A tap or click on an answer goes straight on to the next step, the answer already
  // chosen too (after Previous). Only a pointer does: arrow keys move between the
  // answers and never submit (WCAG 3.2.2); Enter or Next does.
  document.querySelectorAll("form[data-auto-advance]").forEach(function (form) {
    var next = form.querySelector(".step-nav .button-primary");
    var pointer = false;
    form.addEventListener("pointerdown", function () { pointer = true; });
    form.addEventListener("keydown", function () { pointer = false; });
    form.addEventListener("click", function (event) {
      if (!pointer || event.target.type !== "radio" || !next) return;
      window.setTimeout(function () { form.requestSubmit ? form.requestSubmit(next) : next.click(); }, 180);
    });
  });
  // Each step is a new page: start a screen reader and the keyboard at its question,
  // or at the first field the visitor has to correct.
  var invalid = document.querySelector(".quiz-step [aria-invalid=true]");
  var heading = document.querySelector(".funnel-quiz .step-heading");
  if (invalid) {
    invalid.focus();
  } else if (heading && !document.querySelector("[autofocus]")) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
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
  // In an iframe on another site (<slug>/embed): tell the host page how tall the page
  // is, so static/embed.js sizes the frame to it (the height is not a secret: "*").
  if (document.documentElement.hasAttribute("data-funnel-embed") && window.parent !== window) {
    var tell = function () {
      window.parent.postMessage(
        // The body's own height: the document's is never less than the frame's, and
        // a frame sized by it could grow but never shrink.
        { type: "flask-funnel:height", height: document.body.getBoundingClientRect().height },
        "*"
      );
    };
    tell();
    window.addEventListener("load", tell);
    if (window.ResizeObserver) new ResizeObserver(tell).observe(document.body);
  }
  // One click is enough: a second tap on submit must not send the form twice.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
