// Small behaviours shared by every page. htmx does the requests; this file only adds what htmx lacks.
(function () {
  "use strict";
  // Let htmx swap our error fragments (422 for a form with errors) instead of ignoring them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
