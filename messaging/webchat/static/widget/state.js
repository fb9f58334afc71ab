  /*
   * Web chat widget, part 3 of 6 (state.js): the conversation's state as this page knows it
   * (token, unsent messages, connection, the conversation's state and agent), and the page
   * events it raises: `switchboard:handoff`, `switchboard:agent-joined` and
   * `switchboard:resolved`, each once per episode.
   */

  // --- state --------------------------------------------------------------------------

  var token = load(TOKEN_KEY, null);
  var outbox = load(OUTBOX_KEY, []); // [{id, text}] not yet acknowledged
  var pending = {}; // client id -> element
  var rendered = {}; // message id -> element
  var socket = null;
  var welcomed = false;
  var everWelcomed = false;
  var fatal = false;
  var attempts = 0;
  var reconnectTimer = null;
  var pingTimer = null;
  var typingTimer = null;
  var errorTimer = null;
  var lastTypingSent = 0;
  var maxChars = 2000;
  var convState = "ai";
  var agentName = null;
  var joinedFor = null; // the agent the agent-joined event was raised for, in this human episode
  var unreadCount = 0;

  // --- page events ----------------------------------------------------------------------

  function emit(name, detail) {
    detail = Object.assign({ widgetKey: KEY }, detail);
    [window, document].forEach(function (target) {
      target.dispatchEvent(new CustomEvent("switchboard:" + name, { detail: detail }));
    });
  }

  function applyState(next, agent, live) {
    var previous = convState;
    convState = next;
    agentName = HUMAN[next] ? agent || agentName : null;
    renderStatus();
    if (!live) {
      joinedFor = HUMAN[next] ? agentName || "?" : null;
      return;
    }
    if (next === "queued" && previous !== "queued") emit("handoff", { state: next, previous: previous });
    if (HUMAN[next]) {
      if (joinedFor === null || (agent && joinedFor !== "?" && joinedFor !== agent)) {
        joinedFor = agent || "?";
        emit("agent-joined", { agent: agent || null, state: next, previous: previous });
      }
    } else {
      joinedFor = null;
    }
    if (next !== previous && (next === "resolved" || (next === "ai" && HUMAN[previous]))) {
      emit("resolved", { state: next, previous: previous, agent: null });
    }
  }

  function onNotice(kind, text) {
    if (kind === "agent_joined" && joinedFor === null) {
      var match = /^(.+) joined the conversation/.exec(text || "");
      var agent = agentName || (match ? match[1] : null);
      agentName = agent;
      joinedFor = agent || "?";
      emit("agent-joined", { agent: agent, state: convState, previous: convState });
    }
  }
