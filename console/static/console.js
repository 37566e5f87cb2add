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
    // On a phone the tab bars are one row that scrolls sideways: show the
    // current tab.
    var current = document.querySelectorAll("header nav [aria-current=page]");
    for (var i = 0; i < current.length; i++) {
      var nav = current[i].closest("nav");
      if (nav.scrollWidth > nav.clientWidth) {
        nav.scrollLeft = current[i].offsetLeft - nav.offsetLeft - 16;
      }
    }
  });
})();
