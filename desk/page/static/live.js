/*
 * Switchboard agents' pages: the live connection, in one place. It opens the agents'
 * WebSocket (/api/live) and falls back to the Server-Sent Events stream (/api/events) when
 * the socket cannot be opened. Either way the page gets the same event objects
 * ({type, conversation_id, data}) and a status ("connecting", "live", "down"), and it
 * reconnects with back-off. The connection is "live" only when the server's `hello` arrives,
 * which it sends once it has subscribed to the organization's events; the page is then told
 * to resynchronise (on the first hello too), since anything before it may have been missed:
 * the lists the page loaded before the connection opened, or events during an outage.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var SSE_TYPES = ["hello", "message", "state", "typing", "presence", "notice", "delivery", "attention", "viewing", "note", "updated"];

  function Live(options) {
    this.onEvent = options.onEvent || function () {};
    this.onStatus = options.onStatus || function () {};
    this.onResync = options.onResync || function () {};
    this.useSocket = options.socket !== false && "WebSocket" in window;
    this.socket = null;
    this.source = null;
    this.attempts = 0;
    this.everOpen = false;
    this.closed = false;
    this.outbox = [];
  }

  Live.prototype.start = function () {
    this.closed = false;
    if (this.useSocket) this._openSocket();
    else this._openStream();
    return this;
  };

  Live.prototype.stop = function () {
    this.closed = true;
    if (this.socket) this.socket.close();
    if (this.source) this.source.close();
    clearTimeout(this.timer);
  };

  /* Send a frame to the server; true when it went over the socket. */
  Live.prototype.send = function (frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  };

  Live.prototype.transport = function () {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return "websocket";
    if (this.source && this.source.readyState === 1) return "sse";
    return null;
  };

  Live.prototype._status = function (state) {
    this.onStatus(state, this.transport());
  };

  /* The server's hello: it is subscribed, so reload what may have changed before. */
  Live.prototype._subscribed = function () {
    this.attempts = 0;
    this._status("live");
    this.onResync();
    if (this.onOpen) this.onOpen();
  };

  Live.prototype._dispatch = function (raw) {
    var event;
    try { event = JSON.parse(raw); } catch (e) { return; }
    if (!event || typeof event.type !== "string" || event.type === "pong") return;
    if (event.type === "hello") this._subscribed();
    // Live events carry their organization; the socket's own answers (hello, online,
    // viewers, error) are passed on whole as their data.
    var own = event.organization_id === undefined;
    this.onEvent({
      type: event.type,
      conversation_id: event.conversation_id == null ? null : Number(event.conversation_id),
      data: own ? event : event.data || {},
      control: own,
    });
  };

  Live.prototype._openSocket = function () {
    var self = this;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live";
    var opened = false;
    this._status("connecting");
    var socket;
    try { socket = new WebSocket(url); } catch (e) { this.useSocket = false; this._openStream(); return; }
    this.socket = socket;
    socket.onopen = function () {
      opened = true;
      self.everOpen = true;
    };
    socket.onmessage = function (message) { self._dispatch(message.data); };
    socket.onclose = function (close) {
      self.socket = null;
      if (self.closed) return;
      if (close.code === 4401 || close.code === 1008) { SB.toLogin(); return; }
      if (!opened && !self.everOpen) {
        // No agents' socket on this gateway: the event stream carries the same events.
        self.useSocket = false;
        self._openStream();
        return;
      }
      self._retry();
    };
  };

  Live.prototype._openStream = function () {
    var self = this;
    this._status("connecting");
    var source = new EventSource("/api/events", { withCredentials: true });
    this.source = source;
    source.onopen = function () { self.everOpen = true; };
    var handler = function (message) { self._dispatch(message.data); };
    source.onmessage = handler;
    SSE_TYPES.forEach(function (type) { source.addEventListener(type, handler); });
    source.onerror = function () {
      if (source.readyState === 2) {
        self.source = null;
        if (!self.closed) self._retry();
      } else {
        self._status("connecting");
      }
    };
  };

  Live.prototype._retry = function () {
    var self = this;
    this._status("down");
    this.attempts += 1;
    var delay = Math.min(15000, 500 * Math.pow(2, Math.min(this.attempts, 5))) * (0.75 + Math.random() / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(function () {
      // Check the session first: an expired login must lead to the login page, not a loop.
      SB.api("GET", "/api/me").then(function () {
        if (self.useSocket) self._openSocket();
        else self._openStream();
      }, function () { self._retry(); });
    }, delay);
  };

  SB.Live = Live;
})();
