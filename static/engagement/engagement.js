// Small enhancements only: every page works without script (sorting and filtering are server-side).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary so screen-reader users hear what to fix.
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
