/*
 * Switchboard agents' pages: the frame around every page — the top bar (navigation, who is
 * online, notifications, help, the agent's menu with password change and logout), the
 * keyboard-shortcut registry with its help overlay (`?`), and small dialogs.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var shortcuts = [];

  // --- dialogs ------------------------------------------------------------------------------

  /* A modal form: fields [{name, label, type, value, options, hint, required}], resolves
     with the values, or null when cancelled. */
  SB.ask = function (options) {
    return new Promise(function (resolve) {
      var dialog = el("dialog", { "aria-labelledby": "ask-heading", "data-testid": options.testid || "dialog" });
      var form = el("form", { method: "dialog" });
      var inputs = {};
      form.appendChild(el("h2", { id: "ask-heading", text: options.title }));
      if (options.text) form.appendChild(el("p", { class: "hint", text: options.text }));
      (options.fields || []).forEach(function (field, index) {
        var id = "ask-field-" + field.name;
        var input;
        if (field.type === "select") {
          input = el("select", { id: id, name: field.name });
          field.options.forEach(function (option) {
            input.appendChild(el("option", { value: option.value, selected: String(option.value) === String(field.value) }, option.label));
          });
        } else if (field.type === "textarea") {
          input = el("textarea", { id: id, name: field.name, rows: 3, placeholder: field.placeholder || "" });
          input.value = field.value || "";
        } else {
          input = el("input", {
            id: id, name: field.name, type: field.type || "text", required: !!field.required,
            autocomplete: field.autocomplete || "off", placeholder: field.placeholder || "",
          });
          input.value = field.value || "";
        }
        if (index === 0) input.setAttribute("autofocus", "");
        inputs[field.name] = input;
        form.appendChild(el("label", { class: "field", for: id }, [field.label, input, field.hint ? el("span", { class: "hint", text: field.hint }) : null]));
      });
      var error = el("p", { class: "error-text", role: "alert", hidden: true });
      form.appendChild(error);
      var cancel = el("button", { type: "button", class: "btn", value: "cancel" }, "Cancel");
      var ok = el("button", { type: "submit", class: "btn primary " + (options.danger ? "danger" : ""), "data-testid": "dialog-ok" }, options.ok || "OK");
      form.appendChild(el("div", { class: "buttons" }, [cancel, ok]));
      dialog.appendChild(form);
      document.body.appendChild(dialog);
      var done = false;
      function finish(value) {
        if (done) return;
        done = true;
        dialog.close();
        dialog.remove();
        resolve(value);
      }
      cancel.addEventListener("click", function () { finish(null); });
      dialog.addEventListener("cancel", function () { finish(null); });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var values = {};
        Object.keys(inputs).forEach(function (name) { values[name] = inputs[name].value; });
        if (options.validate) {
          var problem = options.validate(values);
          if (problem) {
            error.textContent = problem;
            error.hidden = false;
            return;
          }
        }
        if (!options.submit) { finish(values); return; }
        ok.disabled = true;
        Promise.resolve(options.submit(values)).then(function (result) {
          finish(result === undefined ? values : result);
        }, function (problem) {
          ok.disabled = false;
          error.textContent = problem && problem.message ? problem.message : String(problem);
          error.hidden = false;
        });
      });
      dialog.showModal();
    });
  };

  // --- shortcuts ----------------------------------------------------------------------------

  /* key: "c", "?", "Shift+R", "Ctrl+Enter"... ; handler(event); group and label for help. */
  SB.shortcut = function (key, label, handler, group) {
    shortcuts.push({ key: key, label: label, handler: handler, group: group || "General" });
  };

  function typingTarget(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function keyName(event) {
    var key = event.key.length === 1 ? event.key : event.key;
    var parts = [];
    if (event.ctrlKey || event.metaKey) parts.push("Ctrl");
    if (event.altKey) parts.push("Alt");
    if (event.shiftKey && key.length > 1) parts.push("Shift");
    parts.push(key.length === 1 && !event.shiftKey ? key.toLowerCase() : key);
    return parts.join("+");
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (document.querySelector("dialog[open]")) return; // the dialog has the keyboard
    var name = keyName(event);
    var inField = typingTarget(event.target);
    for (var i = 0; i < shortcuts.length; i++) {
      var entry = shortcuts[i];
      if (entry.key !== name) continue;
      if (inField && entry.key.indexOf("Ctrl+") !== 0 && entry.key !== "Escape") continue;
      if (entry.handler(event) !== false) event.preventDefault();
      return;
    }
  });

  SB.showHelp = function () {
    if (document.querySelector("dialog.help[open]")) return;
    var dialog = el("dialog", { class: "help", "aria-labelledby": "help-title", "data-testid": "help" });
    var body = el("div", { class: "dialog-body" });
    body.appendChild(el("h2", { id: "help-title", text: "Keyboard shortcuts" }));
    var groups = {};
    shortcuts.forEach(function (entry) {
      if (!entry.label) return;
      (groups[entry.group] = groups[entry.group] || []).push(entry);
    });
    Object.keys(groups).forEach(function (group) {
      body.appendChild(el("h3", { class: "hint", text: group }));
      var grid = el("div", { class: "help-grid" });
      groups[group].forEach(function (entry) {
        var keys = el("span");
        entry.key.split("+").forEach(function (part, index) {
          if (index) keys.appendChild(document.createTextNode(" + "));
          keys.appendChild(el("kbd", { text: part === " " ? "Space" : part }));
        });
        grid.appendChild(el("div", {}, [el("span", { text: entry.label }), keys]));
      });
      body.appendChild(grid);
    });
    var close = el("button", { class: "btn", type: "button" }, "Close");
    body.appendChild(el("div", { class: "buttons" }, close));
    dialog.appendChild(body);
    document.body.appendChild(dialog);
    close.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { dialog.remove(); });
    dialog.showModal();
    close.focus();
  };

  SB.shortcut("?", "Show this help", function () { SB.showHelp(); });

  // --- top bar ----------------------------------------------------------------------------

  function changePassword() {
    return SB.ask({
      title: "Change your password",
      ok: "Change password",
      testid: "password-dialog",
      fields: [
        { name: "current_password", label: "Current password", type: "password", autocomplete: "current-password", required: true },
        { name: "new_password", label: "New password", type: "password", autocomplete: "new-password", required: true, hint: "At least 10 characters." },
        { name: "repeat", label: "New password again", type: "password", autocomplete: "new-password", required: true },
      ],
      validate: function (values) {
        if (values.new_password.length < 10) return "The new password needs at least 10 characters.";
        if (values.new_password !== values.repeat) return "The two new passwords differ.";
        return null;
      },
      submit: function (values) {
        return SB.api("POST", SB.endpoints.password, {
          current_password: values.current_password, new_password: values.new_password,
        }).then(function (body) {
          if (body && body.csrf_token) SB.csrf(body.csrf_token);
        });
      },
    }).then(function (values) {
      if (values) SB.toast("Your password was changed.");
    });
  }

  function changeZone() {
    var browser = SB.time.browserZone();
    return SB.ask({
      title: "Your time zone",
      text: "Times on these pages are shown in this zone." + (browser !== SB.time.zone ? " This browser is in " + browser + "." : ""),
      ok: "Save",
      testid: "zone-dialog",
      fields: [{ name: "time_zone", label: "Time zone (IANA name)", value: SB.time.zone, placeholder: browser }],
      submit: function (values) {
        return SB.api("PATCH", "/api/me", { time_zone: values.time_zone.trim() });
      },
    }).then(function (answer) {
      if (answer && answer.agent) {
        SB.time.setZone(answer.agent.time_zone);
        location.reload();
      }
    });
  }

  function logout() {
    SB.loggingOut = true;
    SB.api("POST", "/api/logout").catch(function () { /* the session may be gone already */ }).then(function () {
      SB.csrf("");
      location.assign("/login");
    });
  }

  /* Build the top bar into #topbar. options: {active: "queue"|"dashboard"|"admin", live: bool} */
  SB.shell = function (agent, options) {
    var bar = SB.$("#topbar");
    SB.clear(bar);
    bar.appendChild(el("a", { class: "brand", href: "/queue" }, [el("img", { src: "/queue-assets/logo.svg", alt: "" }), "Switchboard"]));
    var nav = el("nav", { class: "topnav", "aria-label": "Main" });
    var links = [["queue", "/queue", "Queue"]];
    if (agent.role === "admin") {
      links.push(["dashboard", "/dashboard", "Dashboard"], ["admin", "/admin", "Admin"]);
      links.push(["knowledge", "/admin/knowledge", "Knowledge base"], ["webhooks", "/admin/webhooks", "Webhooks"]);
      // the channels' own settings pages (from /channels.js), e.g. what callers hear
      (window.SB_ADMIN_PAGES || []).forEach(function (page) { links.push(["", page.page, page.label]); });
    }
    links.forEach(function (link) {
      // a channel's page (no key of its own) is the current one when it is this page
      var current = link[0] ? options.active === link[0] : location.pathname === link[1];
      nav.appendChild(el("a", { href: link[1], "aria-current": current ? "page" : null }, link[2]));
    });
    bar.appendChild(nav);
    // On a narrow screen the links scroll sideways: keep the current page's in sight.
    var here = nav.querySelector("[aria-current=page]");
    var inSight = function () {
      var past = here.getBoundingClientRect().right - nav.getBoundingClientRect().right;
      if (past > 0) nav.scrollLeft += past;
    };
    if (here) {
      inSight();
      window.addEventListener("resize", inSight);
    }
    bar.appendChild(el("div", { class: "spacer" }));
    var parts = {};
    if (options.live) {
      parts.status = el("span", { class: "live-status", "data-state": "connecting", "data-testid": "live-status", role: "status" }, el("span", { text: "Connecting…" }));
      parts.presence = el("div", { class: "presence", "data-testid": "presence", "aria-label": "Agents online" });
      parts.presenceCount = el("span", { class: "presence-count" });
      bar.appendChild(parts.status);
      bar.appendChild(el("div", { class: "presence-wrap" }, [parts.presence]));
      bar.appendChild(parts.presenceCount);
    }
    if (options.notifications) {
      parts.bell = el("button", {
        class: "btn ghost", type: "button", "aria-pressed": "false", "data-testid": "notifications-toggle",
        title: "Sound and desktop notification when a conversation starts waiting",
      }, "Alerts off");
      bar.appendChild(parts.bell);
    }
    bar.appendChild(el("button", {
      class: "btn ghost", type: "button", "aria-label": "Keyboard shortcuts", title: "Keyboard shortcuts (?)",
      "data-testid": "help-button", onclick: function () { SB.showHelp(); },
    }, "?"));
    var menu = el("div", { class: "menu" });
    var list = el("div", { class: "menu-list", role: "menu", hidden: true });
    var toggle = el("button", {
      class: "btn ghost", type: "button", "aria-haspopup": "menu", "aria-expanded": "false", "data-testid": "user-menu",
      "aria-label": "Account menu of " + agent.name,
    }, [SB.avatar(agent.name, agent.id), el("span", { class: "who-name", text: agent.name })]);
    // The initials repeat the name: drawn by CSS and hidden, so that the button's visible
    // text is its accessible name ("Account menu of …") in part.
    var initials = toggle.firstChild;
    initials.setAttribute("data-initials", initials.textContent);
    initials.setAttribute("aria-hidden", "true");
    initials.removeAttribute("aria-label");
    initials.textContent = "";
    function closeMenu() {
      list.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
    }
    toggle.addEventListener("click", function () {
      list.hidden = !list.hidden;
      toggle.setAttribute("aria-expanded", String(!list.hidden));
      if (!list.hidden) list.querySelector("button").focus();
    });
    document.addEventListener("click", function (event) {
      if (!menu.contains(event.target)) closeMenu();
    });
    list.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { closeMenu(); toggle.focus(); }
    });
    list.appendChild(el("div", { class: "who" }, [
      el("strong", { text: agent.name }),
      el("small", { text: agent.email }),
      el("small", { text: "Role: " + SB.words.sentence(agent.role) + " · Times in " + SB.time.zone }),
    ]));
    list.appendChild(el("button", { type: "button", role: "menuitem", "data-testid": "change-time-zone", onclick: function () { closeMenu(); changeZone(); } }, "Time zone…"));
    list.appendChild(el("button", { type: "button", role: "menuitem", onclick: function () { closeMenu(); changePassword(); } }, "Change password…"));
    list.appendChild(el("button", { type: "button", role: "menuitem", "data-testid": "logout", onclick: logout }, "Log out"));
    menu.appendChild(toggle);
    menu.appendChild(list);
    bar.appendChild(menu);
    return parts;
  };

  SB.setLiveStatus = function (node, state, transport) {
    if (!node) return;
    node.setAttribute("data-state", state);
    node.setAttribute("data-transport", transport || "");
    node.firstChild.textContent = state === "live" ? "Live" : state === "down" ? "Offline, reconnecting…" : "Connecting…";
  };

  /* Endpoint names in one place, so a move of the API is one edit. */
  SB.endpoints = {
    password: "/api/password",
  };

  /* Start a page: who is logged in (or go to the login page), then the shell. */
  SB.boot = function (options, start) {
    document.addEventListener("DOMContentLoaded", function () {
      SB.me().then(function (agent) {
        if (options.roles && options.roles.indexOf(agent.role) < 0) {
          location.assign("/queue");
          return;
        }
        var parts = SB.shell(agent, options);
        start(agent, parts);
      }, function (error) {
        if (!(error instanceof SB.ApiError) || error.status !== 401) SB.fail(error);
      });
    });
  };
})();
