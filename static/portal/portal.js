/* Customer portal: small enhancements. Everything works without this file; it only saves clicks. */
(function () {
  "use strict";

  // After a failed submit, move focus to the list of problems so it is read out first.
  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) summary.focus();

  var form = document.querySelector("form[data-live-quote]");
  if (!form) return;
  var panel = document.getElementById("quote");
  var timer = null;
  var controller = null;

  // Live quote: ask the same view for just the quote panel whenever the choices change.
  // The "Update quote" button does the same with a full page when scripts are off.
  function refreshQuote() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      if (controller) controller.abort();
      controller = new AbortController();
      var body = new FormData(form);
      body.set("action", "quote");
      panel.setAttribute("aria-busy", "true");
      // getAttribute: the buttons named "action" shadow form.action.
      fetch(form.getAttribute("action"), {
        method: "POST", body: body, credentials: "same-origin", signal: controller.signal,
        headers: {"X-Portal-Partial": "quote"}
      }).then(function (response) {
        if (!response.ok) throw new Error("quote " + response.status);
        return response.text();
      }).then(function (html) {
        panel.innerHTML = html;
      }).catch(function () {
        // Keep the last quote; the "Update quote" button still works.
      }).finally(function () {
        panel.removeAttribute("aria-busy");
      });
    }, 300);
  }
  form.addEventListener("change", refreshQuote);
  form.addEventListener("input", function (event) {
    if (event.target.type === "number") refreshQuote();
  });

  // Send the return once: a second click while the first request runs would ask twice.
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (!button || button.value !== "submit") return;
    if (form.dataset.submitting) {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "true";
    button.setAttribute("aria-disabled", "true");
  });
  // Coming back to the page (the back button) must not leave the form stuck.
  window.addEventListener("pageshow", function () {
    delete form.dataset.submitting;
    form.querySelectorAll("[aria-disabled]").forEach(function (el) { el.removeAttribute("aria-disabled"); });
  });
})();
