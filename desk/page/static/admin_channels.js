/*
 * Switchboard admin page: channels. The web chat widget's snippet to paste into the
 * organization's site, with a Copy button, and the websites allowed to embed it (one per
 * line; the server checks each and says which one is wrong). Below, each channel's own
 * settings page (calls, mailboxes, …) as the channels declare them, described in words
 * with a clear link.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;

  function channels(panel) {
    Promise.all([SB.api("GET", "/api/admin/widget"), SB.api("GET", "/api/channels")]).then(function (answers) {
      render(panel, answers[0], answers[1].admin_settings.filter(function (setting) { return setting.page; }));
    }, SB.fail);
  }

  function copyText(text, field) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    field.select(); // an http page that is not localhost has no clipboard API
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  function render(panel, widget, pages) {
    SB.clear(panel);
    panel.appendChild(el("header", {}, el("div", {}, [
      el("h2", { text: "Channels" }),
      el("p", { class: "hint", text: "The chat widget for your website, and each channel’s own settings." }),
    ])));
    var body = el("div", { class: "card-body" });

    var snippet = el("textarea", { rows: 2, readonly: true, class: "snippet", "aria-label": "Widget snippet", "data-testid": "widget-snippet" });
    snippet.value = widget.snippet;
    var copied = el("span", { class: "hint", role: "status", "data-testid": "widget-copied" });
    var copy = el("button", { type: "button", class: "btn primary", "data-testid": "widget-copy" }, "Copy snippet");
    copy.addEventListener("click", function () {
      copyText(widget.snippet, snippet).then(function () {
        copied.textContent = "Copied. Paste it before </body> on every page that should show the chat.";
      }, function () {
        snippet.select();
        copied.textContent = "Your browser blocked copying: the snippet is selected, press Ctrl+C.";
      });
    });

    var origins = el("textarea", { rows: 4, "data-testid": "widget-origins", placeholder: "https://shop.example.com", "aria-describedby": "origins-hint" });
    origins.value = widget.allowed_origins.join("\n");
    var status = el("p", { class: "hint", role: "status", "data-testid": "widget-status" });
    var form = el("form", { class: "grid-gap", "aria-label": "Websites allowed to show the widget", "data-testid": "widget-form" }, [
      el("label", { class: "field" }, ["Websites allowed to show the widget, one per line", origins]),
      el("p", { class: "hint", id: "origins-hint", text: "The address of each site, without a path: https://shop.example.com or http://localhost:8000. Switchboard’s own pages are always allowed." }),
      el("div", { class: "inline-form" }, [el("button", { type: "submit", class: "btn primary", "data-testid": "widget-save" }, "Save websites"), status]),
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var list = origins.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
      SB.api("PUT", "/api/admin/widget", { allowed_origins: list }).then(function (saved) {
        origins.value = saved.allowed_origins.join("\n");
        var count = saved.allowed_origins.length;
        status.className = "hint";
        status.textContent = count === 0 ? "Saved: only Switchboard’s own pages can show the widget."
          : count === 1 ? "Saved: 1 website can show the widget." : "Saved: " + count + " websites can show the widget.";
      }, function (problem) {
        status.className = "error-text";
        status.textContent = problem.message;
      });
    });
    body.appendChild(el("section", { class: "grid-gap", "aria-labelledby": "widget-heading" }, [
      el("h3", { id: "widget-heading", text: "Web chat widget" }),
      el("p", { class: "hint", text: "Add this line to your website to show the chat button." }),
      snippet, el("div", { class: "inline-form" }, [copy, copied]), form,
    ]));

    var list = el("ul", { class: "channel-pages", "data-testid": "channel-settings" });
    pages.forEach(function (setting) {
      list.appendChild(el("li", {}, [
        el("div", {}, [el("strong", { text: setting.label }), el("p", { class: "hint", text: setting.description })]),
        el("a", { class: "btn", href: setting.page, "data-testid": "channel-page-link" }, "Open " + setting.label + " page"),
      ]));
    });
    if (!pages.length) list.appendChild(el("li", { class: "hint", text: "No channel here has settings of its own." }));
    body.appendChild(el("section", { class: "grid-gap", "aria-labelledby": "channel-pages-heading" }, [
      el("h3", { id: "channel-pages-heading", text: "Channel settings" }), list,
    ]));
    panel.appendChild(body);
  }

  SB.admin = Object.assign(SB.admin || {}, { channels: channels });
})();
