/*
 * Switchboard queue page: who and what the page knows about. The agents (their names for
 * the list and the open conversation, through `directory`), who is online (the presence
 * avatars in the top bar, kept current by live presence events and a heartbeat), and the
 * teams, labels and canned responses the filters and the composer offer. The page's
 * scripts share their state through SB.queue; this one is loaded first, then
 * queue_list.js (the list of conversations) and queue.js (which starts the page).
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var Q = (SB.queue = SB.queue || {});
  var el = SB.el;
  var people = {}; // id -> agent
  var online = {};
  var lookups = { labels: [], teams: [], canned: [] };

  var directory = {
    agentName: function (id) {
      if (id === null || id === undefined) return "nobody";
      if (Q.me && id === Q.me.id) return Q.me.name;
      return people[id] ? people[id].name : "Agent #" + id;
    },
    agents: function () {
      return Object.keys(people).map(function (id) {
        return Object.assign({ online: !!online[id] }, people[id]);
      }).sort(function (a, b) { return a.name.localeCompare(b.name); });
    },
    remember: function (id, name) {
      if (!people[id]) people[id] = { id: id, name: name, role: "agent" };
    },
    labels: function () { return lookups.labels; },
    teams: function () { return lookups.teams; },
    canned: function () { return lookups.canned; },
  };

  // --- presence ----------------------------------------------------------------------------

  function setOnline(ids) {
    online = {};
    (ids || []).forEach(function (entry) {
      var id = typeof entry === "object" ? entry.agent_id || entry.id : entry;
      online[id] = true;
    });
    renderPresence();
  }

  /* A live `presence` event: one agent came online or left. */
  function onPresence(data) {
    if (data.agent_id !== undefined) {
      if (data.online === false) delete online[data.agent_id];
      else online[data.agent_id] = true;
      if (data.name && !people[data.agent_id]) people[data.agent_id] = { id: data.agent_id, name: data.name, role: "agent" };
      renderPresence();
    }
  }

  function renderPresence() {
    var parts = Q.parts || {};
    if (!parts.presence) return;
    var me = Q.me;
    var node = SB.clear(parts.presence);
    var ids = Object.keys(online).map(Number);
    ids.sort(function (a, b) { return (a === me.id ? -1 : 0) - (b === me.id ? -1 : 0) || a - b; });
    ids.slice(0, 6).forEach(function (id) {
      var avatar = SB.avatar(directory.agentName(id), id, "online");
      avatar.setAttribute("data-agent-id", id);
      node.appendChild(avatar);
    });
    node.setAttribute("data-online", ids.slice().sort(function (a, b) { return a - b; }).join(","));
    node.setAttribute("aria-label", "Online: " + ids.map(directory.agentName).join(", "));
    parts.presenceCount.textContent = ids.length + " online";
  }

  /* Over the socket the answer comes back as an `online` frame. */
  function heartbeat() {
    if (Q.live && Q.live.send({ type: "heartbeat" })) return;
    SB.data.presence(true).then(function (body) { setOnline(body.online); }, function () { /* the next beat tries again */ });
  }

  // --- lookups -------------------------------------------------------------------------------

  function loadLookups() {
    people[Q.me.id] = Q.me;
    var quiet = function () { return null; };
    return Promise.all([
      SB.data.agents().catch(quiet), SB.data.teams().catch(quiet), SB.data.labels().catch(quiet), SB.data.canned().catch(quiet),
    ]).then(function (answers) {
      ((answers[0] && (answers[0].agents || answers[0])) || []).forEach(function (agent) { people[agent.id] = agent; });
      lookups.teams = (answers[1] && (answers[1].teams || answers[1])) || [];
      lookups.labels = ((answers[2] && (answers[2].labels || answers[2])) || []).map(function (l) { return typeof l === "string" ? l : l.label || l.name; });
      lookups.canned = (answers[3] && (answers[3].canned_responses || answers[3].responses || answers[3])) || [];
      fillSelect(SB.$("#filter-team"), "All teams", lookups.teams.map(function (t) { return { value: t.id, label: t.name }; }));
      fillSelect(SB.$("#filter-label"), "All labels", lookups.labels.map(function (l) { return { value: l, label: l }; }));
    });
  }

  function fillSelect(select, first, options) {
    var current = select.value;
    SB.clear(select);
    select.appendChild(el("option", { value: "" }, first));
    options.forEach(function (o) { select.appendChild(el("option", { value: o.value }, o.label)); });
    select.value = current;
  }

  Q.directory = directory;
  Q.setOnline = setOnline;
  Q.onPresence = onPresence;
  Q.heartbeat = heartbeat;
  Q.loadLookups = loadLookups;
  Q.fillSelect = fillSelect;
})();
