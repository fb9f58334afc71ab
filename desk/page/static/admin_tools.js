/*
 * Small helpers the admins' settings pages share: a time as a person says it ("5 minutes
 * ago", with the full date and time for a title), a count with its noun in the right
 * number, a server message as a sentence, and a result line under a button.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});

  SB.plural = function (count, one, many) {
    return count + " " + (count === 1 ? one : many || one + "s");
  };

  SB.sentence = function (text) {
    text = String(text || "").trim();
    if (!text) return "";
    text = text.charAt(0).toUpperCase() + text.slice(1);
    return /[.!?…]$/.test(text) ? text : text + ".";
  };

  SB.fullTime = function (iso) {
    return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  };

  /* "just now", "5 minutes ago", "3 hours ago", "2 days ago", then the date. */
  SB.ago = function (iso, now) {
    var seconds = Math.max(0, Math.round(((now || Date.now()) - new Date(iso).getTime()) / 1000));
    if (seconds < 45) return "just now";
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) return SB.plural(minutes, "minute") + " ago";
    var hours = Math.round(minutes / 60);
    if (hours < 24) return SB.plural(hours, "hour") + " ago";
    var days = Math.round(hours / 24);
    if (days < 7) return SB.plural(days, "day") + " ago";
    return new Date(iso).toLocaleDateString(undefined, { dateStyle: "medium" });
  };

  /* A <time> saying when, relative, with the full date and time on hover. */
  SB.when = function (iso) {
    return SB.el("time", { datetime: iso, title: SB.fullTime(iso), text: SB.ago(iso) });
  };

  SB.showResult = function (node, ok, message) {
    node.hidden = false;
    node.textContent = SB.sentence(message);
    node.setAttribute("data-ok", String(!!ok));
  };
})();
