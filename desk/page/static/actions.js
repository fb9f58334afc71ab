/*
 * Switchboard queue page: the actions on the open conversation — claim, take manual
 * control, hand back to the AI and resolve (each of the last two with an optional message
 * to the customer), reassign and set the workflow label. Which buttons are enabled follows
 * the ownership table and the agent's role; the server has the last word, and a refused
 * action is explained in a toast worded with the action ("Could not claim: …").
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;

  /* name: [label, shortcut key, states in which it applies] */
  var ACTIONS = [
    ["claim", "Claim", "c", ["queued"]],
    ["manual", "Take manual control", "m", ["ai", "resolved"]],
    ["handback", "Hand back to AI", "h", ["queued", "assigned", "manual"]],
    ["resolve", "Resolve", "e", ["ai", "queued", "assigned", "manual"]],
    ["reassign", "Reassign", "a", ["queued", "assigned", "manual"]],
    ["label", "Label", "l", ["ai", "queued", "assigned", "manual", "resolved"]],
  ];

  /* How a refusal names the action: "Could not <verb>: <why>." */
  var VERBS = {
    claim: "claim", manual: "take manual control", handback: "hand back to the AI",
    resolve: "resolve", reassign: "reassign", label: "set the label",
  };
  /* Why an action does not apply in a state, said from the agent's side. */
  var WHY = {
    ai: "the AI is answering this conversation",
    queued: "this conversation is waiting for a person",
    assigned: "a person already has this conversation",
    manual: "this conversation is already under manual control",
    resolved: "this conversation is resolved",
  };
  var HINTS = {
    "claim ai": "take manual control instead",
    "manual queued": "claim it instead",
    "reassign ai": "take manual control first",
    "reassign resolved": "take manual control to reopen it",
    "claim resolved": "take manual control to reopen it",
  };

  function whyNot(view, name) {
    if (view.me.role === "viewer") return "viewers can read conversations but not change them";
    var conversation = view.state.conversation;
    var state = conversation.state;
    if (name === "handback" && state === "ai") return "the AI is already answering this conversation";
    if (name === "resolve" && state === "resolved") return "this conversation is already resolved";
    var why = WHY[state] || "it does not apply to this conversation now";
    if (state === "assigned" && conversation.assigned_agent_id) {
      why = conversation.assigned_agent_id === view.me.id
        ? "you already have this conversation"
        : view.directory.agentName(conversation.assigned_agent_id) + " already has this conversation";
    }
    var hint = HINTS[name + " " + state];
    return why + (hint ? "; " + hint : "");
  }

  function allowed(view, name) {
    var body = view.state;
    if (!body) return false;
    if (view.me.role === "viewer") return false;
    var entry = ACTIONS.filter(function (a) { return a[0] === name; })[0];
    return !!entry && entry[3].indexOf(body.conversation.state) >= 0;
  }

  function done(view, name, promise, message) {
    view.actedAt = Date.now();
    return promise.then(function () {
      view.actedAt = Date.now();
      if (message) SB.toast(message);
      view.onChanged();
      return view.refresh(false);
    }, function (error) {
      SB.couldNot(VERBS[name], error);
      view.refresh(false);
    });
  }

  function releaseDialog(view, kind) {
    var resolve = kind === "resolve";
    return SB.ask({
      title: resolve ? "Resolve this conversation" : "Hand this conversation back to the AI",
      text: resolve
        ? "The customer's next message reopens it with the AI."
        : "The AI answers the customer's next messages.",
      ok: resolve ? "Resolve" : "Hand back",
      testid: kind + "-dialog",
      fields: [{
        name: "message", type: "textarea", label: "Message to the customer (optional)",
        placeholder: resolve ? "e.g. Glad we could sort this out. Have a good day!" : "e.g. Our assistant will take it from here.",
        hint: "Sent on " + SB.channelName(view.state.conversation.channel) + ". Leave empty for the standard notice.",
      }],
    });
  }

  var RUN = {
    claim: function (view) {
      return done(view, "claim", SB.data.claim(view.id), "You claimed conversation " + view.id + ".");
    },
    manual: function (view) {
      return done(view, "manual", SB.data.manual(view.id), "You took manual control: the AI is paused.");
    },
    handback: function (view) {
      return releaseDialog(view, "handback").then(function (values) {
        if (values) return done(view, "handback", SB.data.handback(view.id, values.message.trim()), "Handed back to the AI.");
      });
    },
    resolve: function (view) {
      return releaseDialog(view, "resolve").then(function (values) {
        if (values) return done(view, "resolve", SB.data.resolve(view.id, values.message.trim()), "Conversation resolved.");
      });
    },
    reassign: function (view) {
      var agents = view.directory.agents().filter(function (a) { return a.role !== "viewer" && a.active !== false; });
      var teams = view.directory.teams();
      var conversation = view.state.conversation;
      var fields = [{
        name: "agent", type: "select", label: "Agent", value: conversation.assigned_agent_id || "",
        options: [{ value: "", label: teams.length ? "No one: back to Waiting for the team" : "—" }].concat(agents.map(function (a) {
          return { value: a.id, label: a.name + (a.id === view.me.id ? " (you)" : a.online ? " (online)" : "") };
        })),
      }];
      if (teams.length) {
        fields.push({
          name: "team", type: "select", label: "Team", value: conversation.team_id || "",
          options: [{ value: "", label: "No team" }].concat(teams.map(function (t) { return { value: t.id, label: t.name }; })),
        });
      }
      return SB.ask({
        title: "Reassign conversation " + view.id,
        ok: "Reassign",
        testid: "reassign-dialog",
        fields: fields,
        validate: function (values) {
          return values.agent || values.team ? null : "Choose an agent or a team.";
        },
      }).then(function (values) {
        if (!values) return;
        var who = values.agent ? view.directory.agentName(Number(values.agent)) : "the team";
        return done(view, "reassign", SB.data.reassign(view.id, { agent_id: values.agent, team_id: values.team }), "Reassigned to " + who + ".");
      });
    },
    label: function (view) {
      var known = view.directory.labels();
      return SB.ask({
        title: "Set the workflow label",
        ok: "Save label",
        testid: "label-dialog",
        fields: [{
          name: "label", label: "Label", value: view.state.conversation.label || "",
          placeholder: known.length ? "e.g. " + known.slice(0, 3).join(", ") : "e.g. refund, bug, vip",
          hint: "Leave empty to remove the label.",
        }],
        validate: function (values) {
          return values.label.trim().length > 120 ? "A label has at most 120 characters." : null;
        },
      }).then(function (values) {
        if (values) return done(view, "label", SB.data.setLabel(view.id, values.label.trim()), values.label.trim() ? "Label set." : "Label removed.");
      });
    },
  };

  /* Run an action on the open conversation (from a button or a shortcut). */
  SB.runAction = function (view, name) {
    if (!view.isOpen()) return false;
    if (!allowed(view, name)) {
      if (view.state && VERBS[name]) SB.couldNot(VERBS[name], whyNot(view, name));
      return false;
    }
    RUN[name](view);
    return true;
  };

  SB.actionBar = function (view, conversation) {
    var bar = el("div", { class: "actions", role: "toolbar", "aria-label": "Conversation actions" });
    if (view.me.role === "viewer") {
      bar.appendChild(el("span", { class: "hint", text: "You have read-only access (viewer)." }));
      return bar;
    }
    ACTIONS.forEach(function (entry) {
      var applies = entry[3].indexOf(conversation.state) >= 0;
      if (!applies) return;
      var primary = (entry[0] === "claim" && applies) || (entry[0] === "manual" && applies);
      bar.appendChild(el("button", {
        type: "button",
        class: "btn small" + (primary ? " primary" : ""),
        "data-action": entry[0],
        "data-testid": "action-" + entry[0],
        "aria-keyshortcuts": entry[2],
        title: entry[1] + " (" + entry[2] + ")",
        onclick: function () { SB.runAction(view, entry[0]); },
      }, [entry[1], el("kbd", { text: entry[2] })]));
    });
    return bar;
  };

  SB.ACTIONS = ACTIONS;
})();
