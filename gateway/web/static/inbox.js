// Progressive enhancement for the inbox. Everything works without it: the server applies
// enableWhen on submit and shows every error with a link to its field.
// 1. The answer form hides (and disables) items whose enableWhen does not hold.
// 2. An error summary takes the focus, so screen readers and keyboards start there, and
//    its links move the focus to the field they name.
(function () {
  "use strict";
  function valuesOf(form, name) {
    var out = [];
    form.querySelectorAll("[name]").forEach(function (el) {
      if (el.name !== name || el.disabled) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      if (el.value !== "") out.push(el.value);
    });
    return out;
  }
  function compare(a, b, operator, coding) {
    if (coding && b.charAt(0) === "|") { a = a.split("|").pop(); b = b.slice(1); }
    switch (operator) {
      case "=": return a === b;
      case "!=": return a !== b;
      case ">": return Number(a) > Number(b);
      case "<": return Number(a) < Number(b);
      case ">=": return Number(a) >= Number(b);
      case "<=": return Number(a) <= Number(b);
    }
    return false;
  }
  function holds(form, c) {
    var given = valuesOf(form, c.field);
    if (c.operator === "exists") return (given.length > 0) === (c.value === "true");
    if (c.operator === "!=" && given.length === 0) return true;
    return given.some(function (v) { return compare(v, c.value, c.operator, c.coding); });
  }
  function update(form) {
    // Repeat until nothing changes: hiding an item drops its answers from later conditions.
    for (var round = 0; round < 20; round++) {
      var changed = false;
      form.querySelectorAll("[data-enable-when]").forEach(function (el) {
        var rule = JSON.parse(el.getAttribute("data-enable-when"));
        var results = rule.conditions.map(function (c) { return holds(form, c); });
        var on = rule.any ? results.some(Boolean) : results.every(Boolean);
        if (el.hidden === on) { el.hidden = !on; changed = true; }
      });
      form.querySelectorAll("input, select, textarea").forEach(function (el) {
        if (el.type === "hidden") return;
        el.disabled = el.closest("[hidden]") !== null;
      });
      if (!changed) break;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.questionnaire");
    if (form) {
      form.querySelectorAll(".condition").forEach(function (p) { p.hidden = true; });
      update(form);
      form.addEventListener("change", function () { update(form); });
    }
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        var target = link && document.getElementById(link.getAttribute("href").slice(1));
        if (!target) return;
        event.preventDefault();
        var focusable = target.matches("input, select, textarea, button")
          ? target : target.querySelector("input, select, textarea");
        target.scrollIntoView();
        if (focusable) focusable.focus();
      });
    }
  });
})();
