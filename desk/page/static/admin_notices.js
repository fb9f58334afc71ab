/*
 * Switchboard admin page: the customer notices. Pick a notice (by name, with when it is
 * sent) and a channel; edit its wording with the placeholders that fit it, and see a live
 * preview rendered by the server with sample values (the admin's own name, the
 * organization's, a typical wait). Save keeps the organization's own wording for that
 * notice on that channel only; Reset goes back to the default. The list beside shows
 * which notices have wording of the organization's own.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var ANY = "*";
  var PREVIEW_DELAY_MS = 250;

  function notices(panel) {
    SB.api("GET", "/api/admin/notices").then(function (answer) { render(panel, answer, null); }, SB.fail);
  }

  function own(answer, kind, channel) {
    return (answer.templates[kind] || {})[channel];
  }

  /* What the customer gets now on this channel: its own wording, else the one for all
     channels, else the channel's default (as handoff/notice_templates.py decides). */
  function inForce(answer, kind, channel) {
    return own(answer, kind, channel) || (channel !== ANY && own(answer, kind, ANY)) || answer.defaults[kind][channel];
  }

  function render(panel, answer, picked) {
    SB.clear(panel);
    panel.appendChild(el("header", {}, el("div", {}, [
      el("h2", { text: "Customer notices" }),
      el("p", { class: "hint", text: "What customers are told when a conversation changes hands. Each channel has its own default wording; change any of them here." }),
    ])));
    var kind = el("select", { "data-testid": "notice-kind" });
    answer.kinds.forEach(function (entry) {
      kind.appendChild(el("option", { value: entry.kind, selected: picked && picked.kind === entry.kind }, entry.label));
    });
    var channel = el("select", { "data-testid": "notice-channel" });
    answer.channels.forEach(function (entry) {
      channel.appendChild(el("option", { value: entry.name, selected: picked && picked.channel === entry.name }, entry.label));
    });
    var when = el("p", { class: "hint", "data-testid": "notice-when" });
    var text = el("textarea", { rows: 4, maxlength: 1000, "data-testid": "notice-text", "aria-describedby": "notice-placeholders" });
    var placeholders = el("div", { class: "placeholders", id: "notice-placeholders" });
    var source = el("p", { class: "hint", "data-testid": "notice-source" });
    var preview = el("p", { class: "notice-preview", role: "status", "data-testid": "notice-preview" });
    var save = el("button", { type: "submit", class: "btn primary", "data-testid": "notice-save" }, "Save wording");
    var reset = el("button", { type: "button", class: "btn", "data-testid": "notice-reset" }, "Reset to default");
    var timer = null;

    function entry() {
      return answer.kinds.filter(function (k) { return k.kind === kind.value; })[0];
    }

    function describeSource() {
      var mine = own(answer, kind.value, channel.value);
      var all = channel.value !== ANY && own(answer, kind.value, ANY);
      source.textContent = mine ? "Your own wording." : all ? "Your wording for all channels." : "The default wording.";
      reset.disabled = !mine;
    }

    function showPlaceholders() {
      SB.clear(placeholders);
      var names = entry().placeholders;
      if (!names.length) {
        placeholders.appendChild(el("span", { class: "hint", text: "This notice has no placeholders." }));
        return;
      }
      placeholders.appendChild(el("span", { class: "hint", text: "Insert:" }));
      names.forEach(function (name) {
        placeholders.appendChild(el("button", {
          type: "button", class: "btn small", title: answer.placeholders[name],
          "aria-label": "Insert {" + name + "}, " + answer.placeholders[name],
          onclick: function () {
            var at = text.selectionStart, word = "{" + name + "}";
            text.value = text.value.slice(0, at) + word + text.value.slice(text.selectionEnd);
            text.focus();
            text.selectionStart = text.selectionEnd = at + word.length;
            schedulePreview();
          },
        }, "{" + name + "}"));
        placeholders.appendChild(el("span", { class: "hint", text: answer.placeholders[name] }));
      });
    }

    function load() {
      when.textContent = entry().when;
      text.value = inForce(answer, kind.value, channel.value);
      showPlaceholders();
      describeSource();
      schedulePreview();
    }

    function showPreview() {
      SB.api("POST", "/api/admin/notices/preview", { kind: kind.value, channel: channel.value, text: text.value }).then(function (rendered) {
        preview.textContent = rendered.text;
        preview.className = "notice-preview";
      }, function (problem) {
        preview.textContent = problem.message;
        preview.className = "notice-preview error-text";
      });
    }

    function schedulePreview() {
      clearTimeout(timer);
      timer = setTimeout(showPreview, PREVIEW_DELAY_MS);
    }

    function store(value, done) {
      var chosen = { kind: kind.value, channel: channel.value };
      SB.api("PUT", "/api/admin/notices", { kind: chosen.kind, channel: chosen.channel, text: value }).then(function (saved) {
        render(panel, saved, chosen);
        SB.toast(done);
      }, function (problem) {
        preview.textContent = problem.message;
        preview.className = "notice-preview error-text";
      });
    }

    kind.addEventListener("change", load);
    channel.addEventListener("change", load);
    text.addEventListener("input", schedulePreview);
    reset.addEventListener("click", function () { store(null, "The default wording is back."); });
    var form = el("form", { class: "card-body notices", "aria-label": "Customer notice", "data-testid": "notice-form" }, [
      el("div", { class: "form-grid" }, [
        el("label", { class: "field" }, ["Notice", kind]),
        el("label", { class: "field" }, ["Channel", channel]),
        el("div", { class: "wide" }, when),
      ]),
      el("label", { class: "field" }, ["Wording", text]),
      placeholders,
      el("div", { class: "preview-box" }, [el("span", { class: "hint", text: "The customer reads (with sample values):" }), preview]),
      el("div", { class: "inline-form" }, [save, reset, source]),
      overview(answer),
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      store(text.value, "Notice saved.");
    });
    panel.appendChild(form);
    load();
  }

  /* Which notices have wording of the organization's own, in words. */
  function overview(answer) {
    var names = {};
    answer.channels.forEach(function (c) { names[c.name] = c.label; });
    var items = [];
    answer.kinds.forEach(function (k) {
      Object.keys(answer.templates[k.kind] || {}).forEach(function (channel) {
        items.push(el("li", { text: k.label + " · " + (names[channel] || channel) }));
      });
    });
    return el("div", { "data-testid": "notice-overview" }, [
      el("h3", { text: "Your own wording" }),
      items.length ? el("ul", { class: "plain-list" }, items) : el("p", { class: "hint", text: "None yet: every notice uses the default wording." }),
    ]);
  }

  SB.admin = Object.assign(SB.admin || {}, { notices: notices });
})();
