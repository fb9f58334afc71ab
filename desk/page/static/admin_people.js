/*
 * Switchboard admin page: people (create agents, set their role — viewer, agent or admin —
 * their teams and time zone, deactivate them, set a new password), teams, and canned
 * responses. Every change goes to the admin API and the section is redrawn from its answer.
 * The only active admin's role and status controls are disabled with the reason beside
 * them (the API refuses the change as well).
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var ROLES = [
    { value: "viewer", label: "Viewer (reads only)" },
    { value: "agent", label: "Agent" },
    { value: "admin", label: "Admin" },
  ];

  function header(title, hint, button) {
    return el("header", {}, [el("div", {}, [el("h2", { text: title }), hint ? el("p", { class: "hint", text: hint }) : null]), button || null]);
  }

  function field(label, input, wide) {
    return el("label", { class: "field" + (wide ? " wide" : "") }, [label, input]);
  }

  function reload(panel, agent, render) {
    return function () { render(panel, agent); };
  }

  function teamNames(teams, ids) {
    return ids.map(function (id) {
      var team = teams.filter(function (t) { return t.id === id; })[0];
      return team ? team.name : "#" + id;
    }).join(", ") || "—";
  }

  // --- people ----------------------------------------------------------------------------------

  function roleLabel(value) {
    return { viewer: "a viewer", agent: "an agent", admin: "an admin" }[value] || value;
  }

  function people(panel, me) {
    Promise.all([SB.api("GET", "/api/agents"), SB.api("GET", "/api/teams")]).then(function (answers) {
      var agents = answers[0].agents, teams = answers[1].teams;
      var admins = agents.filter(function (a) { return a.role === "admin" && a.active; });
      // The API refuses this too; the page says why before anyone tries.
      var lastAdmin = admins.length === 1 ? admins[0].id : null;
      SB.clear(panel);
      var count = agents.length === 1 ? "1 person" : agents.length + " people";
      panel.appendChild(header("People", count + " in your organization. Deactivated people can’t log in."));
      var body = el("div", { class: "card-body" });
      var table = el("table", { class: "data people", "data-testid": "people-table" }, [
        el("thead", {}, el("tr", {}, [
          el("th", { scope: "col", text: "Person" }), el("th", { scope: "col", text: "Role" }),
          el("th", { scope: "col", text: "Teams" }), el("th", { scope: "col", class: "col-zone", text: "Time zone" }),
          el("th", { scope: "col", text: "Status" }), el("th", { scope: "col" }, el("span", { class: "sr-only", text: "Actions" })),
        ])),
      ]);
      var rows = el("tbody");
      agents.forEach(function (agent) {
        var locked = agent.id === lastAdmin;
        var reasonId = "last-admin-" + agent.id;
        var role = el("select", {
          "aria-label": "Role of " + agent.name, "data-testid": "role-" + agent.id,
          disabled: locked, "aria-describedby": locked ? reasonId : null,
        });
        ROLES.forEach(function (r) { role.appendChild(el("option", { value: r.value, selected: r.value === agent.role }, r.label)); });
        role.addEventListener("change", function () {
          SB.api("PATCH", "/api/agents/" + agent.id, { role: role.value }).then(function () {
            SB.toast(agent.name + " is now " + roleLabel(role.value) + ".");
            people(panel, me);
          }, function (error) {
            SB.couldNot(agent.id === me.id ? "change your role" : "change the role of " + agent.name, error);
            role.value = agent.role;
          });
        });
        var toggle = el("button", {
          type: "button", class: "btn small" + (agent.active ? " danger" : ""), "data-testid": "active-" + agent.id,
          disabled: locked, "aria-describedby": locked ? reasonId : null,
          onclick: function () { setActive(agent, me).then(reload(panel, me, people)); },
        }, agent.active ? "Deactivate" : "Reactivate");
        var who = agent.id === me.id ? "You are" : agent.name + " is";
        var reason = locked ? el("p", {
          class: "hint reason", id: reasonId, "data-testid": "last-admin-reason",
          text: who + " the only active admin. Make someone else an admin before changing this role or deactivating.",
        }) : null;
        rows.appendChild(el("tr", { "data-agent-id": agent.id }, [
          el("td", {}, [
            el("strong", { text: agent.name }), agent.id === me.id ? el("span", { class: "hint", text: " (you)" }) : null,
            agent.email ? el("div", { class: "hint email", text: agent.email }) : null,
          ]),
          el("td", {}, [role, reason]),
          el("td", { text: teamNames(teams, agent.team_ids) }),
          el("td", { class: "col-zone", text: (agent.time_zone || "UTC").replace(/_/g, " ") }),
          el("td", {}, el("span", { class: "chip " + (agent.active ? "state-resolved" : "attention"), text: agent.active ? "Active" : "Deactivated" })),
          el("td", {}, el("div", { class: "actions row-actions" }, [
            el("button", { type: "button", class: "btn small", onclick: function () { editAgent(agent, teams).then(reload(panel, me, people)); } }, "Edit"),
            el("button", { type: "button", class: "btn small", onclick: function () { resetPassword(agent); } }, "Set password"),
            toggle,
          ])),
        ]));
      });
      table.appendChild(rows);
      body.appendChild(el("div", { class: "table-wrap", "data-testid": "people-wrap" }, table));
      body.appendChild(newAgentForm(teams, reload(panel, me, people)));
      panel.appendChild(body);
    }, SB.fail);
  }

  function setActive(agent, me) {
    var change = function () { return SB.api("PATCH", "/api/agents/" + agent.id, { active: !agent.active }); };
    if (!agent.active) {
      return change().then(function () { SB.toast(agent.name + " can log in again."); }, function (error) {
        SB.couldNot("reactivate " + agent.name, error);
      });
    }
    return SB.ask({
      title: agent.id === me.id ? "Deactivate your own account?" : "Deactivate " + agent.name + "?",
      text: agent.id === me.id
        ? "You are logged out everywhere at once and can’t log in again until another admin reactivates you."
        : agent.name + " is logged out everywhere and can’t log in until reactivated. Their conversations stay as they are.",
      ok: "Deactivate", danger: true, testid: "deactivate-dialog",
      submit: change,
    }).then(function (done) {
      if (done) SB.toast(agent.name + " was deactivated.");
    });
  }

  function newAgentForm(teams, after) {
    var name = el("input", { type: "text", name: "name", required: true, autocomplete: "off", "data-testid": "new-agent-name" });
    var email = el("input", { type: "email", name: "email", required: true, autocomplete: "off", "data-testid": "new-agent-email" });
    var password = el("input", { type: "password", name: "password", required: true, minlength: 10, autocomplete: "new-password", "data-testid": "new-agent-password" });
    var role = el("select", { name: "role", "data-testid": "new-agent-role" });
    ROLES.forEach(function (r) { role.appendChild(el("option", { value: r.value, selected: r.value === "agent" }, r.label)); });
    var team = el("select", { name: "team", "data-testid": "new-agent-team" }, el("option", { value: "" }, "No team"));
    teams.forEach(function (t) { team.appendChild(el("option", { value: t.id }, t.name)); });
    var error = el("p", { class: "error-text", role: "alert", hidden: true });
    var form = el("form", { class: "form-grid", "aria-label": "Add a person", "data-testid": "new-agent-form" }, [
      el("h3", { class: "wide", text: "Add a person" }),
      field("Name", name), field("Email", email), field("Password (10+ characters)", password), field("Role", role), field("Team", team),
      el("div", {}, el("button", { type: "submit", class: "btn primary", "data-testid": "new-agent-submit" }, "Add person")),
      error,
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      SB.api("POST", "/api/agents", {
        name: name.value.trim(), email: email.value.trim(), password: password.value, role: role.value,
        team_ids: team.value ? [Number(team.value)] : [], time_zone: SB.time.zone,
      }).then(function (answer) {
        SB.toast(answer.agent.name + " can now log in.");
        after();
      }, function (problem) {
        error.textContent = problem.message;
        error.hidden = false;
      });
    });
    return form;
  }

  function editAgent(agent, teams) {
    return SB.zonePicker.zones().then(function (zones) {
      var zone = agent.time_zone || "UTC";
      var known = zones.some(function (z) { return z.name === zone; });
      var options = (known ? [] : [{ value: zone, label: zone }]).concat(zones.map(function (z) { return { value: z.name, label: z.label }; }));
      return SB.ask({
        title: "Edit " + agent.name,
        ok: "Save",
        testid: "edit-agent-dialog",
        fields: [
          { name: "name", label: "Name", value: agent.name, required: true },
          { name: "time_zone", type: "select", label: "Time zone", value: zone, options: options, hint: "Type a city’s first letters to jump to it." },
        ].concat(teams.length ? [{
          name: "team", type: "select", label: "Team", value: agent.team_ids[0] || "",
          options: [{ value: "", label: "No team" }].concat(teams.map(function (t) { return { value: t.id, label: t.name }; })),
        }] : []),
        submit: function (values) {
          var change = { name: values.name.trim(), time_zone: values.time_zone };
          if (teams.length) change.team_ids = values.team ? [Number(values.team)] : [];
          return SB.api("PATCH", "/api/agents/" + agent.id, change);
        },
      });
    });
  }

  function resetPassword(agent) {
    return SB.ask({
      title: "Set a new password for " + agent.name,
      text: "They are logged out everywhere and log in again with this password.",
      ok: "Set password",
      fields: [{ name: "password", type: "password", label: "New password (10+ characters)", autocomplete: "new-password", required: true }],
      submit: function (values) {
        return SB.api("POST", "/api/agents/" + agent.id + "/password", { password: values.password });
      },
    }).then(function (values) {
      if (values) SB.toast("The password of " + agent.name + " was changed.");
    });
  }

  // --- teams -----------------------------------------------------------------------------------

  function teams(panel, me) {
    Promise.all([SB.api("GET", "/api/teams"), SB.api("GET", "/api/agents")]).then(function (answers) {
      var list = answers[0].teams, agents = answers[1].agents;
      SB.clear(panel);
      panel.appendChild(header("Teams", "Conversations can be routed to a team; agents filter the queue by team."));
      var body = el("div", { class: "card-body" });
      var rows = el("tbody");
      list.forEach(function (team) {
        var members = agents.filter(function (a) { return team.member_ids.indexOf(a.id) >= 0; }).map(function (a) { return a.name; });
        rows.appendChild(el("tr", {}, [
          el("td", {}, el("strong", { text: team.name })),
          el("td", { text: members.join(", ") || "no members yet" }),
          el("td", {}, el("div", { class: "actions" }, [
            el("button", { type: "button", class: "btn small", onclick: function () {
              SB.ask({ title: "Rename " + team.name, ok: "Rename", fields: [{ name: "name", label: "Name", value: team.name }],
                submit: function (v) { return SB.api("PATCH", "/api/teams/" + team.id, { name: v.name.trim() }); } }).then(reload(panel, me, teams));
            } }, "Rename"),
            el("button", { type: "button", class: "btn small danger", onclick: function () {
              SB.ask({ title: "Delete the team " + team.name + "?", text: "Its conversations keep their owners and lose the team.", ok: "Delete", danger: true,
                submit: function () { return SB.api("DELETE", "/api/teams/" + team.id); } }).then(reload(panel, me, teams));
            } }, "Delete"),
          ])),
        ]));
      });
      if (!list.length) rows.appendChild(el("tr", {}, el("td", { colspan: 3, class: "hint", text: "No teams yet." })));
      body.appendChild(el("table", { class: "data", "data-testid": "teams-table" }, [
        el("thead", {}, el("tr", {}, ["Team", "Members", ""].map(function (h) { return el("th", { scope: "col", text: h }); }))), rows,
      ]));
      var name = el("input", { type: "text", required: true, "data-testid": "new-team-name" });
      var form = el("form", { class: "inline-form", "aria-label": "Add a team" }, [
        field("New team", name), el("button", { type: "submit", class: "btn primary", "data-testid": "new-team-submit" }, "Add team"),
      ]);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        SB.api("POST", "/api/teams", { name: name.value.trim() }).then(reload(panel, me, teams), SB.fail);
      });
      body.appendChild(form);
      panel.appendChild(body);
    }, SB.fail);
  }

  // --- canned responses ------------------------------------------------------------------------

  function cannedFields(item) {
    return [
      { name: "shortcut", label: "Shortcut (typed as /shortcut in the composer)", value: item ? item.shortcut : "", required: true },
      { name: "title", label: "Title", value: item ? item.title : "", required: true },
      { name: "body", type: "textarea", label: "Text", value: item ? item.body : "" },
    ];
  }

  function canned(panel, me) {
    SB.api("GET", "/api/canned-responses").then(function (answer) {
      var list = answer.canned_responses;
      SB.clear(panel);
      var add = el("button", { type: "button", class: "btn primary", "data-testid": "new-canned", onclick: function () {
        SB.ask({ title: "New canned response", ok: "Add", testid: "canned-dialog", fields: cannedFields(null),
          submit: function (v) { return SB.api("POST", "/api/canned-responses", { shortcut: v.shortcut.trim().replace(/^\//, ""), title: v.title.trim(), body: v.body.trim() }); } })
          .then(reload(panel, me, canned));
      } }, "Add canned response");
      panel.appendChild(header("Canned responses", "Agents insert these with “/shortcut” then Tab, or Ctrl+K, in the composer.", add));
      var rows = el("tbody");
      list.forEach(function (item) {
        rows.appendChild(el("tr", {}, [
          el("td", {}, el("code", { text: "/" + item.shortcut })),
          el("td", { text: item.title }),
          el("td", { class: "hint", text: item.body.length > 140 ? item.body.slice(0, 140) + "…" : item.body }),
          el("td", {}, el("div", { class: "actions" }, [
            el("button", { type: "button", class: "btn small", onclick: function () {
              SB.ask({ title: "Edit /" + item.shortcut, ok: "Save", fields: cannedFields(item),
                submit: function (v) { return SB.api("PATCH", "/api/canned-responses/" + item.id, { shortcut: v.shortcut.trim().replace(/^\//, ""), title: v.title.trim(), body: v.body.trim() }); } })
                .then(reload(panel, me, canned));
            } }, "Edit"),
            el("button", { type: "button", class: "btn small danger", onclick: function () {
              SB.ask({ title: "Delete /" + item.shortcut + "?", ok: "Delete", danger: true,
                submit: function () { return SB.api("DELETE", "/api/canned-responses/" + item.id); } }).then(reload(panel, me, canned));
            } }, "Delete"),
          ])),
        ]));
      });
      if (!list.length) rows.appendChild(el("tr", {}, el("td", { colspan: 4, class: "hint", text: "No canned responses yet." })));
      panel.appendChild(el("div", { class: "card-body" }, el("table", { class: "data", "data-testid": "canned-table" }, [
        el("thead", {}, el("tr", {}, ["Shortcut", "Title", "Text", ""].map(function (h) { return el("th", { scope: "col", text: h }); }))), rows,
      ])));
    }, SB.fail);
  }

  SB.admin = Object.assign(SB.admin || {}, { people: people, teams: teams, canned: canned });
})();
