  /*
   * Web chat widget, part 5 of 6 (socket.js): the WebSocket to the gateway: hello with the
   * visitor's token, reconnecting with back-off (at once after a token problem, never after
   * a refusal), and the handlers of the frames the gateway sends.
   */

  // --- the socket -----------------------------------------------------------------------

  function frameOut(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function transmit(message) {
    // The page's path (never its query or fragment, which may hold someone's token) lets
    // the team call a nameless visitor "Visitor from /products".
    if (welcomed) frameOut({ type: "message", id: message.id, text: message.text, page: location.pathname });
  }

  function connect() {
    if (fatal || (socket && socket.readyState <= WebSocket.OPEN)) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    socket = new WebSocket(SOCKET_URL);
    socket.onopen = function () {
      frameOut({ type: "hello", token: token });
    };
    socket.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      (handlers[frame.type] || function () {})(frame);
    };
    socket.onclose = function (event) {
      socket = null;
      welcomed = false;
      clearInterval(pingTimer);
      if (FATAL[event.code]) {
        fatal = true;
        showError(FATAL[event.code], null, true);
        input.disabled = true;
      }
      renderStatus();
      if (!fatal) scheduleReconnect(event.code === 4401 ? 0 : null);
    };
  }

  function scheduleReconnect(delay) {
    if (reconnectTimer !== null) return;
    if (delay === null) {
      delay = Math.min(30000, 1000 * Math.pow(2, attempts)) * (0.5 + Math.random() / 2);
      attempts += 1;
    }
    reconnectTimer = setTimeout(function () {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  var handlers = {
    welcome: function (frame) {
      token = frame.token;
      store(TOKEN_KEY, token);
      maxChars = frame.max_message_chars || maxChars;
      if (frame.organization) {
        title.textContent = "Chat with " + frame.organization;
      }
      rendered = {};
      pending = {};
      messages.textContent = "";
      (frame.history || []).forEach(function (entry) {
        addMessage(Object.assign({ message_id: entry.id }, entry));
      });
      if (!(frame.history || []).length && !outbox.length) greet(frame.suggestions || []);
      outbox.forEach(addPending);
      welcomed = true;
      attempts = 0;
      applyState(frame.state || "ai", frame.agent_name, everWelcomed);
      everWelcomed = true;
      if (errorBox.getAttribute("data-code") !== "bad_token" && errorBox.getAttribute("data-code") !== "expired_token") clearError();
      outbox.forEach(transmit);
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { frameOut({ type: "ping" }); }, PING_MS);
      updateCounter();
    },
    ack: function (frame) {
      markSent(frame.id, frame.message_id);
    },
    message: function (frame) {
      if (frame.author === "customer" && rendered[String(frame.message_id)] === undefined) {
        // Our own message, live, before its ack: claim the pending bubble.
        var text = (frame.text || "").trim();
        var match = outbox.filter(function (m) { return m.text.trim() === text && pending[m.id]; })[0];
        if (match) {
          markSent(match.id, frame.message_id);
          return;
        }
      }
      if (!addMessage(frame)) return;
      if (frame.author !== "customer") {
        hideTyping();
        if (panel.hidden) {
          unreadCount += 1;
          unread.textContent = String(unreadCount);
          unread.hidden = false;
        }
      }
      if (frame.notice) onNotice(frame.notice, frame.text);
    },
    state: function (frame) {
      applyState(frame.state, frame.agent_name, true);
    },
    typing: function (frame) {
      showTyping(frame.author, frame.author_name);
    },
    error: function (frame) {
      if (frame.code === "bad_token" || frame.code === "expired_token") {
        token = null;
        store(TOKEN_KEY, null);
      }
      if (frame.id) markFailed(frame.id);
      showError(frame.code, frame, false);
    },
    pong: function () {},
  };
