/*
 * Switchboard admin page: a time-zone picker. A search box narrows a select of the IANA
 * zones the server offers (each with its current UTC offset), so the value is always one
 * of them and never free text. Typing "berl" or "new york" picks the first match; the
 * select still lists every match to choose from. The zone list is fetched once a page.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var loading = null;

  function zones() {
    if (!loading) {
      loading = SB.api("GET", "/api/admin/time-zones").then(function (answer) { return answer.zones; });
    }
    return loading;
  }

  function normalize(text) {
    return text.toLowerCase().replace(/[_/]+/g, " ").replace(/\s+/g, " ").trim();
  }

  /* picker({value, label, testid, onchange}) -> {node, value(), ready} */
  function picker(options) {
    var id = "zone-" + Math.random().toString(36).slice(2, 8);
    var search = el("input", {
      type: "search", id: id + "-search", placeholder: "Search, e.g. Berlin or New York", autocomplete: "off",
      "aria-controls": id, "data-testid": options.testid + "-search",
    });
    var select = el("select", { id: id, "data-testid": options.testid });
    var matches = el("span", { class: "hint", "aria-live": "polite", "data-testid": options.testid + "-matches" });
    var all = [];
    var current = options.value || "UTC";

    function labelOf(name) {
      var found = all.filter(function (zone) { return zone.name === name; })[0];
      return found ? found.label : name;
    }

    function draw() {
      var words = normalize(search.value).split(" ").filter(Boolean);
      var shown = all.filter(function (zone) {
        var hay = normalize(zone.label);
        return words.every(function (word) { return hay.indexOf(word) >= 0; });
      });
      SB.clear(select);
      if (!shown.length) {
        matches.textContent = "No time zone matches “" + search.value.trim() + "”.";
        select.appendChild(el("option", { value: current, selected: true }, labelOf(current)));
        return;
      }
      var inList = shown.some(function (zone) { return zone.name === current; });
      if (words.length && !inList) {
        current = shown[0].name; // typing picks the best match, as a searchable select does
        if (options.onchange) options.onchange(current);
      } else if (!inList) {
        select.appendChild(el("option", { value: current, selected: true }, labelOf(current)));
      }
      shown.forEach(function (zone) {
        select.appendChild(el("option", { value: zone.name, selected: zone.name === current }, zone.label));
      });
      var count = shown.length;
      matches.textContent = !words.length ? "" : count === 1 ? "1 time zone matches." : count + " time zones match.";
    }

    search.addEventListener("input", draw);
    select.addEventListener("change", function () {
      current = select.value;
      if (options.onchange) options.onchange(current);
    });
    var ready = zones().then(function (list) { all = list; draw(); }, SB.fail);
    select.appendChild(el("option", { value: current, selected: true }, current));

    var node = el("div", { class: "zone-picker" }, [
      el("label", { class: "field", for: id + "-search" }, [options.label || "Time zone", search]),
      el("label", { class: "sr-only", for: id, text: (options.label || "Time zone") + ", matching zones" }),
      select, matches,
    ]);
    return { node: node, value: function () { return current; }, ready: ready };
  }

  SB.zonePicker = picker;
  SB.zonePicker.zones = zones;
})();
