/*
 * Switchboard queue page: the list of conversations. The views (Waiting, Mine, AI active,
 * Manual review, Resolved, Needs attention, All) with their counts and the page title's
 * waiting count; the filters and pages; a search that looks in every view and says on
 * each hit which view it sits in; the keyboard position in the list; and the reload that
 * follows live events (never a page reload). Loaded after queue_directory.js, whose
 * names it shows, and before queue.js, which opens what is picked here; they share
 * state through SB.queue.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var Q = (SB.queue = SB.queue || {});
  var el = SB.el;
  var VIEW_KEY = "switchboard:view";
  var VIEWS = {
    waiting: "Waiting", mine: "Mine", ai: "AI active", manual: "Manual review", resolved: "Resolved",
    needs_attention: "Needs attention", all: "All",
  };

  var list = { view: "waiting", channel: "", team: "", label: "", q: "", cursors: [null], page: 0, next: null, items: [] };
  var counts = {};
  var cursor = -1; // keyboard position in the list
  var reloadTimer = null;
  var loadingList = null;

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
     on hover. Waiting and review times tick every second (see the interval in queue.js). */
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
    var assignee = row.assignee ? row.assignee.name || Q.directory.agentName(row.assignee.id) : row.assigned_agent_id ? Q.directory.agentName(row.assigned_agent_id) : null;
    var link = el("a", {
      href: "/queue/conversations/" + row.id,
      "aria-current": Q.view && Q.view.isOpen(row.id) ? "true" : null,
      onclick: function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1) return;
        event.preventDefault();
        cursor = positionOf(row.id);
        Q.openConversation(row.id, true);
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
    var view = Q.view;
    return !!(view && view.isOpen(row.id) && row.last_message && view.lastMessageId >= row.last_message.id);
  }

  function positionOf(id) {
    for (var i = 0; i < list.items.length; i++) if (list.items[i].id === id) return i;
    return -1;
  }

  function renderList() {
    SB.$("#list-title").textContent = list.q ? "“" + list.q + "” in all views" : VIEWS[list.view];
    var rows = list.items.map(rowNode);
    if (!rows.length) {
      rows.push(el("li", { class: "empty", "data-testid": "list-empty", text: list.q ? "No conversation in any view matches your search." : emptyText() }));
    }
    SB.keepSame(SB.$("#conv-list"), rows, function (node) { return node.getAttribute("data-conversation-id"); });
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
      counts = answers[1].counts;
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

  /* The saved view (or Waiting), shown when the page starts. */
  function showSavedView() {
    try {
      var saved = localStorage.getItem(VIEW_KEY);
      if (VIEWS[saved]) list.view = saved;
    } catch (e) { /* ignore */ }
    selectView(list.view);
  }

  // --- keyboard position ---------------------------------------------------------------------

  function moveCursor(step) {
    if (!list.items.length) return;
    cursor = Math.max(0, Math.min(list.items.length - 1, cursor + step));
    document.querySelectorAll(".conv-item").forEach(function (item, index) {
      item.classList.toggle("keyboard", index === cursor);
      if (index === cursor) item.scrollIntoView({ block: "nearest" });
    });
  }

  /* The row at the keyboard position, if any. */
  function selectedRow() {
    return cursor >= 0 ? list.items[cursor] : undefined;
  }

  // --- controls --------------------------------------------------------------------------------

  function bindList() {
    Q.fillSelect(SB.$("#filter-channel"), "All channels", SB.channelOptions());
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
  }

  Q.VIEWS = VIEWS;
  Q.renderList = renderList;
  Q.loadList = loadList;
  Q.scheduleReload = scheduleReload;
  Q.selectView = selectView;
  Q.showSavedView = showSavedView;
  Q.updateWhen = updateWhen;
  Q.moveCursor = moveCursor;
  Q.selectedRow = selectedRow;
  Q.bindList = bindList;
})();
