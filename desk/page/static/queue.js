/*
 * Switchboard queue page: starts the page and joins its parts. It opens and closes the
 * conversation picked in the list (drawn by conversation.js), follows deep links
 * (/queue/conversations/12 or /queue#conversation-12) and the browser's back button,
 * says which conversation this agent is viewing and typing in, hands live events to the
 * list, the presence and the open conversation, and binds the keyboard shortcuts.
 * Loaded last of the three queue scripts, after queue_directory.js (agents, presence,
 * lookups) and queue_list.js (the list); they share state through SB.queue.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var Q = (SB.queue = SB.queue || {});
  var HEARTBEAT_MS = 10000;
  var VIEWING_MS = 15000;

  var view = null; // the ConversationView
  var live = null;
  var alerted = {};

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
    Q.renderList();
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

  function onControl(frame) {
    if (frame.type === "hello" || frame.type === "online") Q.setOnline(frame.online);
    if (frame.type === "viewers" && view.isOpen(frame.conversation_id)) view.setViewers(frame.viewers);
    if (frame.type === "error" && frame.error === "not_authenticated") SB.toLogin();
  }

  function onEvent(event) {
    var data = event.data || {};
    if (event.control) { onControl(data); return; }
    if (event.type === "presence") {
      Q.onPresence(data);
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
      Q.scheduleReload();
    }
    if (!view) return;
    var shown = view.handleEvent(event);
    if (event.type === "message" && view.isOpen(event.conversation_id) && shown) {
      shown.then(function () { markRead(event.conversation_id); });
    }
  }

  // --- keyboard ------------------------------------------------------------------------------

  function shortcuts() {
    var group = "Queue";
    SB.shortcut("j", "Next conversation in the list", function () { Q.moveCursor(1); }, group);
    SB.shortcut("k", "Previous conversation in the list", function () { Q.moveCursor(-1); }, group);
    SB.shortcut("Enter", "Open the selected conversation", function () {
      var row = Q.selectedRow();
      if (!row) return false;
      openConversation(row.id, true);
    }, group);
    SB.shortcut("o", null, function () {
      var row = Q.selectedRow();
      if (row) openConversation(row.id, true);
    }, group);
    SB.shortcut("/", "Search", function () { SB.$("#search").focus(); SB.$("#search").select(); }, group);
    Object.keys(Q.VIEWS).forEach(function (name, index) {
      SB.shortcut(String(index + 1), "Show " + Q.VIEWS[name], function () { Q.selectView(name); }, group);
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
    Q.bindList();
    window.addEventListener("popstate", function () {
      var id = conversationFromUrl();
      if (id === null) { if (view.isOpen()) view.close(); } else openConversation(id, false);
    });
    window.addEventListener("hashchange", function () {
      var id = conversationFromUrl();
      if (id !== null) openConversation(id, false);
    });
  }

  Q.openConversation = openConversation;

  SB.boot({ active: "queue", live: true, notifications: true }, function (agent, shellParts) {
    Q.me = agent;
    var parts = (Q.parts = shellParts);
    SB.notify.bind(parts.bell);
    window.__switchboardBooted = (window.__switchboardBooted || 0) + 1;
    view = Q.view = new SB.ConversationView({
      root: SB.$("#conversation"), details: SB.$("#details"), agent: agent, directory: Q.directory,
      onChanged: Q.scheduleReload, onClose: closed,
    });
    live = Q.live = new SB.Live({
      onEvent: onEvent,
      onStatus: function (state, transport) { SB.setLiveStatus(parts.status, state, transport); },
      onResync: function () { Q.loadList(); if (view.isOpen()) view.refresh(false); Q.heartbeat(); },
    });
    live.onOpen = function () { if (view.isOpen()) sendViewing(view.id); };
    bindControls();
    shortcuts();
    Q.showSavedView();
    Q.loadLookups().then(function () {
      Q.renderList();
      var id = conversationFromUrl();
      if (id !== null) openConversation(id, false);
    });
    live.start();
    Q.heartbeat();
    setInterval(Q.heartbeat, HEARTBEAT_MS);
    setInterval(function () { if (view.isOpen()) sendViewing(view.id); }, VIEWING_MS);
    setInterval(function () { document.querySelectorAll(".when").forEach(Q.updateWhen); }, 1000);
  });
})();
