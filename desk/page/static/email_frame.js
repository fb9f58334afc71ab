/*
 * Switchboard queue page: customer HTML (email bodies) in a sandboxed frame. The HTML is
 * the sanitized copy the API returns; the frame has no `allow-scripts` and no
 * `allow-same-origin`, so nothing in it can run or reach the page, and as a `srcdoc` frame
 * it inherits the page's Content-Security-Policy, under which no remote image, font or
 * style sheet can load. Links open in a new tab, without a referrer.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});

  function escapeAttribute(value) {
    return String(value).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  }

  /* The frame for one message's sanitized HTML. */
  SB.emailFrame = function (sanitizedHtml, title) {
    var sheet = location.origin + "/queue-assets/email.css";
    var documentHtml =
      "<!doctype html><html><head><meta charset=\"utf-8\">" +
      "<meta name=\"referrer\" content=\"no-referrer\">" +
      "<link rel=\"stylesheet\" href=\"" + escapeAttribute(sheet) + "\">" +
      "<base target=\"_blank\"></head><body>" + sanitizedHtml + "</body></html>";
    var frame = SB.el("iframe", {
      class: "email-frame",
      title: title || "Email content",
      sandbox: "allow-popups allow-popups-to-escape-sandbox",
      referrerpolicy: "no-referrer",
      loading: "lazy",
      "data-testid": "email-frame",
    });
    frame.srcdoc = documentHtml;
    return frame;
  };
})();
