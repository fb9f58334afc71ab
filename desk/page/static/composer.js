/*
 * Switchboard queue page: the composer under the open conversation. It writes a reply
 * (named after the channel it goes out on, with a warning when the customer cannot be
 * reached there, e.g. after an SMS opt-out, and a Cc line where the channel takes one,
 * see composer_cc.js) or an internal note; inserts canned responses
 * (type "/shortcut" then Tab, or pick one with Ctrl+K); tells the other side when the
 * agent is typing; keeps an unsent draft per conversation; and on SMS counts characters
 * and SMS parts as the agent types, naming the character that forces UCS-2 (see sms.js).
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var drafts = {};
  var TYPING_EVERY_MS = 3000;

  function Composer(view) {
    var self = this;
    this.view = view;
    this.mode = "reply";
    this.lastTyping = 0;
    this.node = el("form", { class: "composer", "aria-label": "Write to the customer", "data-testid": "composer" });
    this.replyTab = el("button", { type: "button", role: "tab", "aria-selected": "true", "data-testid": "mode-reply", onclick: function () { self.setMode("reply"); } }, "Reply");
    this.noteTab = el("button", { type: "button", role: "tab", "aria-selected": "false", "data-testid": "mode-note", onclick: function () { self.setMode("note"); } }, "Internal note");
    this.target = el("span", { class: "target", "data-testid": "composer-target" });
    this.warning = el("div", { class: "unreachable", role: "alert", "data-testid": "unreachable", hidden: true });
    this.owner = el("div", { class: "hint", "data-testid": "composer-owner", hidden: true });
    this.input = el("textarea", { rows: 3, "aria-label": "Reply", "data-testid": "composer-input", placeholder: "Write a reply…" });
    this.smsCounter = el("div", { class: "sms-counter", "data-testid": "sms-counter", hidden: true });
    this.smsWarning = el("div", { class: "sms-warning", "aria-live": "polite", "data-testid": "sms-warning", hidden: true });
    this.canned = el("ul", { class: "canned-list", role: "listbox", "aria-label": "Canned responses", "data-testid": "canned-list", hidden: true });
    this.send = el("button", { type: "submit", class: "btn primary", "data-testid": "composer-send" }, ["Send", el("kbd", { text: "Ctrl+Enter" })]);
    this.cc = new SB.CcField(function () { if (self.body) self.update(self.body); });
    var cannedButton = el("button", { type: "button", class: "btn", "data-testid": "canned-button", title: "Canned responses (Ctrl+K)", onclick: function () { self.openCanned(""); } }, "Canned");
    this.node.appendChild(el("div", { class: "composer-modes", role: "tablist", "aria-label": "Message kind" }, [this.replyTab, this.noteTab, this.target]));
    this.node.appendChild(this.warning);
    this.node.appendChild(this.owner);
    this.node.appendChild(this.cc.node);
    this.node.appendChild(this.canned);
    this.node.appendChild(this.input);
    this.node.appendChild(this.smsCounter);
    this.node.appendChild(this.smsWarning);
    this.node.appendChild(el("div", { class: "row" }, [
      el("span", { class: "hint", text: "Ctrl+Enter sends · “/shortcut” then Tab inserts a canned response" }),
      cannedButton, this.send,
    ]));
    this.node.addEventListener("submit", function (event) {
      event.preventDefault();
      self.submit();
    });
    this.input.addEventListener("keydown", function (event) { self.onKey(event); });
    this.input.addEventListener("input", function () { self.onInput(); });
  }

  Composer.prototype.setMode = function (mode) {
    this.mode = mode;
    this.replyTab.setAttribute("aria-selected", String(mode === "reply"));
    this.noteTab.setAttribute("aria-selected", String(mode === "note"));
    this.node.classList.toggle("note-mode", mode === "note");
    this.input.setAttribute("aria-label", mode === "note" ? "Internal note" : "Reply");
    this.input.placeholder = mode === "note" ? "Write a note for your team (never sent to the customer)…" : "Write a reply…";
    this.send.firstChild.textContent = mode === "note" ? "Add note" : "Send";
    if (this.body) this.update(this.body);
    this.input.focus();
  };

  Composer.prototype.update = function (body) {
    this.body = body;
    var conversation = body.conversation;
    var view = this.view;
    var reach = body.reachability || {};
    var channel = SB.channelName(reach.channel || conversation.channel);
    SB.clear(this.target);
    if (this.mode === "note") {
      this.target.appendChild(document.createTextNode("Visible to your team only"));
    } else {
      this.target.appendChild(document.createTextNode("Reply on "));
      this.target.appendChild(el("strong", { "data-testid": "composer-channel", text: channel }));
      // A web visitor's address is their token: say who it is instead (words.js).
      var address = reach.address || conversation.address;
      var to = conversation.address_kind === "web" || !address ? view.customer : SB.words.phone(address);
      if (to) this.target.appendChild(el("span", { "data-testid": "composer-to", text: " to " + to }));
    }
    var unreachable = reach.reachable === false;
    this.warning.hidden = !unreachable || this.mode === "note";
    this.warning.textContent = unreachable
      ? reach.message || "The customer can't be reached on " + channel + " right now."
      : "";
    var viewer = view.me.role === "viewer";
    var otherOwner = conversation.state === "assigned" && conversation.assigned_agent_id && conversation.assigned_agent_id !== view.me.id;
    this.owner.hidden = !(viewer || otherOwner);
    this.owner.textContent = viewer
      ? "Viewers can read conversations but not write."
      : otherOwner ? view.directory.agentName(conversation.assigned_agent_id) + " owns this conversation; reassign it to reply. Notes are fine." : "";
    this.cc.update(body, this.mode);
    var blocked = viewer || (this.mode === "reply" && (otherOwner || unreachable || !!this.cc.problem()));
    this.input.disabled = viewer;
    this.send.disabled = blocked;
    this.noteTab.disabled = viewer;
    this.countSms();
    if (this.mode === "reply" && !blocked) {
      var hint = { queued: "Sending claims the conversation.", ai: "Sending takes manual control from the AI.", resolved: "Sending reopens it under manual control." }[conversation.state];
      this.send.title = hint || "";
    }
  };

  /* The SMS counter, on replies on a channel that sends text in SMS segments only: every
     other channel sends the text as it is. */
  Composer.prototype.countSms = function () {
    var conversation = this.body && this.body.conversation;
    var channel = conversation ? SB.CHANNELS[conversation.channel] || {} : {};
    var sms = !!channel.counts_segments && this.mode === "reply";
    var summary = sms && this.input.value ? SB.smsSummary(this.input.value) : null;
    this.smsCounter.hidden = !summary;
    this.smsCounter.textContent = summary ? summary.line : "";
    this.smsCounter.setAttribute("data-encoding", summary ? summary.info.encoding : "");
    this.smsWarning.hidden = !(summary && summary.warning);
    this.smsWarning.textContent = summary ? summary.warning : "";
  };

  Composer.prototype.saveDraft = function () {
    if (this.view.id !== null) drafts[this.view.id] = { text: this.input.value, mode: this.mode };
  };

  Composer.prototype.restoreDraft = function () {
    var draft = drafts[this.view.id];
    this.input.value = draft ? draft.text : "";
    if (draft && draft.mode !== this.mode) this.setMode(draft.mode);
    this.countSms();
  };

  Composer.prototype.focus = function (mode) {
    if (mode && mode !== this.mode) this.setMode(mode);
    this.input.focus();
  };

  Composer.prototype.onInput = function () {
    var now = Date.now();
    this.countSms();
    if (this.mode === "reply" && this.input.value.trim() && now - this.lastTyping > TYPING_EVERY_MS) {
      this.lastTyping = now;
      SB.sendTyping(this.view.id);
    }
    var match = /(^|\s)\/([\w-]*)$/.exec(this.input.value.slice(0, this.input.selectionStart));
    if (!this.canned.hidden && !match) this.closeCanned();
    else if (!this.canned.hidden && match) this.openCanned(match[2]);
  };

  Composer.prototype.onKey = function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      this.submit();
      return;
    }
    if (event.key === "k" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      this.openCanned("");
      return;
    }
    if (event.key === "Escape" && !this.canned.hidden) {
      event.preventDefault();
      this.closeCanned();
      return;
    }
    if (event.key === "Tab" && !event.shiftKey) {
      var match = /(^|\s)\/([\w-]+)$/.exec(this.input.value.slice(0, this.input.selectionStart));
      if (match && this.expand(match[2])) event.preventDefault();
      return;
    }
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !this.canned.hidden) {
      event.preventDefault();
      var buttons = this.canned.querySelectorAll("button");
      if (buttons.length) buttons[event.key === "ArrowDown" ? 0 : buttons.length - 1].focus();
    }
  };

  Composer.prototype._insert = function (text, replaceFrom) {
    var input = this.input;
    var end = input.selectionStart;
    var start = replaceFrom === undefined ? end : replaceFrom;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.selectionStart = input.selectionEnd = start + text.length;
    input.focus();
    this.onInput();
  };

  /* Replace "/shortcut" before the caret with its canned response. */
  Composer.prototype.expand = function (shortcut) {
    var found = this.view.directory.canned().filter(function (c) {
      return c.shortcut.toLowerCase() === shortcut.toLowerCase();
    })[0];
    if (!found) return false;
    this._insert(found.body, this.input.selectionStart - shortcut.length - 1);
    this.closeCanned();
    return true;
  };

  Composer.prototype.openCanned = function (filter) {
    var self = this;
    var list = SB.clear(this.canned);
    var items = this.view.directory.canned().filter(function (c) {
      var needle = filter.toLowerCase();
      return !needle || c.shortcut.toLowerCase().indexOf(needle) === 0 || (c.title || "").toLowerCase().indexOf(needle) >= 0;
    });
    if (!items.length) {
      list.appendChild(el("li", { class: "hint", text: this.view.directory.canned().length ? "No canned response matches." : "No canned responses yet: admins add them on the Admin page." }));
    }
    items.forEach(function (item) {
      list.appendChild(el("li", { role: "presentation" }, el("button", {
        type: "button", role: "option", "data-shortcut": item.shortcut,
        onclick: function () {
          var match = /(^|\s)\/([\w-]*)$/.exec(self.input.value.slice(0, self.input.selectionStart));
          self._insert(item.body, match ? self.input.selectionStart - match[2].length - 1 : undefined);
          self.closeCanned();
        },
        onkeydown: function (event) {
          var buttons = Array.prototype.slice.call(list.querySelectorAll("button"));
          var index = buttons.indexOf(event.currentTarget);
          if (event.key === "ArrowDown" && index < buttons.length - 1) { event.preventDefault(); buttons[index + 1].focus(); }
          if (event.key === "ArrowUp") { event.preventDefault(); (index > 0 ? buttons[index - 1] : self.input).focus(); }
          if (event.key === "Escape") { event.preventDefault(); self.closeCanned(); self.input.focus(); }
        },
      }, [
        el("span", {}, [el("span", { class: "shortcut", text: "/" + item.shortcut }), " ", el("strong", { text: item.title || "" })]),
        el("span", { class: "body", text: item.body }),
      ])));
    });
    list.hidden = false;
  };

  Composer.prototype.closeCanned = function () {
    this.canned.hidden = true;
  };

  Composer.prototype.submit = function () {
    var self = this;
    var text = this.input.value.trim();
    if (!text || this.send.disabled) return;
    var id = this.view.id;
    var cc = this.cc.value();
    // One key per composed reply: sending the same reply again (after an error, say)
    // reuses it, so a reply that went through before the answer was lost goes once.
    var composed = JSON.stringify([id, text, cc]);
    if (this.mode === "reply" && (!this.pending || this.pending.composed !== composed)) {
      this.pending = { composed: composed, key: SB.newKey() };
    }
    var call = this.mode === "note" ? SB.data.note(id, text) : SB.data.reply(id, text, cc, this.pending.key);
    this.view.actedAt = Date.now();
    this.send.disabled = true;
    call.then(function () {
      if (self.pending && self.pending.composed === composed) self.pending = null;
      if (self.view.id === id) {
        self.input.value = "";
        self.cc.reset();
        self.countSms();
      }
      delete drafts[id];
      self.view.onChanged();
      return self.view.refresh(false);
    }, function (error) {
      SB.couldNot(self.mode === "note" ? "add the note" : "send the reply", error);
    }).then(function () {
      self.send.disabled = false;
      if (self.body) self.update(self.body);
    });
  };

  SB.Composer = Composer;
})();
