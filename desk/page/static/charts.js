/*
 * Switchboard dashboard: charts drawn from the data as SVG, with no chart library — a
 * stacked bar chart with axes, grid lines, a legend and a text alternative (a table for
 * screen readers), and a ring for a share.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var W = 640, H = 240, PAD = { top: 14, right: 12, bottom: 30, left: 36 };

  function niceMax(value) {
    if (value <= 4) return 4;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= value) return steps[i] * power;
    }
    return 10 * power;
  }

  /* days: [{date, parts: {series: n}}]; series: names in stacking order. */
  function stackedBars(container, days, series, label) {
    SB.clear(container);
    var total = 0;
    var max = 0;
    days.forEach(function (day) {
      var sum = 0;
      series.forEach(function (name) { sum += day.parts[name] || 0; });
      day.sum = sum;
      total += sum;
      max = Math.max(max, sum);
    });
    if (!total) {
      container.appendChild(el("p", { class: "chart-empty", text: "No handoffs in this period." }));
      return;
    }
    var top = niceMax(max);
    var innerW = W - PAD.left - PAD.right, innerH = H - PAD.top - PAD.bottom;
    var slot = innerW / days.length;
    var barW = Math.max(2, Math.min(38, slot * 0.68));
    var svg = el("svg:svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label + ": " + total + " in all" });
    for (var t = 0; t <= 4; t++) {
      var value = (top / 4) * t;
      var y = PAD.top + innerH - (value / top) * innerH;
      svg.appendChild(el("svg:line", { class: t ? "grid" : "axis", x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
      svg.appendChild(el("svg:text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end" }, String(Math.round(value * 10) / 10)));
    }
    var every = Math.ceil(days.length / 10);
    days.forEach(function (day, index) {
      var x = PAD.left + slot * index + (slot - barW) / 2;
      var base = PAD.top + innerH;
      series.forEach(function (name, s) {
        var count = day.parts[name] || 0;
        if (!count) return;
        var h = (count / top) * innerH;
        base -= h;
        var rect = el("svg:rect", { x: x, y: base, width: barW, height: h, rx: 1.5, class: "swatch-" + (s % 8), "data-series": name, "data-date": day.date });
        rect.appendChild(el("svg:title", {}, day.date + " · " + name + ": " + count));
        svg.appendChild(rect);
      });
      if (index % every === 0) {
        svg.appendChild(el("svg:text", { x: x + barW / 2, y: H - 10, "text-anchor": "middle" }, shortDate(day.date)));
      }
    });
    container.appendChild(svg);
    var legend = el("div", { class: "legend" });
    series.forEach(function (name, s) {
      legend.appendChild(el("span", {}, [el("i", { class: "swatch-" + (s % 8) }), name]));
    });
    container.appendChild(legend);
    container.appendChild(table(days, series, label));
  }

  function shortDate(iso) {
    var parts = String(iso).split("-");
    return parts.length === 3 ? Number(parts[1]) + "/" + Number(parts[2]) : iso;
  }

  function table(days, series, label) {
    var head = el("tr", {}, [el("th", { scope: "col", text: "Day" })].concat(series.map(function (name) { return el("th", { scope: "col", text: name }); })));
    var rows = days.map(function (day) {
      return el("tr", {}, [el("th", { scope: "row", text: day.date })].concat(series.map(function (name) { return el("td", { text: String(day.parts[name] || 0) }); })));
    });
    return el("table", { class: "sr-only" }, [el("caption", { text: label }), el("thead", {}, head), el("tbody", {}, rows)]);
  }

  /* A ring showing `share` (0..1). */
  function ring(share) {
    var r = 34, c = 2 * Math.PI * r;
    var svg = el("svg:svg", { class: "ring", viewBox: "0 0 84 84", "aria-hidden": "true" });
    svg.appendChild(el("svg:circle", { class: "track", cx: 42, cy: 42, r: r, fill: "none", "stroke-width": 10 }));
    var arc = el("svg:circle", {
      class: "value", cx: 42, cy: 42, r: r, fill: "none", "stroke-width": 10, "stroke-linecap": "round",
      "stroke-dasharray": (c * (share || 0)) + " " + c, transform: "rotate(-90 42 42)",
    });
    if (share > 0) svg.appendChild(arc);
    return svg;
  }

  SB.charts = { stackedBars: stackedBars, ring: ring };
})();
