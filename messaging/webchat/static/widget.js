/*
 * Switchboard web chat widget. Embed with one tag:
 *
 *   <script src="https://GATEWAY/widget.js" data-key="WIDGET_KEY" async></script>
 *
 * Optional attributes: data-open="true" opens the panel on load (except on a narrow screen,
 * where the open panel would cover the page: there the launcher waits for a tap);
 * data-accent="#0f766e" sets the accent colour. A new visitor is greeted with up to three
 * questions from the organization's knowledge base; a tap sends one. Messages show their
 * time, the full date and time on hover. The widget talks JSON frames over a WebSocket to the gateway
 * that served this script, keeps the visitor's token in localStorage (so a reload restores
 * the conversation), resends unacknowledged messages with the same id after a reconnect,
 * and raises `switchboard:handoff`, `switchboard:agent-joined` and `switchboard:resolved`
 * as CustomEvents on both `window` and `document`.
 */
(function () {
  "use strict";

  var script =
    document.currentScript ||
    document.querySelector('script[src*="widget.js"][data-key]');
  if (!script) return;
  var KEY = script.getAttribute("data-key") || "";
  var registry = (window.__switchboardWidgets = window.__switchboardWidgets || {});
  if (!KEY || registry[KEY]) return;
  registry[KEY] = true;

  var SOURCE = new URL(script.src, location.href);
  var SOCKET_URL =
    (SOURCE.protocol === "https:" ? "wss://" : "ws://") +
    SOURCE.host +
    SOURCE.pathname.replace(/widget\.js$/, "widget/ws") +
    "?key=" + encodeURIComponent(KEY);
  var TOKEN_KEY = "switchboard:" + KEY + ":token";
  var OUTBOX_KEY = "switchboard:" + KEY + ":outbox";
  var HUMAN = { assigned: true, manual: true };
  var FATAL = { 4403: "origin_not_allowed", 4404: "unknown_widget_key", 4429: "too_many_new_visitors" };
  var TYPING_HIDE_MS = 8000;
  var PING_MS = 25000;
  var NARROW = "(max-width: 480px)";

  var ERRORS = {
    message_too_long: function (f) {
      return "That message is too long. Please keep it under " + maxChars + " characters.";
    },
    rate_limited: "You're sending messages very quickly. Please wait a moment and try again.",
    empty_message: "Please type a message first.",
    origin_not_allowed: "Chat isn't available on this website.",
    unknown_widget_key: "This chat isn't set up correctly (the widget key is unknown).",
    too_many_new_visitors: "Too many new chats were started from your network. Please try again later.",
    bad_token: "We couldn't restore your previous chat, so we started a new one.",
    expired_token: "Your previous chat has expired, so we started a new one.",
    frame_too_large: "That message is too large to send.",
    server_error: "Something went wrong on our side. Please try again.",
  };

  // --- storage (may be blocked: then the chat simply doesn't survive a reload) ---------

  function load(name, fallback) {
    try {
      var value = localStorage.getItem(name);
      return value === null ? fallback : JSON.parse(value);
    } catch (e) {
      return fallback;
    }
  }
  function store(name, value) {
    try {
      if (value === null) localStorage.removeItem(name);
      else localStorage.setItem(name, JSON.stringify(value));
    } catch (e) {
      /* storage unavailable */
    }
  }

  function newId() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // --- DOM ----------------------------------------------------------------------------

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    "[hidden]{display:none!important}",
    ".root{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;flex-direction:column;align-items:flex-end;gap:12px;--accent:" + (script.getAttribute("data-accent") || "#2155d6") + "}",
    ".launcher{position:relative;width:56px;height:56px;border-radius:50%;border:0;background:var(--accent);color:#fff;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);display:grid;place-items:center}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".launcher svg{width:26px;height:26px}",
    ".unread{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;line-height:20px;font-weight:700}",
    ".panel{width:min(380px,calc(100vw - 24px));height:min(560px,calc(100vh - 110px));background:#fff;color:#1f2937;border-radius:16px;box-shadow:0 12px 40px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden;font-size:14px}",
    ".head{background:var(--accent);color:#fff;padding:12px 14px;display:flex;align-items:center;justify-content:space-between;gap:8px}",
    ".title{font-weight:700;font-size:15px;margin:0}",
    ".status{font-size:12px;opacity:.92;margin-top:2px}",
    ".close{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:4px 8px;border-radius:8px}",
    ".messages{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px;background:#f7f8fa}",
    ".msg{max-width:82%;padding:8px 11px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word;line-height:1.4}",
    ".msg .who{display:block;font-size:11px;font-weight:700;margin-bottom:2px;opacity:.75}",
    ".msg[data-author=customer]{align-self:flex-end;background:var(--accent);color:#fff;border-bottom-right-radius:4px}",
    ".msg[data-author=ai]{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}",
    ".msg[data-author=agent]{align-self:flex-start;background:#ecfdf5;border:1px solid #a7f3d0;border-bottom-left-radius:4px}",
    ".msg[data-author=system]{align-self:center;max-width:92%;background:#fff7ed;border:1px dashed #fdba74;color:#7c2d12;font-size:12.5px;text-align:center;border-radius:10px}",
    ".msg.pending{opacity:.65}",
    ".msg.failed{background:#fee2e2;color:#7f1d1d}",
    ".msg .state{display:block;font-size:11px;margin-top:3px;opacity:.85}",
    ".msg .retry{background:none;border:0;color:inherit;text-decoration:underline;cursor:pointer;font-size:11px;padding:0;margin-left:6px}",
    ".typing{padding:4px 14px 0;font-size:12px;color:#6b7280;font-style:italic;background:#f7f8fa}",
    ".error{margin:0;padding:8px 14px;background:#fef2f2;color:#991b1b;font-size:13px;border-top:1px solid #fecaca}",
    "form{display:flex;gap:8px;align-items:flex-end;padding:10px;border-top:1px solid #e5e7eb;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:10px;padding:8px 10px;font-size:14px;max-height:110px;min-height:38px;line-height:1.4;color:#111827}",
    ".send{border:0;border-radius:10px;background:var(--accent);color:#fff;font-weight:600;padding:0 14px;height:38px;cursor:pointer}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".counter{font-size:11px;color:#6b7280;padding:0 12px 6px;text-align:right;background:#fff}",
    ".counter.over{color:#b91c1c;font-weight:700}",
    ".msg time{display:block;font-size:10.5px;margin-top:3px;opacity:.75}",
    ".greeting{align-self:stretch;display:grid;gap:6px}",
    ".greeting p{margin:0;padding:8px 11px;background:#fff;border:1px solid #e5e7eb;border-radius:14px;border-bottom-left-radius:4px;max-width:82%}",
    ".suggestion{justify-self:end;text-align:left;border:1px solid var(--accent);color:var(--accent);background:#fff;border-radius:14px;padding:6px 11px;font-size:13.5px;cursor:pointer;max-width:82%}",
    ".suggestion:hover{background:#f1f5ff}",
    "@media " + NARROW + "{.root{right:12px;bottom:12px}.panel{position:fixed;inset:0;width:100vw;height:100vh;height:100dvh;border-radius:0}.root.open .launcher{display:none}}",
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el("div", { id: "switchboard-widget", "data-widget-key": KEY });
  var shadow = host.attachShadow({ mode: "open" });
  var style = el("style", {}, CSS);
  var root = el("div", { class: "root" });
  var panel = el("section", {
    class: "panel", role: "dialog", "aria-labelledby": "sb-title", "data-testid": "panel", hidden: "",
  });
  var head = el("div", { class: "head" });
  var titles = el("div");
  var title = el("h2", { class: "title", id: "sb-title" }, "Chat with us");
  var statusLine = el("div", { class: "status", "data-testid": "status", "aria-live": "polite" }, "Connecting…");
  var closeButton = el("button", { class: "close", type: "button", "aria-label": "Close chat" }, "×");
  var messages = el("div", {
    class: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages", "data-testid": "messages", tabindex: "0",
  });
  var typing = el("div", { class: "typing", "data-testid": "typing", "aria-live": "polite", hidden: "" });
  var errorBox = el("p", { class: "error", role: "alert", "data-testid": "error", hidden: "" });
  var counter = el("div", { class: "counter", "data-testid": "counter", "aria-live": "polite", hidden: "" });
  var form = el("form", { "aria-label": "Send a message" });
  var input = el("textarea", {
    rows: "1", placeholder: "Type your message…", "aria-label": "Your message", "data-testid": "input",
  });
  var sendButton = el("button", { class: "send", type: "submit", "data-testid": "send", disabled: "" }, "Send");
  var launcher = el("button", {
    class: "launcher", type: "button", "aria-label": "Open chat", "aria-expanded": "false", "data-testid": "launcher",
  });
  launcher.innerHTML =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">' +
    '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>';
  var unread = el("span", { class: "unread", "data-testid": "unread", hidden: "" });
  launcher.appendChild(unread);

  titles.append(title, statusLine);
  head.append(titles, closeButton);
  form.append(input, sendButton);
  panel.append(head, messages, typing, errorBox, counter, form);
  root.append(panel, launcher);
  shadow.append(style, root);

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

  // --- rendering ------------------------------------------------------------------------

  function renderStatus() {
    var words;
    if (fatal) words = "Chat unavailable";
    else if (!welcomed) words = everWelcomed ? "Reconnecting…" : "Connecting…";
    else if (convState === "queued") words = "Waiting for a person…";
    else if (HUMAN[convState]) words = (agentName || "A person from our team") + " is helping you";
    else if (convState === "resolved") words = "Conversation resolved. Write again any time.";
    else words = "You're chatting with our assistant";
    statusLine.textContent = words;
    statusLine.setAttribute("data-state", welcomed ? convState : "offline");
    updateSend();
  }

  function authorLabel(author, name) {
    if (author === "ai") return "Assistant";
    if (author === "agent") return name || "Agent";
    return null;
  }

  /* The time a message was written: hours and minutes today, with the date before that;
     the full date and time on hover. A live message is stamped when it arrives. */
  function stamp(iso) {
    var when = iso ? new Date(iso) : new Date();
    if (isNaN(when.getTime())) when = new Date();
    var today = when.toDateString() === new Date().toDateString();
    var clock = { hour: "2-digit", minute: "2-digit" };
    var shown = today ? when.toLocaleTimeString([], clock)
      : when.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    var node = el("time", { datetime: when.toISOString(), title: when.toLocaleString([], { dateStyle: "full", timeStyle: "short" }), "data-testid": "time" }, shown);
    return node;
  }

  function bubble(author, name, text, notice, at) {
    var item = el("div", { class: "msg", "data-testid": "message", "data-author": author });
    var label = authorLabel(author, name);
    if (label && author !== "customer") item.appendChild(el("span", { class: "who" }, label));
    if (notice) item.setAttribute("data-notice", notice);
    item.appendChild(el("span", { class: "text" }, text || ""));
    item.appendChild(stamp(at));
    return item;
  }

  /* The greeting a new visitor sees, with the suggested questions as buttons. */
  function greet(suggestions) {
    var box = el("div", { class: "greeting", "data-testid": "greeting" });
    box.appendChild(el("p", {}, suggestions.length
      ? "Hi! Ask us anything, or pick a question:"
      : "Hi! How can we help you today?"));
    suggestions.slice(0, 3).forEach(function (question) {
      var button = el("button", { class: "suggestion", type: "button", "data-testid": "suggestion" }, question);
      button.addEventListener("click", function () {
        input.value = question;
        send();
      });
      box.appendChild(button);
    });
    messages.appendChild(box);
  }

  function dropSuggestions() {
    Array.prototype.forEach.call(messages.querySelectorAll(".suggestion"), function (b) { b.remove(); });
  }

  function scrollDown() {
    messages.scrollTop = messages.scrollHeight;
  }

  function addMessage(frame) {
    var id = frame.message_id == null ? null : String(frame.message_id);
    if (id !== null && rendered[id]) return false;
    var item = bubble(frame.author, frame.author_name, frame.text, frame.notice, frame.created_at);
    if (id !== null) {
      item.setAttribute("data-message-id", id);
      rendered[id] = item;
    }
    messages.appendChild(item);
    scrollDown();
    return true;
  }

  function markSent(clientId, messageId) {
    var item = pending[clientId];
    delete pending[clientId];
    outbox = outbox.filter(function (m) { return m.id !== clientId; });
    store(OUTBOX_KEY, outbox);
    if (!item) return;
    var id = String(messageId);
    if (rendered[id] && rendered[id] !== item) {
      item.remove(); // already shown (another tab, or the live copy came first)
      return;
    }
    item.classList.remove("pending");
    item.setAttribute("data-message-id", id);
    var note = item.querySelector(".state");
    if (note) note.remove();
    rendered[id] = item;
  }

  function markFailed(clientId) {
    var item = pending[clientId];
    var message = outbox.filter(function (m) { return m.id === clientId; })[0];
    outbox = outbox.filter(function (m) { return m.id !== clientId; });
    store(OUTBOX_KEY, outbox);
    if (!item) return;
    item.classList.remove("pending");
    item.classList.add("failed");
    var note = item.querySelector(".state") || item.appendChild(el("span", { class: "state" }));
    note.textContent = "Not sent.";
    if (message) {
      var retry = el("button", { class: "retry", type: "button", "data-testid": "retry" }, "Retry");
      retry.addEventListener("click", function () {
        item.classList.remove("failed");
        item.classList.add("pending");
        note.textContent = "Sending…";
        outbox.push(message);
        store(OUTBOX_KEY, outbox);
        transmit(message);
      });
      note.appendChild(retry);
    }
  }

  function addPending(message) {
    dropSuggestions();
    var item = bubble("customer", null, message.text, null, null);
    item.classList.add("pending");
    item.setAttribute("data-client-id", message.id);
    item.appendChild(el("span", { class: "state" }, "Sending…"));
    pending[message.id] = item;
    messages.appendChild(item);
    scrollDown();
  }

  function showTyping(author, name) {
    typing.textContent = (author === "ai" ? "Assistant" : name || agentName || "Agent") + " is typing…";
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_HIDE_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
  }

  function showError(code, frame, persistent) {
    var words = ERRORS[code];
    if (typeof words === "function") words = words(frame);
    errorBox.textContent = words || (frame && frame.message) || "Something went wrong. Please try again.";
    errorBox.setAttribute("data-code", code);
    errorBox.hidden = false;
    clearTimeout(errorTimer);
    if (!persistent) errorTimer = setTimeout(clearError, 8000);
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.removeAttribute("data-code");
  }

  function updateCounter() {
    var length = input.value.length;
    counter.hidden = length < maxChars * 0.8;
    counter.textContent = length + " / " + maxChars;
    counter.classList.toggle("over", length > maxChars);
    input.setAttribute("aria-invalid", length > maxChars ? "true" : "false");
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 110) + "px";
    updateSend();
  }

  function updateSend() {
    sendButton.disabled = fatal || input.value.trim() === "";
  }

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

  // --- user actions ---------------------------------------------------------------------

  function send() {
    var text = input.value;
    if (!text.trim()) return;
    if (text.length > maxChars) {
      showError("message_too_long", null, false);
      return;
    }
    var message = { id: newId(), text: text };
    outbox.push(message);
    store(OUTBOX_KEY, outbox);
    addPending(message);
    input.value = "";
    updateCounter();
    if (welcomed) transmit(message);
    else connect();
  }

  function open(focus) {
    panel.hidden = false;
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close chat");
    unreadCount = 0;
    unread.hidden = true;
    connect();
    scrollDown();
    if (focus !== false) input.focus();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open chat");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open();
    else close();
  });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  input.addEventListener("input", function () {
    updateCounter();
    var now = Date.now();
    if (welcomed && input.value && now - lastTypingSent > 3000) {
      lastTypingSent = now;
      frameOut({ type: "typing" });
    }
  });
  window.addEventListener("online", function () {
    if (!socket && !fatal && everWelcomed) connect();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !socket && !fatal && everWelcomed) connect();
  });

  function mount() {
    document.body.appendChild(host);
    // A returning visitor (or one with unsent messages) reconnects at once; a new one
    // connects when they open the chat.
    var narrow = window.matchMedia && window.matchMedia(NARROW).matches;
    if (script.getAttribute("data-open") === "true" && !narrow) open(false);
    else if (token || outbox.length) connect();
    renderStatus();
  }

  window.Switchboard = { open: open, close: close };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
