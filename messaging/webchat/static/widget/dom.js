  /*
   * Web chat widget, part 2 of 6 (dom.js): the widget's look and its elements: the styles,
   * and the launcher and the panel built in a shadow root, so the host page's styles never
   * reach them. Nothing is attached to the page until mount() in actions.js.
   */

  // --- DOM ----------------------------------------------------------------------------

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    "[hidden]{display:none!important}",
    ".root{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;flex-direction:column;align-items:flex-end;gap:12px;--accent:" + (script.getAttribute("data-accent") || "#2155d6") + "}",
    ".launcher{position:relative;width:56px;height:56px;border-radius:50%;border:0;background:var(--accent);color:#fff;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);display:grid;place-items:center}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".launcher svg{width:26px;height:26px}",
    ".unread{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;line-height:20px;font-weight:700}",
    ".panel{width:min(380px,calc(100vw - 24px));height:min(560px,calc(100vh - 110px));background:#fff;color:#1f2937;border-radius:16px;box-shadow:0 12px 40px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden;font-size:14px}",
    ".head{background:var(--accent);color:#fff;padding:12px 14px;display:flex;align-items:center;justify-content:space-between;gap:8px}",
    ".title{font-weight:700;font-size:15px;margin:0}",
    ".status{font-size:12px;opacity:.92;margin-top:2px}",
    ".close{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:4px 8px;border-radius:8px}",
    ".messages{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px;background:#f7f8fa}",
    ".msg{max-width:82%;padding:8px 11px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word;line-height:1.4}",
    ".msg .who{display:block;font-size:11px;font-weight:700;margin-bottom:2px;opacity:.75}",
    ".msg[data-author=customer]{align-self:flex-end;background:var(--accent);color:#fff;border-bottom-right-radius:4px}",
    ".msg[data-author=ai]{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}",
    ".msg[data-author=agent]{align-self:flex-start;background:#ecfdf5;border:1px solid #a7f3d0;border-bottom-left-radius:4px}",
    ".msg[data-author=system]{align-self:center;max-width:92%;background:#fff7ed;border:1px dashed #fdba74;color:#7c2d12;font-size:12.5px;text-align:center;border-radius:10px}",
    ".msg.pending{opacity:.65}",
    ".msg.failed{background:#fee2e2;color:#7f1d1d}",
    ".msg .state{display:block;font-size:11px;margin-top:3px;opacity:.85}",
    ".msg .retry{background:none;border:0;color:inherit;text-decoration:underline;cursor:pointer;font-size:11px;padding:0;margin-left:6px}",
    ".typing{padding:4px 14px 0;font-size:12px;color:#6b7280;font-style:italic;background:#f7f8fa}",
    ".error{margin:0;padding:8px 14px;background:#fef2f2;color:#991b1b;font-size:13px;border-top:1px solid #fecaca}",
    "form{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid #e5e7eb;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:10px;padding:8px 10px;font-size:14px;max-height:110px;min-height:38px;line-height:1.4;color:#111827}",
    ".send{border:0;border-radius:10px;background:var(--accent);color:#fff;font-weight:600;padding:0 14px;height:38px;cursor:pointer}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".counter{font-size:11px;color:#6b7280;padding:0 12px 6px;text-align:right;background:#fff}",
    ".counter.over{color:#b91c1c;font-weight:700}",
    ".msg time{display:block;font-size:10.5px;margin-top:3px;opacity:.75}",
    ".greeting{align-self:stretch;display:grid;gap:6px}",
    ".greeting p{margin:0;padding:8px 11px;background:#fff;border:1px solid #e5e7eb;border-radius:14px;border-bottom-left-radius:4px;max-width:82%}",
    ".suggestion{justify-self:end;text-align:left;border:1px solid var(--accent);color:var(--accent);background:#fff;border-radius:14px;padding:6px 11px;font-size:13.5px;cursor:pointer;max-width:82%}",
    ".suggestion:hover{background:#f1f5ff}",
    "@media " + NARROW + "{.root{right:12px;bottom:12px}.panel{position:fixed;inset:0;width:100vw;height:100vh;height:100dvh;border-radius:0}.root.open .launcher{display:none}}",
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el("div", { id: "switchboard-widget", "data-widget-key": KEY });
  var shadow = host.attachShadow({ mode: "open" });
  var style = el("style", {}, CSS);
  var root = el("div", { class: "root" });
  var panel = el("section", {
    class: "panel", role: "dialog", "aria-labelledby": "sb-title", "data-testid": "panel", hidden: "",
  });
  var head = el("div", { class: "head" });
  var titles = el("div");
  var title = el("h2", { class: "title", id: "sb-title" }, "Chat with us");
  var statusLine = el("div", { class: "status", "data-testid": "status", "aria-live": "polite" }, "Connecting…");
  var closeButton = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "×");
  var messages = el("div", {
    class: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages", "data-testid": "messages", tabindex: "0",
  });
  var typing = el("div", { class: "typing", "data-testid": "typing", "aria-live": "polite", hidden: "" });
  var errorBox = el("p", { class: "error", role: "alert", "data-testid": "error", hidden: "" });
  var counter = el("div", { class: "counter", "data-testid": "counter", "aria-live": "polite", hidden: "" });
  var form = el("form", { "aria-label": "Send a message" });
  var input = el("textarea", {
    rows: "1", placeholder: "Type your message…", "aria-label": "Your message", "data-testid": "input",
  });
  var sendButton = el("button", { class: "send", type: "submit", "data-testid": "send", disabled: "" }, "Send");
  var launcher = el("button", {
    class: "launcher", type: "button", "aria-label": "Open chat", "aria-expanded": "false", "data-testid": "launcher",
  });
  launcher.innerHTML =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">' +
    '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>';
  var unread = el("span", { class: "unread", "data-testid": "unread", hidden: "" });
  launcher.appendChild(unread);

  titles.append(title, statusLine);
  head.append(titles, closeButton);
  form.append(input, sendButton);
  panel.append(head, messages, typing, errorBox, counter, form);
  root.append(panel, launcher);
  shadow.append(style, root);
