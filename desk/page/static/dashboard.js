/*
 * Switchboard dashboard (admins): handoffs per day by reason and by channel, the median
 * time to claim, the median handle time and the share of conversations the AI resolved
 * alone, for the chosen period, from /api/dashboard.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;

  function humanSeconds(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return Math.round(seconds) + " s";
    if (seconds < 3600) return (Math.round(seconds / 6) / 10) + " min";
    return (Math.round(seconds / 360) / 10) + " h";
  }

  function stat(label, value, sub, testid, extra) {
    var body = el("div", {}, [
      el("div", { class: "label", text: label }),
      el("div", { class: "value", "data-testid": testid, text: value }),
      sub ? el("div", { class: "sub", text: sub }) : null,
    ]);
    return el("article", { class: "card stat" + (extra ? " with-ring" : "") }, extra ? [extra, body] : body);
  }

  function render(data) {
    var stats = SB.clear(SB.$("#stats"));
    var handoffs = data.handoffs_per_day.reduce(function (sum, day) { return sum + day.total; }, 0);
    var share = data.ai_resolved_share;
    stats.appendChild(stat("Handoffs", String(handoffs), "in the last " + SB.words.count(data.days, "day"), "stat-handoffs"));
    stats.appendChild(stat("Median time to claim", humanSeconds(data.median_time_to_claim_seconds), SB.words.count(data.claims, "claim"), "stat-claim"));
    stats.appendChild(stat("Median handle time", humanSeconds(data.median_handle_time_seconds), SB.words.count(data.handled, "conversation") + " handled by people", "stat-handle"));
    stats.appendChild(stat(
      "Resolved by the AI alone",
      share === null || share === undefined ? "—" : Math.round(share * 100) + "%",
      data.ai_alone + " of " + SB.words.count(data.conversations, "conversation"),
      "stat-ai-share",
      SB.charts.ring(share || 0)
    ));
    SB.$("#period").textContent = "Since " + SB.time.day(data.since) + " · times in " + SB.time.zone + ".";
    // The legend says each reason in words (the API's reason_labels); ids stay in the API.
    var labels = data.reason_labels || {};
    var reasonName = function (reason) { return labels[reason] || reason; };
    var byReason = data.handoffs_per_day.map(function (day) {
      var parts = {};
      Object.keys(day.by_reason).forEach(function (reason) {
        parts[reasonName(reason)] = (parts[reasonName(reason)] || 0) + day.by_reason[reason]; // two ids may read the same
      });
      return { date: day.date, parts: parts };
    });
    var byChannel = data.handoffs_per_day.map(function (day) {
      var parts = {};
      Object.keys(day.by_channel).forEach(function (channel) { parts[SB.channelName(channel)] = day.by_channel[channel]; });
      return { date: day.date, parts: parts };
    });
    SB.charts.stackedBars(SB.$("#by-reason"), byReason, data.reasons.map(reasonName).filter(function (name, index, all) { return all.indexOf(name) === index; }), "Handoffs per day by reason");
    SB.charts.stackedBars(SB.$("#by-channel"), byChannel, data.channels.map(SB.channelName), "Handoffs per day by channel");
  }

  function load() {
    var days = SB.$("#days").value;
    SB.api("GET", "/api/dashboard?days=" + encodeURIComponent(days)).then(render, SB.fail);
  }

  SB.boot({ active: "dashboard", roles: ["admin"] }, function () {
    SB.$("#days").addEventListener("change", load);
    SB.shortcut("r", "Refresh the figures", load, "Dashboard");
    load();
  });
})();
