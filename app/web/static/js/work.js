// The registration form is sent with htmx and the answer never carries the personal ID number
// that was typed: inputs marked data-keep-typed get back what the person typed after the swap.
(function () {
  "use strict";
  var kept = {};
  document.addEventListener("htmx:beforeSwap", function () {
    kept = {};
    document.querySelectorAll("input[data-keep-typed]").forEach(function (input) {
      kept[input.name] = input.value;
    });
  });
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("input[data-keep-typed]").forEach(function (input) {
      if (!input.value && kept[input.name]) { input.value = kept[input.name]; }
    });
    var alert = document.querySelector("main .alert--error");
    if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
    kept = {};
  });
})();
