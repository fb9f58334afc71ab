/*
 * Switchboard queue page: how the open conversation shows an email — its subject,
 * From/To/Cc, the new text, attachments, why it was not answered, and the whole mail
 * (the API's sanitized HTML in a sandboxed frame) behind "Show quoted", which stays
 * open across live re-renders. Loaded after conversation.js, whose view it extends.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var View = SB.ConversationView;
  View.prototype._emailContent = function (content, message, mail) {
    var lines = [["Subject", mail.subject], ["From", mail.from], ["To", (mail.to || []).join(", ")]];
    if ((mail.cc || []).length) lines.push(["Cc", mail.cc.join(", ")]);
    var head = el("dl", { class: "email-head", "data-testid": "email-head" });
    lines.forEach(function (line) {
      if (!line[1]) return;
      head.appendChild(el("dt", { text: line[0] }));
      head.appendChild(el("dd", { text: line[1] }));
    });
    content.appendChild(head);
    var flag = (message.meta || {}).flag;
    if (flag) {
      content.appendChild(el("div", { class: "chip attention", "data-testid": "email-flag", text: "Not answered automatically: " + flag }));
    }
    content.appendChild(el("div", { class: "email-text", "data-testid": "email-text", text: message.text || "" }));
    var files = message.attachments || [];
    if (files.length) {
      var list = el("ul", { class: "email-files", "data-testid": "email-attachments" });
      files.forEach(function (file) {
        list.appendChild(el("li", {}, [el("a", { href: file.url, target: "_blank", rel: "noopener", text: (file.name || file.content_type) + (file.size ? " (" + Math.ceil(file.size / 1024) + " kB)" : "") })]));
      });
      content.appendChild(list);
    }
    if (!message.html && !mail.quoted_text) return;
    var full = el("div", { class: "email-full", hidden: true });
    var customer = this.customer;
    var expanded = this.expanded;
    var toggle = el("button", { type: "button", class: "link", "data-testid": "show-quoted", "aria-expanded": "false", text: "Show quoted" });
    function show(open) {
      if (open && !full.firstChild) {
        if (message.html) {
          full.appendChild(el("div", { class: "email-note", text: "Email (shown safely: scripts and remote images are blocked)" + (message.blocked_images ? " · " + SB.words.count(message.blocked_images, "remote image") + " blocked" : "") }));
          full.appendChild(SB.emailFrame(message.html, "Email from " + customer));
        } else {
          full.appendChild(el("pre", { class: "email-quoted", text: mail.quoted_text }));
        }
      }
      full.hidden = !open;
      if (open) expanded[message.id] = true;
      else delete expanded[message.id];
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "Hide quoted" : "Show quoted";
    }
    toggle.addEventListener("click", function () { show(full.hidden); });
    content.appendChild(toggle);
    content.appendChild(full);
    // A live event or a resync re-renders the timeline: what the agent opened stays open.
    if (expanded[message.id]) show(true);
  };
})();
