/*
 * Switchboard queue page: the open conversation — its header (customer, channel, state,
 * label, who else is viewing), the review-window countdown, the action bar, the timeline
 * of messages and internal notes across channels (each marked with its channel and
 * delivery state, worded and acted on by delivery.js); conversation_email.js and
 * conversation_details.js add how an email shows and the details panel. Customer text is always set with textContent; email HTML
 * only as the API's sanitized copy inside a sandboxed frame.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var HUMAN = { assigned: true, manual: true };

  /* The page a web visitor last wrote from (the widget sends its path with each message). */
  function visitorPage(messages) {
    for (var i = (messages || []).length - 1; i >= 0; i--) {
      var meta = messages[i].meta || {};
      if (messages[i].author === "customer" && meta.page) return meta.page;
    }
    return null;
  }

  /* Whose typing line a typing event or a message belongs to. */
  function typingKey(author, agentId) {
    return author === "agent" ? "agent:" + agentId : author;
  }

  function View(options) {
    this.root = options.root;
    this.details = options.details;
    this.me = options.agent;
    this.directory = options.directory; // {agentName(id), agents()}
    this.onChanged = options.onChanged || function () {};
    this.onClose = options.onClose || function () {};
    this.id = null;
    this.state = null;
    this.viewers = {};
    this.typing = {};
    this.expanded = {}; // message id -> true: "Show quoted" open, kept across re-renders
    this.composer = null;
    this.loading = null;
    var self = this;
    this.ticker = setInterval(function () { self._tick(); }, 250);
  }

  View.prototype.isOpen = function (id) {
    return this.id !== null && (id === undefined || Number(id) === this.id);
  };

  View.prototype.open = function (id) {
    id = Number(id);
    if (this.id !== id) {
      if (this.composer) this.composer.saveDraft();
      this.viewers = {};
      this.typing = {};
      this.expanded = {};
      this.lastMessageId = null;
    }
    this.id = id;
    return this.refresh(true);
  };

  View.prototype.close = function () {
    if (this.composer) this.composer.saveDraft();
    this.id = null;
    this.state = null;
    SB.clear(this.root);
    this.root.appendChild(el("div", { class: "conv-placeholder" }, [
      el("h2", { text: "No conversation open" }),
      el("p", {}, ["Pick a conversation from the list, or press ", el("kbd", { text: "j" }), " and ", el("kbd", { text: "Enter" }), "."]),
    ]));
    this.details.hidden = true;
    this.onClose();
  };

  /* Fetch and render; overlapping refreshes collapse into one. */
  View.prototype.refresh = function (first) {
    var self = this;
    var id = this.id;
    if (id === null) return Promise.resolve();
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = SB.data.conversation(id).then(function (body) {
      if (self.id !== id) return;
      self.render(body, first);
    }, function (error) {
      if (self.id !== id) return;
      if (error.status === 404) {
        SB.toast("That conversation does not exist or is not yours to see.", "error");
        self.close();
      } else {
        SB.fail(error);
      }
    }).then(function () {
      self.loading = null;
      if (self.again) {
        self.again = false;
        return self.refresh(false);
      }
    });
    return this.loading;
  };

  // --- rendering -----------------------------------------------------------------------------

  View.prototype.render = function (body, first) {
    var conversation = body.conversation;
    var previousState = this.state && this.state.conversation.state;
    this.state = body;
    var contact = body.contact || {};
    var customer = SB.customerName(contact.name, conversation.address, conversation.address_kind, visitorPage(body.messages));
    this.customer = customer;

    var timeline = this.root.querySelector(".timeline");
    var keepScroll = timeline && !first && timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight > 40;
    var oldScroll = timeline ? timeline.scrollTop : 0;

    if (!this.composer || first) {
      SB.clear(this.root);
      this.head = el("header", { class: "conv-head" });
      this.timelineNode = el("div", { class: "timeline", role: "log", "aria-label": "Messages", "aria-live": "polite", tabindex: "0", "data-testid": "timeline" });
      this.typingNode = el("div", { class: "typing-line", "aria-live": "polite", "data-testid": "typing" });
      this.composer = new SB.Composer(this);
      this.root.appendChild(this.head);
      this.root.appendChild(this.timelineNode);
      this.root.appendChild(this.typingNode);
      this.root.appendChild(this.composer.node);
    }
    this.root.setAttribute("data-conversation-id", conversation.id);
    this.root.setAttribute("data-state", conversation.state);
    this._renderHead(conversation, customer);
    this._renderTimeline(body);
    this.composer.update(body);
    this._renderDetails(body, customer);
    this._renderTyping();
    if (body.viewers) this.setViewers(body.viewers);
    if (keepScroll) this.timelineNode.scrollTop = oldScroll;
    else this.timelineNode.scrollTop = this.timelineNode.scrollHeight;
    if (first) this.composer.restoreDraft();
    if (previousState && previousState !== conversation.state && Date.now() - (this.actedAt || 0) > 4000) {
      SB.toast("Conversation " + conversation.id + ": now " + SB.stateName(conversation.state) + ".");
    }
  };

  View.prototype._renderHead = function (conversation, customer) {
    var self = this;
    var parts = [];
    var back = el("button", { class: "btn small ghost back", type: "button", "aria-label": "Back to the list", onclick: function () { self.close(); } }, [SB.icon("back"), "List"]);
    var stateText = SB.stateName(conversation.state);
    if (HUMAN[conversation.state] && conversation.assigned_agent_id) {
      var owner = conversation.assignee && conversation.assignee.name;
      stateText += " · " + (conversation.assigned_agent_id === this.me.id ? "you" : owner || this.directory.agentName(conversation.assigned_agent_id));
    }
    var title = el("div", { class: "conv-title" }, [
      back,
      el("h2", { id: "conv-customer", "data-testid": "conversation-customer", text: customer }),
      el("span", { class: "chip", "data-testid": "conversation-channel", text: SB.channelName(conversation.channel) }),
      el("span", { class: "chip state-" + conversation.state, "data-testid": "conversation-state", "data-state": conversation.state, text: stateText }),
      conversation.label ? el("span", { class: "chip label", "data-testid": "conversation-label", text: conversation.label }) : null,
      conversation.needs_attention ? el("span", { class: "chip attention", text: "Needs attention" }) : null,
      this._viewersNode(),
      el("button", {
        class: "btn small details-toggle", type: "button", "aria-controls": "details", "aria-expanded": String(this.details.classList.contains("open")),
        onclick: function (event) {
          var open = self.details.classList.toggle("open");
          event.currentTarget.setAttribute("aria-expanded", String(open));
        },
      }, [SB.icon("info"), "Details"]),
    ]);
    parts.push(title);
    if (conversation.needs_attention && conversation.attention_reason) {
      parts.push(el("div", { class: "attention-banner", role: "alert", "data-testid": "attention-banner", text: conversation.attention_reason }));
    }
    if (conversation.state === "manual" && conversation.ai_paused_until) {
      this.countdown = {
        until: SB.time.parse(conversation.ai_paused_until),
        total: this._reviewWindowSeconds(conversation),
        clock: el("span", { class: "clock", "data-testid": "countdown-clock" }),
        fill: el("span"),
      };
      parts.push(el("div", { class: "countdown", role: "timer", "aria-live": "off", "data-testid": "countdown" }, [
        SB.icon("clock"),
        el("span", { text: "Manual control: the AI resumes in" }),
        this.countdown.clock,
        el("span", { class: "bar", "aria-hidden": "true" }, this.countdown.fill),
      ]));
    } else {
      this.countdown = null;
    }
    parts.push(SB.actionBar(this, conversation));
    var head = SB.keepSame(this.head, parts);
    // a part kept from before is the one on the page: point at its live pieces
    this.viewersNode = SB.$("[data-testid=viewers]", head);
    if (this.countdown) {
      this.countdown.clock = SB.$("[data-testid=countdown-clock]", head);
      this.countdown.fill = SB.$("[data-testid=countdown] .bar > span", head);
      this._tick();
    }
  };

  View.prototype._reviewWindowSeconds = function (conversation) {
    var until = SB.time.parse(conversation.ai_paused_until).getTime();
    var since = 0;
    (this.state.transitions || []).forEach(function (t) {
      if (t.to === "manual") since = Math.max(since, SB.time.parse(t.at).getTime());
    });
    (this.state.messages || []).forEach(function (m) {
      if (m.author === "agent") since = Math.max(since, SB.time.parse(m.created_at).getTime());
    });
    return since ? Math.max(1, (until - since) / 1000) : Math.max(1, (until - Date.now()) / 1000);
  };

  View.prototype._tick = function () {
    if (this.countdown) {
      var left = (this.countdown.until.getTime() - Date.now()) / 1000;
      this.countdown.clock.textContent = left > 0 ? SB.words.span(left, true) : "now";
      this.countdown.fill.style.width = Math.max(0, Math.min(100, (100 * left) / this.countdown.total)) + "%";
      if (left <= -2 && !this.countdown.nudged) {
        this.countdown.nudged = true; // the worker hands it back; make sure we see it
        this.refresh(false);
      }
    }
    SB.tickDeliveries(this.timelineNode);
    var now = Date.now();
    var changed = false;
    Object.keys(this.typing).forEach(function (key) {
      if (this.typing[key].until < now) { delete this.typing[key]; changed = true; }
    }, this);
    Object.keys(this.viewers).forEach(function (key) {
      if (this.viewers[key].until < now) { delete this.viewers[key]; changed = true; }
    }, this);
    if (changed) {
      this._renderTyping();
      this._renderViewers();
    }
  };

  View.prototype._viewersNode = function () {
    this.viewersNode = el("div", { class: "viewers", "data-testid": "viewers", "aria-live": "polite" });
    this._renderViewers();
    return this.viewersNode;
  };

  View.prototype._renderViewers = function () {
    if (!this.viewersNode) return;
    var node = SB.clear(this.viewersNode);
    var others = Object.keys(this.viewers).map(function (key) { return this.viewers[key]; }, this);
    if (!others.length) return;
    node.appendChild(el("span", { text: "Also viewing:" }));
    others.forEach(function (viewer) {
      node.appendChild(SB.avatar(viewer.name, viewer.id));
    });
    node.appendChild(el("span", { class: "sr-only", text: others.map(function (v) { return v.name; }).join(", ") }));
    node.setAttribute("data-names", others.map(function (v) { return v.name; }).join(","));
  };

  View.prototype._renderTyping = function () {
    if (!this.typingNode) return;
    var names = Object.keys(this.typing).map(function (key) { return this.typing[key].name; }, this);
    this.typingNode.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are typing…" : " is typing…") : "";
  };

  View.prototype._authorName = function (message) {
    if (message.kind === "note") {
      var writer = message.agent || {};
      return (writer.id === this.me.id ? "You" : writer.name || this.directory.agentName(writer.id)) + " · internal note";
    }
    if (message.author === "customer") return this.customer;
    if (message.author === "ai") return "AI assistant";
    if (message.author === "system") return "Notice to the customer";
    if (message.author === "agent") {
      if (message.agent_id === this.me.id) return "You";
      return message.author_name || this.directory.agentName(message.agent_id);
    }
    return message.author;
  };

  View.prototype._renderTimeline = function (body) {
    var nodes = [];
    var entries = (body.messages || []).map(function (m) { return Object.assign({ kind: "message" }, m); });
    (body.notes || []).forEach(function (note) { entries.push(Object.assign({ kind: "note", author: "agent" }, note)); });
    entries.sort(function (a, b) {
      var at = SB.time.parse(a.created_at).getTime(), bt = SB.time.parse(b.created_at).getTime();
      return at - bt || (a.kind === b.kind ? a.id - b.id : a.kind === "note" ? 1 : -1);
    });
    var lastDay = null;
    var self = this;
    if (body.has_older_messages) {
      nodes.push(el("button", { type: "button", class: "btn small day", "data-testid": "older", onclick: function () { self.loadOlder(); } }, "Show older messages"));
    }
    if (!entries.length) nodes.push(el("p", { class: "empty", text: "No messages yet." }));
    entries.forEach(function (entry) {
      var day = SB.time.day(entry.created_at);
      if (day !== lastDay) {
        nodes.push(el("div", { class: "day", role: "separator", text: day }));
        lastDay = day;
      }
      nodes.push(self._messageNode(entry));
    });
    SB.keepSame(this.timelineNode, nodes);
    var seen = this.lastMessageId;
    if (seen !== null) {
      (body.messages || []).forEach(function (m) {
        // their words are here now (a reply spoken on a call comes with no message event)
        if (m.id > seen) delete self.typing[typingKey(m.author, m.agent_id)];
      });
    }
    var last = (body.messages || [])[body.messages ? body.messages.length - 1 : 0];
    this.lastMessageId = last ? last.id : null;
  };

  View.prototype._messageNode = function (message) {
    var byline = el("div", { class: "byline" }, [
      el("span", { class: "author", text: this._authorName(message) }),
      el("time", { datetime: message.created_at, title: SB.words.full(message.created_at), text: SB.words.clock(message.created_at) }),
    ]);
    if (message.kind !== "note") {
      byline.appendChild(el("span", { class: "chip", "data-testid": "message-channel", text: SB.channelName(message.channel) }));
      if (message.direction === "outbound") byline.appendChild(SB.deliveryStatus(message));
    }
    var mail = (message.meta || {}).email;
    var content = el("div", { class: "bubble" });
    if (mail && message.kind !== "note") {
      this._emailContent(content, message, mail);
    } else if (message.html) {
      if (message.text) content.appendChild(el("div", { class: "email-note", text: "Email (shown safely: scripts and remote images are blocked)" + (message.blocked_images ? " · " + SB.words.count(message.blocked_images, "remote image") + " blocked" : "") }));
      content.appendChild(SB.emailFrame(message.html, "Email from " + this.customer));
    } else {
      content.textContent = message.text || "";
    }
    return el("article", {
      class: "msg",
      "data-author": message.author,
      "data-kind": message.kind,
      "data-message-id": message.id,
      "data-testid": message.kind === "note" ? "note" : "message",
      "aria-label": this._authorName(message),
    }, [byline, content, message.kind !== "note" ? SB.deliveryActions(message, this) : null]);
  };

  View.prototype.loadOlder = function () {
    var self = this;
    var first = this.state.messages[0];
    if (!first) return Promise.resolve();
    return SB.api("GET", "/api/conversations/" + this.id + "/messages?before=" + first.id).then(function (older) {
      self.state.messages = older.messages.concat(self.state.messages);
      self.state.has_older_messages = older.has_older_messages;
      self._renderTimeline(self.state);
      self.timelineNode.scrollTop = 0;
    }, SB.fail);
  };

  // --- live events -----------------------------------------------------------------------------

  View.prototype.handleEvent = function (event) {
    if (!this.isOpen(event.conversation_id)) return;
    var data = event.data || {};
    if (event.type === "typing") {
      if (data.author === "agent" && data.agent_id === this.me.id) return;
      var key = typingKey(data.author, data.agent_id);
      var name = data.author === "customer" ? this.customer : data.author === "ai" ? "AI assistant" : data.author_name || this.directory.agentName(data.agent_id);
      this.typing[key] = { name: name, until: Date.now() + 6000 };
      this._renderTyping();
      return;
    }
    if (event.type === "viewing") {
      if (data.name && data.agent_id !== undefined) this.directory.remember(data.agent_id, data.name);
      if (data.viewers) {
        this.setViewers(data.viewers);
        return;
      }
      if (data.agent_id === this.me.id) return;
      if (data.viewing === false) delete this.viewers[data.agent_id];
      else this.viewers[data.agent_id] = { id: data.agent_id, name: data.name || this.directory.agentName(data.agent_id), until: Date.now() + 40000 };
      this._renderViewers();
      return;
    }
    // a new message's author stops typing once it shows; a delivery's new state comes
    // worded by the API
    return this.refresh(false);
  };

  /* Who else is viewing, from a snapshot: [{agent_id, name}]. */
  View.prototype.setViewers = function (list) {
    var self = this;
    this.viewers = {};
    (list || []).forEach(function (viewer) {
      var id = typeof viewer === "object" ? viewer.agent_id || viewer.id : viewer;
      if (id === self.me.id) return;
      self.viewers[id] = { id: id, name: viewer.name || self.directory.agentName(id), until: Date.now() + 40000 };
    });
    this._renderViewers();
  };

  SB.ConversationView = View;
})();
