/*
 * Small helpers the admins' settings pages share, over `SB.words` (words.js): a time as
 * lists say it ("5 min ago", the full timestamp on hover), a server message shown as a
 * sentence under the button that asked for it.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});

  /* A server message as a sentence: a capital first, a full stop last. */
  SB.sentence = function (text) {
    var value = SB.words.sentence(text);
    return !value || /[.!?…]$/.test(value) ? value : value + ".";
  };

  /* A <time> saying when, relative, with the full timestamp on hover. */
  SB.when = function (iso) {
    return SB.el("time", { datetime: iso, title: SB.words.full(iso), text: SB.words.ago(iso) });
  };

  SB.showResult = function (node, ok, message) {
    node.hidden = false;
    node.textContent = SB.sentence(message);
    node.setAttribute("data-ok", String(!!ok));
  };
})();
