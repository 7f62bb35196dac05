/* Live SLA countdown badges.
 *
 * Every element with data-due="<ISO 8601>" shows the time left until it ("剩 1小时20分") or how long it is overdue
 * ("超时 15分"), refreshed every 30 seconds. With data-warn="<ISO 8601>" it turns amber once the warning point has
 * passed; past data-due it turns red. The words come from the page (a JSON script with id "countdown-words", rendered
 * through Django's gettext), so this file holds no language of its own; the English fallbacks are only a safety net.
 * Elements swapped in by htmx are updated straight away.
 */
(function () {
  "use strict";

  var REFRESH_MS = 30 * 1000;
  var CLASSES = { ok: "text-bg-secondary", warning: "text-bg-warning", breached: "text-bg-danger" };
  var words = {
    left: "%(time)s left",
    overdue: "overdue by %(time)s",
    days: "%(days)sd %(hours)sh",
    hours: "%(hours)sh %(minutes)smin",
    minutes: "%(minutes)smin",
  };

  function loadWords() {
    var script = document.getElementById("countdown-words");
    if (!script) return;
    try {
      var given = JSON.parse(script.textContent);
      Object.keys(given).forEach(function (key) { words[key] = given[key]; });
    } catch (error) {
      /* keep the fallbacks: a countdown in English beats no countdown */
    }
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, name) {
      return name in values ? String(values[name]) : match;
    });
  }

  function duration(milliseconds) {
    // Whole minutes, rounded up: "1 minute left" until the deadline, "1 minute overdue" right after it.
    var total = Math.max(1, Math.ceil(Math.abs(milliseconds) / 60000));
    var days = Math.floor(total / 1440);
    var hours = Math.floor((total % 1440) / 60);
    var minutes = total % 60;
    if (days) return fill(words.days, { days: days, hours: hours });
    if (hours) return fill(words.hours, { hours: hours, minutes: minutes });
    return fill(words.minutes, { minutes: minutes });
  }

  function update(element, now) {
    var due = Date.parse(element.dataset.due);
    if (isNaN(due)) return;
    var warn = element.dataset.warn ? Date.parse(element.dataset.warn) : NaN;
    var left = due - now;
    var state = left <= 0 ? "breached" : !isNaN(warn) && now >= warn ? "warning" : "ok";
    element.textContent = fill(left <= 0 ? words.overdue : words.left, { time: duration(left) });
    Object.keys(CLASSES).forEach(function (key) { element.classList.remove(CLASSES[key]); });
    element.classList.add(CLASSES[state]);
    element.dataset.state = state;
    element.title = new Date(due).toLocaleString();
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (element) { update(element, now); });
  }

  function start() {
    loadWords();
    tick();
    window.setInterval(tick, REFRESH_MS);
    document.body.addEventListener("htmx:afterSwap", tick);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
