/*
 * Switchboard queue page: the open conversation's details panel — the customer's
 * profile and identities, the other conversations, the AI summary, why it was handed
 * off, and the transition history. Loaded after conversation.js, whose view it extends.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var View = SB.ConversationView;
  var KINDS = { phone: "Phone", whatsapp: "WhatsApp", email: "Email", web: "Web chat" };

  /* An address as people read it: a phone number formatted, a web visitor's token never. */
  function shownAddress(kind, address) {
    return SB.words.customer(null, address, kind, null);
  }

  View.prototype._renderDetails = function (body, customer) {
    var c = body.conversation;
    var contact = body.contact || {};
    var details = this.details;
    var sections = (this.detailsLead || []).slice(); // what an extension keeps on top
    details.hidden = false;
    var profile = el("dl", {}, [
      el("dt", { text: "Name" }), el("dd", { "data-testid": "profile-name", text: customer }),
      el("dt", { text: "Channel" }), el("dd", { text: SB.channelName(c.channel) + (c.address && c.address_kind !== "web" ? " · " + shownAddress(c.address_kind, c.address) : "") }),
      el("dt", { text: "Started" }), el("dd", { text: SB.words.full(c.created_at || (body.messages[0] || {}).created_at) }),
    ]);
    var identities = el("ul", { class: "identities", "data-testid": "identities" });
    (contact.identities || []).forEach(function (identity) {
      identities.appendChild(el("li", {}, [
        el("span", { class: "chip", text: KINDS[identity.kind] || SB.words.sentence(identity.kind) }),
        el("span", { text: shownAddress(identity.kind, identity.address) }),
        identity.opted_out_at ? el("span", { class: "chip attention", title: "Opted out " + SB.words.full(identity.opted_out_at), text: "Opted out" }) : null,
      ]));
    });
    sections.push(el("section", { "aria-labelledby": "d-customer" }, [
      el("h3", { id: "d-customer", text: "Customer" }), profile,
      (contact.identities || []).length ? el("h3", { text: "Identities", class: "sub-h" }) : null,
      (contact.identities || []).length ? identities : null,
    ]));
    sections.push(el("section", { "aria-labelledby": "d-label" }, [
      el("h3", { id: "d-label", text: "Workflow" }),
      el("dl", {}, [
        el("dt", { text: "Label" }), el("dd", { "data-testid": "details-label", text: c.label || "No label" }),
        el("dt", { text: "Team" }), el("dd", { "data-testid": "details-team", text: c.team ? c.team.name : "No team" }),
      ]),
    ]));
    var others = (contact.conversations || []).filter(function (other) { return other.id !== c.id; });
    if (others.length) {
      sections.push(el("section", { "aria-labelledby": "d-others" }, [
        el("h3", { id: "d-others", text: "Other conversations" }),
        el("ul", { class: "identities" }, others.map(function (other) {
          return el("li", {}, [
            el("a", { href: "/queue/conversations/" + other.id, text: "#" + other.id + " · " + SB.channelName(other.channel) }),
            el("span", { class: "chip state-" + other.state, text: SB.stateName(other.state) }),
          ]);
        })),
      ]));
    }
    sections.push(el("section", { "aria-labelledby": "d-summary" }, [
      el("h3", { id: "d-summary", text: "AI summary" }),
      el("p", { class: "summary-text", "data-testid": "summary", text: c.summary || "No summary yet." }),
    ]));
    sections.push(this._whyNode(c));
    var history = el("ol", { class: "history", "data-testid": "transitions" });
    var directory = this.directory;
    var ACTORS = { ai: "The AI", system: "Switchboard" };
    (body.transitions || []).slice().reverse().forEach(function (t) {
      var actor = t.actor || "";
      var match = /^agent:(\d+)$/.exec(actor);
      var who = t.agent_name || (match ? directory.agentName(Number(match[1])) : ACTORS[actor] || (actor === "customer" ? customer : ""));
      history.appendChild(el("li", {}, [
        el("span", { class: "move", text: SB.stateName(t.from) + " → " + SB.stateName(t.to) }),
        el("span", { class: "by", text: [who, SB.words.sentence(t.reason)].filter(Boolean).join(" · ") }),
        el("time", { class: "by", datetime: t.at, title: SB.words.full(t.at), text: SB.words.ago(t.at) }),
      ]));
    });
    sections.push(el("section", { "aria-labelledby": "d-history" }, [
      el("h3", { id: "d-history", text: "History" }), history,
    ]));
    SB.keepSame(details, sections);
  };

  /* Why it was handed off: the reason, the policy's decision (its level and the rule that
     decided) and every rule's result. */
  View.prototype._whyNode = function (c) {
    var why = el("section", { "aria-labelledby": "d-why", "data-testid": "why" }, [
      el("h3", { id: "d-why", text: "Why it was handed off" }),
      el("p", { class: "summary-text", "data-testid": "why-reason", text: SB.words.sentence(c.handoff_reason) || "It was not handed off." }),
    ]);
    var decision = c.handoff_decision;
    var rules = decision && decision.rules ? decision.rules : c.rule_hits || [];
    var fired = rules.filter(function (hit) { return hit && hit.fired; });
    if (!decision && !fired.length) return why;
    // The reason above is the plain-language account; each rule in words (the API's labels)
    // with its id and figures, for whoever tunes the policy, behind a disclosure (kept open
    // through live refreshes of the same conversation).
    var more = SB.keepOpen(el("details", { class: "rule-details", "data-testid": "rule-details", "data-conversation": String(c.id) }, [
      el("summary", { text: "How the policy decided" }),
    ]), this.details, '[data-testid=rule-details][data-conversation="' + c.id + '"]');
    if (decision) {
      more.appendChild(el("p", { class: "hint", text: "Decided " + SB.words.full(decision.at) + " at the " + (decision.level_label || decision.level) + " level" + (decision.fired_rule ? ": " + (decision.fired_rule_label || decision.fired_rule) : "") + "." }));
    }
    if (fired.length) {
      more.appendChild(el("ol", { class: "rules", "data-testid": "fired-rules" }, fired.map(function (hit) {
        var detail = hit.detail && typeof hit.detail !== "string" ? JSON.stringify(hit.detail) : hit.detail;
        return el("li", {}, [
          el("strong", { text: hit.label || hit.rule }), " ", el("code", { text: hit.rule }),
          detail ? el("div", { class: "hint", text: SB.words.sentence(detail) }) : null,
        ]);
      })));
    }
    why.appendChild(more);
    return why;
  };
})();
