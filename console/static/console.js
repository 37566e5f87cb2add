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

  // The idle sign-out (the session ends after data-idle-timeout seconds
  // without a request): warn before it, with a way to stay signed in, and
  // when it has passed go to the sign-in page, which says why and comes
  // back here. Any htmx request renews the session, so it restarts the
  // count too.
  document.addEventListener("DOMContentLoaded", function () {
    var idle = parseInt(document.body.getAttribute("data-idle-timeout") || "0", 10);
    var box = document.getElementById("idle-warning");
    if (!(idle > 0) || !box) {
      return;
    }
    var warnBefore = Math.min(120, Math.floor(idle / 2));
    var stay = document.getElementById("idle-stay");
    var when = document.getElementById("idle-when");
    var warnTimer, outTimer;
    function signedOut() {
      location.assign("/login?timed_out&next=" + encodeURIComponent(location.pathname + location.search));
    }
    function warn() {
      var at = new Date(Date.now() + warnBefore * 1000);
      when.textContent = "at " + at.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) +
        (warnBefore >= 60 ? ", in " + Math.round(warnBefore / 60) + " minute" + (warnBefore >= 90 ? "s" : "") : ", in " + warnBefore + " seconds");
      box.hidden = false;
      stay.focus();
    }
    function restart() {
      clearTimeout(warnTimer);
      clearTimeout(outTimer);
      box.hidden = true;
      warnTimer = setTimeout(warn, (idle - warnBefore) * 1000);
      outTimer = setTimeout(signedOut, (idle + 1) * 1000);
    }
    stay.addEventListener("click", function () {
      fetch("/session/keepalive", {credentials: "same-origin", redirect: "manual"}).then(function (r) {
        if (r.status === 204) {
          restart();
        } else {
          signedOut();
        }
      }, signedOut);
    });
    document.body.addEventListener("htmx:afterRequest", restart);
    restart();
  });
})();
