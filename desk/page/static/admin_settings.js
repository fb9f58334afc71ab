/*
 * Switchboard admin page: the organization's settings — the handoff level (for the whole
 * organization and per channel, with what each level means), the review window, queue
 * expiry and reminders, words and topics that call a person, business hours (the weekly
 * editor of admin_hours.js) and what happens outside them. Every choice reads as words,
 * never as its stored name. Only changed settings are sent; the server checks them and
 * names the first problem.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var LEVEL_NAMES = { ai_only: "AI only", quick: "Quick to hand off", balanced: "Balanced", ai_first: "AI first" };
  var OUTSIDE_HOURS = {
    queue_with_notice: "Queue it and tell them when the team is back",
    ai_takes_message: "The AI takes a message for the team",
  };

  function levelName(level) { return LEVEL_NAMES[level] || level; }

  function minutesInput(name, seconds, testid) {
    var input = el("input", { type: "number", name: name, min: 1, step: "any", "data-testid": testid });
    input.value = String(Math.round((seconds / 60) * 100) / 100);
    return input;
  }

  function label(text, input, hint) {
    return el("label", { class: "field" }, [text, input, hint ? el("span", { class: "hint", text: hint }) : null]);
  }

  function settings(panel) {
    SB.api("GET", "/api/admin/settings").then(function (answer) {
      render(panel, answer);
    }, SB.fail);
  }

  function render(panel, answer) {
    var current = answer.settings;
    var choices = answer.choices;
    SB.clear(panel);
    panel.appendChild(el("header", {}, [el("div", {}, [
      el("h2", { text: "Settings" }),
      el("p", { class: "hint", text: "How and when the AI hands conversations to people, for your whole organization." }),
    ])]));
    var form = el("form", { class: "card-body", "aria-label": "Organization settings", "data-testid": "settings-form" });

    // Handoff levels
    var level = el("select", { name: "handoff_level", "data-testid": "setting-handoff_level" });
    choices.handoff_level.forEach(function (value) {
      level.appendChild(el("option", { value: value, selected: value === current.handoff_level }, levelName(value)));
    });
    var levelHelp = el("p", { class: "hint", "data-testid": "level-description" });
    function describe() {
      var preset = answer.levels[level.value];
      levelHelp.textContent = preset ? preset.description : "";
    }
    level.addEventListener("change", describe);
    describe();
    var perChannel = {};
    var channelGrid = el("div", { class: "form-grid" });
    choices.channels.forEach(function (channel) {
      var select = el("select", { name: "level-" + channel, "data-testid": "channel-level-" + channel });
      select.appendChild(el("option", { value: "" }, "Same as the organization"));
      choices.handoff_level.forEach(function (value) {
        select.appendChild(el("option", { value: value, selected: current.channel_levels[channel] === value }, levelName(value)));
      });
      perChannel[channel] = select;
      channelGrid.appendChild(label(SB.channelName(channel), select, "In force: " + levelName(answer.channel_levels_in_force[channel])));
    });
    form.appendChild(el("fieldset", { class: "form-grid" }, [
      el("legend", { class: "wide", text: "Handoff level" }),
      label("Organization level", level), el("div", { class: "wide" }, levelHelp),
    ]));
    form.appendChild(el("fieldset", {}, [el("legend", { text: "Per channel" }), channelGrid]));

    // Timers
    var review = minutesInput("review_window", current.review_window_seconds, "setting-review_window");
    var expiry = minutesInput("queue_expiry", current.queue_expiry_seconds, "setting-queue_expiry");
    var reminder = minutesInput("reminder_interval", current.reminder_interval_seconds, "setting-reminder_interval");
    var unassign = el("input", { type: "number", min: 0, step: "any", "data-testid": "setting-unassign" });
    unassign.value = String(current.unassign_after_seconds / 60);
    var repeats = el("input", { type: "number", min: 0, step: 1, "data-testid": "setting-reminder_repeats" });
    repeats.value = String(current.reminder_repeats);
    var escalate = el("input", { type: "checkbox", checked: !!current.escalate_to_admins, "data-testid": "setting-escalate" });
    var threshold = el("input", { type: "number", min: 0, max: 1, step: 0.01, "data-testid": "setting-threshold" });
    threshold.value = String(current.ai_confidence_threshold);
    form.appendChild(el("fieldset", { class: "form-grid" }, [
      el("legend", { class: "wide", text: "Timers" }),
      label("Review window (minutes)", review, "Manual control pauses the AI this long after the last human action."),
      label("Queue expiry (minutes)", expiry, "An unclaimed handoff goes back to the AI after this."),
      label("Reminder every (minutes)", reminder),
      label("Reminders", repeats, "0 turns reminders and escalation off."),
      label("Unassign after (minutes, 0 = never)", unassign, "A claimed conversation without an agent reply goes back to Waiting."),
      label("AI confidence threshold (0–1)", threshold, "Below this the AI says it does not know."),
      el("label", { class: "check" }, [escalate, "Escalate to admins after the last reminder"]),
    ]));

    // Triggers
    var keywords = el("textarea", { rows: 4, "data-testid": "setting-keywords" });
    keywords.value = (current.handoff_keywords || []).join("\n");
    var topics = el("div", { class: "form-grid" });
    var topicBoxes = {};
    Object.keys(choices.restricted_topics).forEach(function (name) {
      var box = el("input", { type: "checkbox", checked: current.restricted_topics.indexOf(name) >= 0, "data-topic": name });
      topicBoxes[name] = box;
      topics.appendChild(el("label", { class: "check" }, [box, choices.restricted_topics[name]]));
    });
    form.appendChild(el("fieldset", { class: "form-grid" }, [
      el("legend", { class: "wide", text: "What calls a person" }),
      el("label", { class: "field wide" }, ["Keywords and phrases, one per line", keywords]),
      el("div", { class: "wide" }, [el("p", { class: "hint", text: "Restricted topics: the AI never answers these itself." }), topics]),
    ]));

    // Hours
    var hours = SB.admin.hoursEditor({ hours: current.business_hours, zone: current.time_zone });
    var outside = el("select", { "data-testid": "setting-outside_hours" });
    choices.outside_hours.forEach(function (value) {
      outside.appendChild(el("option", { value: value, selected: value === current.outside_hours }, OUTSIDE_HOURS[value] || value));
    });
    form.appendChild(el("fieldset", { class: "form-grid" }, [
      el("legend", { class: "wide", text: "Business hours" }),
      hours.node,
      el("label", { class: "field wide" }, ["When a customer asks for a person outside these hours", outside]),
    ]));

    var status = el("p", { class: "hint", role: "status", "data-testid": "settings-status" });
    form.appendChild(el("div", { class: "inline-form" }, [el("button", { type: "submit", class: "btn primary", "data-testid": "settings-save" }, "Save settings"), status]));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var next = Object.assign({
        handoff_level: level.value,
        channel_levels: {},
        review_window_seconds: Math.round(Number(review.value) * 60),
        queue_expiry_seconds: Math.round(Number(expiry.value) * 60),
        reminder_interval_seconds: Math.round(Number(reminder.value) * 60),
        reminder_repeats: Number(repeats.value),
        unassign_after_seconds: Math.round(Number(unassign.value) * 60),
        escalate_to_admins: escalate.checked,
        ai_confidence_threshold: Number(threshold.value),
        handoff_keywords: keywords.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean),
        restricted_topics: Object.keys(topicBoxes).filter(function (name) { return topicBoxes[name].checked; }),
        outside_hours: outside.value,
      }, hours.value());
      Object.keys(perChannel).forEach(function (channel) {
        if (perChannel[channel].value) next.channel_levels[channel] = perChannel[channel].value;
      });
      var changed = {};
      Object.keys(next).forEach(function (key) {
        if (JSON.stringify(next[key]) !== JSON.stringify(current[key])) changed[key] = next[key];
      });
      if (!Object.keys(changed).length) {
        status.textContent = "Nothing changed.";
        return;
      }
      var checked = changed.business_hours || changed.time_zone ? hours.check() : Promise.resolve();
      checked.then(function () {
        return SB.api("PUT", "/api/admin/settings", changed);
      }).then(function (saved) {
        render(panel, saved);
        SB.toast("Settings saved.");
      }, function (problem) {
        status.textContent = problem.message;
        status.className = "error-text";
      });
    });
    panel.appendChild(form);
  }

  SB.admin = Object.assign(SB.admin || {}, { settings: settings });
})();
