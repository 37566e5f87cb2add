// Kore Billing console: the little the pages need beyond htmx. Everything
// here only improves a page that already works without JavaScript.
(function () {
  "use strict";
  // A form that came back with problems: move focus to their summary, so
  // that a screen reader reads them out and the keyboard starts there.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary[tabindex]");
    if (summary) {
      summary.focus();
    }
  });
})();
