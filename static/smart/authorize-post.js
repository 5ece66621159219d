// SMART authorize-post: submit the authorization request form as soon as the page loads (CSP allows no inline
// script). Without JavaScript the user presses "Continue".
(function () {
  "use strict";
  function submit() {
    var form = document.getElementById("authorize-post");
    if (form && !form.dataset.submitted) {
      form.dataset.submitted = "1";
      form.submit();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", submit);
  } else {
    submit();
  }
})();
