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
 *
 * The script is served as one file joined from the parts in messaging/webchat/static/
 * widget/ (this is start.js), in the order messaging/webchat/widget_script.py names
 * them. They are fragments of the one function below, which start.js opens and
 * actions.js closes, so everything stays private to it exactly as in a single file.
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
