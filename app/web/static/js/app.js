// Behaviour shared by every staff page. No inline script anywhere (see the CSP): pages mark
// elements with data attributes and this file gives them their behaviour.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  // For page scripts that send with fetch: headers to add to a change.
  window.hocvuso = { csrfToken: csrfToken, csrfHeaders: function () { return { "X-CSRF-Token": csrfToken() }; } };

  // htmx sends the CSRF token with every request it makes.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // <form data-confirm="question">: ask before sending (revoking, deactivating, ...).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // <table data-sortable>: each header becomes a button sorting by its column, by the cells'
  // data-sort value when they have one (numbers), else by their text.
  function sortValue(cell) {
    if (!cell) { return ""; }
    var raw = cell.getAttribute("data-sort");
    if (raw !== null && raw !== "" && !isNaN(Number(raw))) { return Number(raw); }
    return raw !== null ? raw : cell.textContent.trim();
  }
  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    if (typeof a === "number") { return -1; }
    if (typeof b === "number") { return 1; }
    return String(a).localeCompare(String(b), document.documentElement.lang || "vi");
  }
  function makeSortable(table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, index) {
      if (th.querySelector("button")) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      if (!th.hasAttribute("aria-sort")) { th.setAttribute("aria-sort", "none"); }
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var result = compare(sortValue(r1.cells[index]), sortValue(r2.cells[index]));
          return ascending ? result : -result;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  function init(root) {
    root.querySelectorAll("table[data-sortable]").forEach(makeSortable);
  }
  // A table too wide for the screen scrolls inside its box: the box takes the keyboard focus
  // then, so it can be scrolled with the arrow keys (and only then: no needless Tab stop).
  function focusableWhenScrolling() {
    document.querySelectorAll(".table-wrap").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth) { box.setAttribute("tabindex", "0"); }
      else { box.removeAttribute("tabindex"); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); focusableWhenScrolling(); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); focusableWhenScrolling(); });
  window.addEventListener("resize", focusableWhenScrolling);
  document.addEventListener("toggle", focusableWhenScrolling, true);
})();
