// Behaviour the templates declare with data- attributes: the Content-Security-Policy forbids
// inline event handlers (onchange=, onsubmit=), so they live here. Listeners sit on the document,
// so content that HTMX swaps in later works too.
(function () {
  // <select data-autosubmit>: submit the select's form when the choice changes (portfolio switcher).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) el.form.submit();
  });

  // <form data-confirm="message">: ask before submitting (deleting a tag); Cancel stops the submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
