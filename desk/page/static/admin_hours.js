/*
 * Switchboard admin page: business hours as a weekly editor. Either open around the clock
 * (no schedule) or set hours: each day open or closed, with one or more opening times;
 * a time-zone picker; and under it a live preview of what the handoff policy will do
 * ("Closed now. Opens Monday at 09:00 (in 14 hours)"), asked of the server so it says
 * exactly what the policy computes, with any problem in the schedule in words.
 * A day ends at midnight: an end of 00:00 is stored as 24:00.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var NAMES = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };
  var DEFAULT_RANGE = ["09:00", "17:00"];
  var PREVIEW_DELAY_MS = 250;

  /* editor({hours, zone}) -> {node, value(): {business_hours, time_zone}, check(): Promise} */
  function editor(current) {
    var hours = current.hours || {};
    var week = {}; // day -> {open: checkbox, list: node, rows: [[start, end]]}
    var mode = Object.keys(hours).length ? "weekly" : "always";
    var preview = el("p", { class: "hours-preview", role: "status", "data-testid": "hours-preview" });
    var zone = SB.zonePicker({ value: current.zone, label: "Time zone", testid: "setting-time_zone", onchange: refresh });
    var always = el("input", { type: "radio", name: "hours-mode", value: "always", checked: mode === "always", "data-testid": "hours-always" });
    var weekly = el("input", { type: "radio", name: "hours-mode", value: "weekly", checked: mode === "weekly", "data-testid": "hours-weekly" });
    var table = el("div", { class: "week", "data-testid": "hours-week", hidden: mode === "always" });
    var timer = null;
    var problem = null;

    function timeInput(value, label) {
      var input = el("input", { type: "time", step: 60, required: true, "aria-label": label });
      input.value = value === "24:00" ? "00:00" : value;
      input.addEventListener("input", refresh);
      return input;
    }

    function addRange(day, range) {
      var name = NAMES[day];
      var start = timeInput(range[0], name + " opens at");
      var end = timeInput(range[1], name + " closes at");
      var row = el("div", { class: "range", "data-testid": "hours-range-" + day }, [
        start, el("span", { "aria-hidden": "true", text: "to" }), end,
      ]);
      var remove = el("button", { type: "button", class: "btn small", "aria-label": "Remove this opening time on " + name }, "Remove");
      remove.addEventListener("click", function () {
        week[day].inputs = week[day].inputs.filter(function (pair) { return pair[0] !== start; });
        row.remove();
        if (!week[day].inputs.length) week[day].open.checked = false;
        drawDay(day);
        refresh();
      });
      row.appendChild(remove);
      week[day].inputs.push([start, end]);
      week[day].list.appendChild(row);
    }

    function drawDay(day) {
      var entry = week[day];
      var open = entry.open.checked;
      if (open && !entry.inputs.length) addRange(day, DEFAULT_RANGE);
      entry.list.hidden = !open;
      entry.add.hidden = !open;
      entry.closed.hidden = open;
    }

    DAYS.forEach(function (day) {
      var open = el("input", { type: "checkbox", checked: (hours[day] || []).length > 0, "data-testid": "hours-open-" + day });
      var list = el("div", { class: "ranges" });
      var add = el("button", { type: "button", class: "btn small", "data-testid": "hours-add-" + day, "aria-label": "Add opening time on " + NAMES[day] }, "Add time");
      var closed = el("span", { class: "hint", text: "Closed" });
      week[day] = { open: open, list: list, add: add, closed: closed, inputs: [] };
      (hours[day] || []).forEach(function (range) { addRange(day, range); });
      open.addEventListener("change", function () { drawDay(day); refresh(); });
      add.addEventListener("click", function () {
        var last = week[day].inputs[week[day].inputs.length - 1];
        addRange(day, last ? [last[1].value || "13:00", "23:00"] : DEFAULT_RANGE);
        refresh();
      });
      table.appendChild(el("div", { class: "hours-day", "data-day": day }, [
        el("label", { class: "check day-name" }, [open, NAMES[day]]), el("div", { class: "day-times" }, [list, closed, add]),
      ]));
      drawDay(day);
    });
    var copy = el("button", { type: "button", class: "btn small", "data-testid": "hours-copy-monday" }, "Copy Monday to Tuesday–Friday");
    copy.addEventListener("click", function () {
      var monday = value().business_hours.mon || [];
      ["tue", "wed", "thu", "fri"].forEach(function (day) {
        week[day].inputs = [];
        SB.clear(week[day].list);
        week[day].open.checked = monday.length > 0;
        monday.forEach(function (range) { addRange(day, range); });
        drawDay(day);
      });
      refresh();
    });
    table.appendChild(el("div", {}, copy));
    [always, weekly].forEach(function (radio) {
      radio.addEventListener("change", function () { table.hidden = always.checked; refresh(); });
    });

    function value() {
      var schedule = {};
      if (weekly.checked) {
        DAYS.forEach(function (day) {
          schedule[day] = !week[day].open.checked ? [] : week[day].inputs.map(function (pair) {
            var end = pair[1].value === "00:00" ? "24:00" : pair[1].value;
            return [pair[0].value, end];
          });
        });
      }
      return { business_hours: schedule, time_zone: zone.value() };
    }

    function check() {
      return SB.api("POST", "/api/admin/business-hours/preview", value()).then(function (answer) {
        problem = null;
        preview.textContent = answer.text;
        preview.className = "hours-preview " + (answer.open_now ? "open" : "closed");
        return answer;
      }, function (error) {
        problem = error.message;
        preview.textContent = error.message;
        preview.className = "hours-preview error-text";
        throw error;
      });
    }

    function refresh() {
      clearTimeout(timer);
      timer = setTimeout(function () { check().catch(function () { /* shown in the preview */ }); }, PREVIEW_DELAY_MS);
    }

    zone.ready.then(refresh);
    var node = el("div", { class: "hours-editor wide" }, [
      el("div", { class: "hours-mode", role: "radiogroup", "aria-label": "When the team answers" }, [
        el("label", { class: "check" }, [always, "Open around the clock"]),
        el("label", { class: "check" }, [weekly, "Set opening hours"]),
      ]),
      table,
      el("div", { class: "zone-row" }, zone.node),
      preview,
      el("p", { class: "hint", text: "For a day that ends at midnight, set the closing time to 00:00." }),
    ]);
    return { node: node, value: value, check: check, problem: function () { return problem; } };
  }

  SB.admin = Object.assign(SB.admin || {}, { hoursEditor: editor });
})();
