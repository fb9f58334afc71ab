/*
 * Switchboard queue page: the views (Waiting, Mine, AI active, Manual review, Resolved,
 * Needs attention, All) with their counts, filters and pages; a search that looks in
 * every view and says on each hit which view it sits in; live updates (never a reload); presence;
 * the page title with the waiting count; deep links (/queue/conversations/12 or
 * /queue#conversation-12); and the keyboard shortcuts. The open conversation itself is
 * drawn by conversation.js.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var VIEW_KEY = "switchboard:view";
  var VIEWS = {
    waiting: "Waiting", mine: "Mine", ai: "AI active", manual: "Manual review", resolved: "Resolved",
    needs_attention: "Needs attention", all: "All",
  };
  var HEARTBEAT_MS = 10000;
  var VIEWING_MS = 15000;

  var me = null;
  var view = null; // the ConversationView
  var live = null;
  var parts = {};
  var people = {}; // id -> agent
  var online = {};
  var lookups = { labels: [], teams: [], canned: [] };
  var list = { view: "waiting", channel: "", team: "", label: "", q: "", cursors: [null], page: 0, next: null, items: [] };
  var counts = {};
  var cursor = -1; // keyboard position in the list
  var reloadTimer = null;
  var loadingList = null;
  var alerted = {};

  var directory = {
    agentName: function (id) {
      if (id === null || id === undefined) return "nobody";
      if (me && id === me.id) return me.name;
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

  // --- list ------------------------------------------------------------------------------------

  function customerName(row) {
    var customer = row.customer || {};
    return SB.customerName(customer.name, customer.address, customer.address_kind, customer.page);
  }

  function timing(row) {
    if (list.view === "waiting" || row.state === "queued") {
      return { since: row.waiting_since || row.updated_at, label: "waiting" };
    }
    if (row.state === "manual" && row.ai_paused_until) {
      return { until: row.ai_paused_until, label: "until the AI resumes" };
    }
    return { at: row.last_activity_at || row.updated_at };
  }

  /* Lists say times relative to now ("3 min ago", "14 min left"); the full timestamp is
     on hover. Waiting and review times tick every second (see the interval at the end). */
  function whenNode(row) {
    var t = timing(row);
    var node = el("span", { class: "when", "data-testid": "conversation-time" });
    if (t.since) { node.setAttribute("data-since", t.since); node.title = "Waiting since " + SB.words.full(t.since); }
    else if (t.until) { node.setAttribute("data-until", t.until); node.title = "The AI resumes at " + SB.words.full(t.until); }
    else { node.setAttribute("data-at", t.at); node.title = SB.words.full(t.at); }
    updateWhen(node);
    return node;
  }

  function updateWhen(node) {
    var since = node.getAttribute("data-since");
    var until = node.getAttribute("data-until");
    var at = node.getAttribute("data-at");
    if (since) {
      node.textContent = SB.words.ago(since);
      node.classList.toggle("late", SB.time.secondsSince(since) > 300);
    } else if (until) {
      node.textContent = SB.words.left(SB.time.secondsUntil(until), "the AI resumes now");
    } else if (at) {
      node.textContent = SB.words.ago(at);
    }
  }

  function rowNode(row, index) {
    var mixed = !!list.q || list.view === "all" || list.view === "needs_attention";
    var reason = SB.words.sentence(row.handoff_reason || "");
    var summaryLine = row.summary_line || SB.firstLine(row.summary) || (row.last_message ? SB.firstLine(row.last_message.preview) : "");
    var assignee = row.assignee ? row.assignee.name || directory.agentName(row.assignee.id) : row.assigned_agent_id ? directory.agentName(row.assigned_agent_id) : null;
    var link = el("a", {
      href: "/queue/conversations/" + row.id,
      "aria-current": view && view.isOpen(row.id) ? "true" : null,
      onclick: function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1) return;
        event.preventDefault();
        cursor = index;
        openConversation(row.id, true);
      },
    }, [
      el("span", { class: "channel-icon", "data-channel": row.channel, title: SB.channelName(row.channel), "aria-label": SB.channelName(row.channel) }, SB.channelShort(row.channel)),
      el("span", { class: "customer", "data-testid": "conversation-customer-name", text: customerName(row) }),
      whenNode(row),
      reason && (list.view === "waiting" || row.state === "queued") ? el("span", { class: "reason", "data-testid": "conversation-reason", text: reason }) : null,
      summaryLine ? el("span", { class: "summary", "data-testid": "conversation-summary", text: summaryLine }) : null,
      el("span", { class: "meta" }, [
        mixed ? whereNode(row, assignee) : null,
        !mixed && (list.view === "mine" || list.view === "resolved") ? el("span", { class: "chip state-" + row.state, text: SB.stateName(row.state) }) : null,
        assignee && list.view !== "mine" && row.state !== "ai" && !(mixed && row.view === "assigned") ? el("span", { class: "chip", text: assignee }) : null,
        row.team ? el("span", { class: "chip", text: row.team.name }) : null,
        row.label ? el("span", { class: "chip label", text: row.label }) : null,
        row.unread && !seenHere(row) ? el("span", { class: "chip state-assigned", "data-testid": "unread", text: "new" }) : null,
        row.needs_attention ? el("span", { class: "chip attention", "data-testid": "attention-chip", text: "Needs attention" }) : null,
      ]),
    ]);
    return el("li", {
      class: "conv-item" + (index === cursor ? " keyboard" : ""),
      "data-conversation-id": row.id,
      "data-state": row.state,
      "data-testid": "conversation-item",
    }, link);
  }

  /* The open conversation's newest message is on screen, so it is read, whatever a list
     fetched before the read mark reached the server says. */
  function seenHere(row) {
    return !!(view && view.isOpen(row.id) && row.last_message && view.lastMessageId >= row.last_message.id);
  }

  function renderList() {
    var node = SB.clear(SB.$("#conv-list"));
    SB.$("#list-title").textContent = list.q ? "“" + list.q + "” in all views" : VIEWS[list.view];
    if (!list.items.length) {
      node.appendChild(el("li", { class: "empty", "data-testid": "list-empty", text: list.q ? "No conversation in any view matches your search." : emptyText() }));
    }
    list.items.forEach(function (row, index) { node.appendChild(rowNode(row, index)); });
    var total = list.q ? undefined : counts[list.view];
    SB.$("#list-total").textContent = total === undefined ? "" : SB.words.count(total, "conversation");
    var pages = total === undefined ? null : Math.max(1, Math.ceil(total / SB.data.PAGE_SIZE));
    SB.$("#page-info").textContent = "Page " + (list.page + 1) + (pages ? " of " + pages : "");
    SB.$("#page-prev").disabled = list.page <= 0;
    SB.$("#page-next").disabled = !list.next;
  }

  function emptyText() {
    return {
      waiting: "Nobody is waiting. New handoffs appear here at once.",
      mine: "You own no conversation right now.",
      ai: "The AI is handling no conversation right now.",
      manual: "No conversation is under manual review.",
      resolved: "No resolved conversation yet.",
      needs_attention: "Nothing needs attention. A conversation flagged for a person shows here, whoever owns it.",
      all: "No conversation yet.",
    }[list.view];
  }

  function renderCounts() {
    Object.keys(VIEWS).forEach(function (name) {
      var badge = document.querySelector('[data-count="' + name + '"]');
      var value = counts[name] || 0;
      badge.textContent = value > 9999 ? Math.round(value / 1000) + "k" : String(value);
      badge.classList.toggle("hot", (name === "waiting" || name === "needs_attention") && value > 0);
      badge.setAttribute("aria-label", SB.words.count(value, "conversation"));
    });
    var waiting = counts.waiting || 0;
    document.title = (waiting ? "(" + waiting + ") " : "") + "Queue · Switchboard";
  }

  /* A search looks in every view, whichever is selected: the hit may sit elsewhere. */
  function filters() {
    return {
      view: list.q ? "all" : list.view, channel: list.channel, team: list.team, label: list.label, q: list.q,
      cursor: list.cursors[list.page],
    };
  }

  /* Where a row sits, said on a search hit and in the All and Needs attention views. */
  function whereNode(row, assignee) {
    var where = row.view === "assigned" ? "Assigned to " + (assignee || "someone else") : "In " + (VIEWS[row.view] || SB.stateName(row.state));
    return el("span", { class: "chip where", "data-testid": "conversation-view", "data-view": row.view, text: where });
  }

  function firstPage() {
    list.cursors = [null];
    list.page = 0;
    cursor = -1;
  }

  function loadList() {
    if (loadingList) { loadingList.again = true; return loadingList.promise; }
    var token = { again: false };
    loadingList = token;
    var params = filters();
    token.promise = Promise.all([SB.data.queue(params), SB.data.counts(params)]).then(function (answers) {
      var page = answers[0];
      list.items = page.items || [];
      list.next = page.next_cursor || null;
      if (!list.items.length && list.page > 0) { firstPage(); token.again = true; }
      counts = answers[1].counts || answers[1];
      if (cursor >= list.items.length) cursor = list.items.length - 1;
      renderList();
      renderCounts();
    }, SB.fail).then(function () {
      loadingList = null;
      if (token.again) return loadList();
    });
    return token.promise;
  }

  /* Live events arrive in bursts: one reload per burst, quickly. */
  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(loadList, 80);
  }

  function selectView(name, focus) {
    if (!VIEWS[name]) return;
    list.view = name;
    firstPage();
    try { localStorage.setItem(VIEW_KEY, name); } catch (e) { /* ignore */ }
    document.querySelectorAll("#views [role=tab]").forEach(function (tab) {
      var selected = tab.getAttribute("data-view") === name;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected && focus) tab.focus();
    });
    loadList();
  }

  // --- conversation ----------------------------------------------------------------------------

  function conversationFromUrl() {
    var path = /^\/queue\/conversations\/(\d+)\/?$/.exec(location.pathname);
    if (path) return Number(path[1]);
    var hash = /^#conversation-(\d+)$/.exec(location.hash);
    return hash ? Number(hash[1]) : null;
  }

  function openConversation(id, push) {
    if (push && location.pathname !== "/queue/conversations/" + id) {
      history.pushState({ conversation: id }, "", "/queue/conversations/" + id);
    }
    SB.$("#app").classList.add("has-conversation");
    document.querySelectorAll(".conv-item").forEach(function (item) {
      var a = item.querySelector("a");
      if (a) a.setAttribute("aria-current", String(Number(item.getAttribute("data-conversation-id")) === id));
    });
    sendViewing(id);
    return view.open(id).then(function () { markRead(id); });
  }

  /* Record the read mark and drop the row's "new" chip at once, without a reload. */
  function markRead(id) {
    if (!view.isOpen(id) || !view.lastMessageId) return;
    SB.data.read(id, view.lastMessageId).catch(function () { /* best effort */ });
    renderList();
  }

  /* "Also viewing" needs the socket; over the event stream it is simply not shown. */
  function sendViewing(id) {
    if (id !== null) live.send({ type: "viewing", conversation_id: id });
  }

  SB.sendTyping = function (id) {
    if (live && live.send({ type: "typing", conversation_id: id })) return;
    SB.data.typing(id).catch(function () { /* typing is best effort */ });
  };

  function closed() {
    SB.$("#app").classList.remove("has-conversation");
    if (location.pathname !== "/queue" || location.hash) history.pushState({}, "", "/queue");
    live.send({ type: "viewing", conversation_id: null });
    document.querySelectorAll(".conv-item a[aria-current=true]").forEach(function (a) { a.setAttribute("aria-current", "false"); });
  }

  // --- live --------------------------------------------------------------------------------------

  function setOnline(ids) {
    online = {};
    (ids || []).forEach(function (entry) {
      var id = typeof entry === "object" ? entry.agent_id || entry.id : entry;
      online[id] = true;
    });
    renderPresence();
  }

  function onControl(frame) {
    if (frame.type === "hello" || frame.type === "online") setOnline(frame.online);
    if (frame.type === "viewers" && view.isOpen(frame.conversation_id)) view.setViewers(frame.viewers);
    if (frame.type === "error" && frame.error === "not_authenticated") SB.toLogin();
  }

  function onEvent(event) {
    var data = event.data || {};
    if (event.control) { onControl(data); return; }
    if (event.type === "presence") {
      if (data.agent_id !== undefined) {
        if (data.online === false) delete online[data.agent_id];
        else online[data.agent_id] = true;
        if (data.name && !people[data.agent_id]) people[data.agent_id] = { id: data.agent_id, name: data.name, role: "agent" };
        renderPresence();
      }
      return;
    }
    if (event.type === "state" && data.state === "queued") {
      var key = event.conversation_id + ":" + data.ownership_version;
      if (!alerted[key]) {
        alerted[key] = true; // one alert per handoff, however often it is announced
        SB.notify.waiting(event.conversation_id, data.handoff_reason);
      }
    }
    if (event.type === "state" || event.type === "message" || event.type === "attention" || event.type === "updated") {
      scheduleReload();
    }
    if (!view) return;
    var shown = view.handleEvent(event);
    if (event.type === "message" && view.isOpen(event.conversation_id) && shown) {
      shown.then(function () { markRead(event.conversation_id); });
    }
  }

  function renderPresence() {
    if (!parts.presence) return;
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
    if (live && live.send({ type: "heartbeat" })) return;
    SB.data.presence(true).then(function (body) { setOnline(body.online); }, function () { /* the next beat tries again */ });
  }

  // --- lookups -------------------------------------------------------------------------------

  function loadLookups() {
    people[me.id] = me;
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

  // --- keyboard ------------------------------------------------------------------------------

  function moveCursor(step) {
    if (!list.items.length) return;
    cursor = Math.max(0, Math.min(list.items.length - 1, cursor + step));
    document.querySelectorAll(".conv-item").forEach(function (item, index) {
      item.classList.toggle("keyboard", index === cursor);
      if (index === cursor) item.scrollIntoView({ block: "nearest" });
    });
  }

  function shortcuts() {
    var group = "Queue";
    SB.shortcut("j", "Next conversation in the list", function () { moveCursor(1); }, group);
    SB.shortcut("k", "Previous conversation in the list", function () { moveCursor(-1); }, group);
    SB.shortcut("Enter", "Open the selected conversation", function () {
      if (cursor < 0 || !list.items[cursor]) return false;
      openConversation(list.items[cursor].id, true);
    }, group);
    SB.shortcut("o", null, function () {
      if (cursor >= 0 && list.items[cursor]) openConversation(list.items[cursor].id, true);
    }, group);
    SB.shortcut("/", "Search", function () { SB.$("#search").focus(); SB.$("#search").select(); }, group);
    Object.keys(VIEWS).forEach(function (name, index) {
      SB.shortcut(String(index + 1), "Show " + VIEWS[name], function () { selectView(name); }, group);
    });
    SB.shortcut("Escape", "Close dialog / leave a field", function (event) {
      if (event.target && event.target.blur && event.target !== document.body) { event.target.blur(); return; }
      return false;
    }, group);
    var act = "Conversation";
    SB.ACTIONS.forEach(function (entry) {
      SB.shortcut(entry[2], entry[1], function () { SB.runAction(view, entry[0]); }, act);
    });
    SB.shortcut("r", "Write a reply", function () { if (view.isOpen()) view.composer.focus("reply"); }, act);
    SB.shortcut("n", "Write an internal note", function () { if (view.isOpen()) view.composer.focus("note"); }, act);
    SB.shortcut("Ctrl+k", "Insert a canned response", function () {
      if (!view.isOpen()) return false;
      view.composer.focus();
      view.composer.openCanned("");
    }, act);
    SB.shortcut("Ctrl+Enter", "Send the reply or note", function () {
      if (view.isOpen()) view.composer.submit();
    }, act);
    SB.shortcut("u", "Close the conversation (back to the list)", function () { if (view.isOpen()) view.close(); }, act);
  }

  // --- start -----------------------------------------------------------------------------------

  function bindControls() {
    fillSelect(SB.$("#filter-channel"), "All channels", SB.channelOptions());
    document.querySelectorAll("#views [role=tab]").forEach(function (tab) {
      tab.addEventListener("click", function () { selectView(tab.getAttribute("data-view")); });
      tab.addEventListener("keydown", function (event) {
        var names = Object.keys(VIEWS);
        var index = names.indexOf(list.view);
        if (event.key === "ArrowDown" || event.key === "ArrowRight") { event.preventDefault(); selectView(names[(index + 1) % names.length], true); }
        if (event.key === "ArrowUp" || event.key === "ArrowLeft") { event.preventDefault(); selectView(names[(index + names.length - 1) % names.length], true); }
      });
    });
    [["#filter-channel", "channel"], ["#filter-team", "team"], ["#filter-label", "label"]].forEach(function (pair) {
      SB.$(pair[0]).addEventListener("change", function (event) {
        list[pair[1]] = event.target.value;
        firstPage();
        loadList();
      });
    });
    var searchTimer = null;
    SB.$("#search").addEventListener("input", function (event) {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(function () {
        list.q = event.target.value.trim();
        firstPage();
        loadList();
      }, 250);
    });
    SB.$("#search").addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); cursor = -1; moveCursor(1); event.target.blur(); }
    });
    SB.$("#page-prev").addEventListener("click", function () {
      if (list.page > 0) { list.page -= 1; cursor = -1; loadList(); }
    });
    SB.$("#page-next").addEventListener("click", function () {
      if (!list.next) return;
      list.cursors[list.page + 1] = list.next;
      list.page += 1;
      cursor = -1;
      loadList();
    });
    window.addEventListener("popstate", function () {
      var id = conversationFromUrl();
      if (id === null) { if (view.isOpen()) view.close(); } else openConversation(id, false);
    });
    window.addEventListener("hashchange", function () {
      var id = conversationFromUrl();
      if (id !== null) openConversation(id, false);
    });
  }

  SB.boot({ active: "queue", live: true, notifications: true }, function (agent, shellParts) {
    me = agent;
    parts = shellParts;
    SB.notify.bind(parts.bell);
    window.__switchboardBooted = (window.__switchboardBooted || 0) + 1;
    view = new SB.ConversationView({
      root: SB.$("#conversation"), details: SB.$("#details"), agent: me, directory: directory,
      onChanged: scheduleReload, onClose: closed,
    });
    live = new SB.Live({
      onEvent: onEvent,
      onStatus: function (state, transport) { SB.setLiveStatus(parts.status, state, transport); },
      onResync: function () { loadList(); if (view.isOpen()) view.refresh(false); heartbeat(); },
    });
    live.onOpen = function () { if (view.isOpen()) sendViewing(view.id); };
    try {
      var saved = localStorage.getItem(VIEW_KEY);
      if (VIEWS[saved]) list.view = saved;
    } catch (e) { /* ignore */ }
    bindControls();
    shortcuts();
    selectView(list.view);
    loadLookups().then(function () {
      renderList();
      var id = conversationFromUrl();
      if (id !== null) openConversation(id, false);
    });
    live.start();
    heartbeat();
    setInterval(heartbeat, HEARTBEAT_MS);
    setInterval(function () { if (view.isOpen()) sendViewing(view.id); }, VIEWING_MS);
    setInterval(function () { document.querySelectorAll(".when").forEach(updateWhen); }, 1000);
  });
})();
