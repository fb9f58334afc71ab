/*
 * Switchboard agents' pages: shared helpers. `SB.api` calls the JSON API (the session
 * cookie rides along; every write carries the CSRF token from the login answer in
 * X-CSRF-Token); `SB.el` builds DOM nodes, always setting customer text with textContent;
 * `SB.time` holds the agent's time zone (words.js says the times); `SB.toast` shows
 * short messages.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var CSRF_KEY = "switchboard:csrf";

  // --- DOM ------------------------------------------------------------------------------

  /* el("button", {class: "btn", onclick: fn}, ["text", childNode]) */
  SB.el = function (tag, attrs, children) {
    var node = tag.indexOf("svg:") === 0
      ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
      : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name.indexOf("on") === 0 && typeof value === "function") {
        node.addEventListener(name.slice(2), value);
      } else if (name === "text") {
        node.textContent = value;
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    });
    SB.append(node, children);
    return node;
  };

  SB.append = function (node, children) {
    if (children === null || children === undefined) return node;
    (Array.isArray(children) ? children : [children]).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    });
    return node;
  };

  SB.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  /* Whether two elements differ only inside: same tag, same attributes. */
  function sameShell(a, b) {
    return a.nodeType === 1 && a.cloneNode(false).isEqualNode(b.cloneNode(false));
  }

  /* Put `fresh` in `parent` instead of its children, keeping every old child equal to its
     fresh counterpart (the one with the same `keyOf`, else the one at the same place); an
     old child marked `data-patch` that differs only inside keeps itself and has its own
     children kept the same way. A click is a press and a release on one node, and a node
     taken out of the page between the two (even if put back) loses the click: a live
     refresh must leave in place what did not change. Only elements whose handlers depend
     on nothing but their attributes may be marked `data-patch`. */
  SB.keepSame = function (parent, fresh, keyOf) {
    var old = Array.prototype.slice.call(parent.childNodes);
    var byKey = {};
    if (keyOf) old.forEach(function (node) { if (node.nodeType === 1) byKey[keyOf(node)] = node; });
    var kept = new Set();
    var final = fresh.filter(function (node) { return node; }).map(function (node, index) {
      var twin = keyOf ? (node.nodeType === 1 ? byKey[keyOf(node)] : null) : old[index];
      if (!twin || kept.has(twin)) return node;
      if (twin === node || twin.isEqualNode(node)) {
        kept.add(twin);
        return twin;
      }
      if (twin.nodeType === 1 && twin.hasAttribute("data-patch") && sameShell(twin, node)) {
        SB.keepSame(twin, Array.prototype.slice.call(node.childNodes));
        kept.add(twin);
        return twin;
      }
      return node;
    });
    // Out first, then in: a node that stays is never moved while the rest change around it.
    old.forEach(function (node) { if (!kept.has(node)) parent.removeChild(node); });
    final.forEach(function (node, index) {
      var here = parent.childNodes[index];
      if (here !== node) parent.insertBefore(node, here || null);
    });
    return parent;
  };

  /* `fresh`, a disclosure about to replace the one `selector` finds in `root`, opened if
     that one was: a live refresh leaves open what the agent opened. */
  SB.keepOpen = function (fresh, root, selector) {
    var shown = root && root.querySelector(selector);
    if (shown && shown.open) fresh.open = true;
    return fresh;
  };

  SB.$ = function (selector, root) {
    return (root || document).querySelector(selector);
  };

  SB.initials = function (name) {
    var parts = String(name || "?").trim().split(/\s+/);
    return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
  };

  /* A stable colour per person, from a small accessible palette. */
  var AVATAR_COLOURS = ["#1f4fd1", "#13795b", "#9a5b00", "#6d28d9", "#b42318", "#0e7490", "#4b5563", "#be185d"];
  SB.avatar = function (name, id, extraClass) {
    var node = SB.el("span", { class: "avatar " + (extraClass || ""), title: name, "aria-label": name }, SB.initials(name));
    node.style.background = AVATAR_COLOURS[Math.abs(Number(id) || 0) % AVATAR_COLOURS.length];
    return node;
  };

  /* Small line icons (inline SVG, decorative). */
  var ICONS = {
    bell: "M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0",
    back: "M15 18l-6-6 6-6",
    info: "M12 16v-4M12 8h.01M22 12a10 10 0 1 1-20 0 10 10 0 0 1 20 0z",
    clock: "M12 6v6l4 2M22 12a10 10 0 1 1-20 0 10 10 0 0 1 20 0z",
  };
  SB.icon = function (name) {
    var svg = SB.el("svg:svg", {
      viewBox: "0 0 24 24", width: 16, height: 16, fill: "none", stroke: "currentColor",
      "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", focusable: "false",
    });
    svg.appendChild(SB.el("svg:path", { d: ICONS[name] || "" }));
    return svg;
  };

  // --- API --------------------------------------------------------------------------------

  SB.csrf = function (value) {
    if (value !== undefined) {
      try { sessionStorage.setItem(CSRF_KEY, value); } catch (e) { /* private mode */ }
      SB._csrf = value;
    }
    if (SB._csrf) return SB._csrf;
    try { return sessionStorage.getItem(CSRF_KEY) || ""; } catch (e) { return ""; }
  };

  function ApiError(status, body) {
    this.status = status;
    this.code = (body && body.error) || "error";
    this.message = (body && body.message) || "The request failed (HTTP " + status + ").";
    this.body = body;
  }
  ApiError.prototype = Object.create(Error.prototype);
  SB.ApiError = ApiError;

  SB.toLogin = function () {
    // Logging out ends this session, which also closes the live socket with "log in
    // again"; the page is already on its way to the login page, and without a `next`.
    if (SB.loggingOut) return;
    var here = location.pathname + location.search + location.hash;
    location.assign("/login?next=" + encodeURIComponent(here));
  };

  /* A random key for a write that may be sent again (an Idempotency-Key). */
  SB.newKey = function () {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  };

  SB.api = function (method, path, body, extraHeaders) {
    var headers = Object.assign({ Accept: "application/json" }, extraHeaders || {});
    var init = { method: method, credentials: "same-origin", headers: headers };
    if (method !== "GET" && method !== "HEAD") {
      headers["X-CSRF-Token"] = SB.csrf();
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
    }
    return fetch(path, init).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var parsed = type.indexOf("json") >= 0 ? response.json() : Promise.resolve(null);
      return parsed.then(function (data) {
        if (response.ok) return data;
        if (response.status === 401 && path !== "/api/login") {
          SB.toLogin();
        }
        throw new ApiError(response.status, data);
      }, function () {
        throw new ApiError(response.status, null);
      });
    });
  };

  SB.query = function (params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value === null || value === undefined || value === "") return;
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
    });
    return parts.length ? "?" + parts.join("&") : "";
  };

  /* The logged-in agent; refreshes the CSRF token as a side effect. */
  SB.me = function () {
    return SB.api("GET", "/api/me").then(function (body) {
      if (body.csrf_token) SB.csrf(body.csrf_token);
      SB.agent = body.agent;
      if (body.agent && body.agent.time_zone) SB.time.setZone(body.agent.time_zone);
      return body.agent;
    });
  };

  // --- time -------------------------------------------------------------------------------

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  }

  SB.time = {
    zone: browserZone(), // until the agent's own setting is known
    browserZone: browserZone,
    setZone: function (zone) {
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        SB.time.zone = zone;
      } catch (e) { /* an unknown zone keeps the current one */ }
    },
    parse: function (value) {
      if (!value) return null;
      var date = value instanceof Date ? value : new Date(value);
      return isNaN(date.getTime()) ? null : date;
    },
    format: function (value, options) {
      var date = SB.time.parse(value);
      if (!date) return "";
      var opts = Object.assign({ timeZone: SB.time.zone }, options || { hour: "2-digit", minute: "2-digit" });
      return new Intl.DateTimeFormat(undefined, opts).format(date);
    },
    /* The wording is words.js's (loaded next), so every page says times the same way. */
    clock: function (value) { return SB.words.clock(value); },
    full: function (value) { return SB.words.full(value); },
    day: function (value) {
      return SB.time.format(value, { weekday: "short", month: "short", day: "numeric", year: "numeric" });
    },
    duration: function (seconds) { return SB.words.span(seconds); },
    ago: function (value) { return SB.words.ago(value); },
    secondsSince: function (value) {
      var date = SB.time.parse(value);
      return date ? (Date.now() - date.getTime()) / 1000 : 0;
    },
    secondsUntil: function (value) {
      var date = SB.time.parse(value);
      return date ? (date.getTime() - Date.now()) / 1000 : 0;
    },
  };

  // --- words ------------------------------------------------------------------------------

  /* The channels and their labels come from the server (/channels.js, loaded first). */
  SB.CHANNELS = {};
  (window.SB_CHANNELS || []).forEach(function (channel) { SB.CHANNELS[channel.name] = channel; });
  SB.channelName = function (channel) {
    return (SB.CHANNELS[channel] || { label: channel || "?" }).label;
  };
  SB.channelShort = function (channel) {
    return (SB.CHANNELS[channel] || { short: String(channel || "?").slice(0, 4).toUpperCase() }).short;
  };
  SB.channelOptions = function () {
    return (window.SB_CHANNELS || []).map(function (channel) { return { value: channel.name, label: channel.label }; });
  };
  SB.STATES = {
    queued: "Waiting", assigned: "Assigned", manual: "Manual review", ai: "AI active", resolved: "Resolved",
  };
  SB.stateName = function (state) {
    return SB.STATES[state] || state;
  };

  /* How to call a customer: see SB.words.customer (words.js). */
  SB.customerName = function (name, address, kind, page) {
    return SB.words.customer(name, address, kind, page);
  };

  SB.firstLine = function (text) {
    return String(text || "").split(/\r?\n/).filter(function (line) { return line.trim(); })[0] || "";
  };

  // --- toasts -----------------------------------------------------------------------------

  SB.toast = function (message, kind) {
    var box = SB.$(".toasts");
    if (!box) {
      box = SB.el("div", { class: "toasts", role: "status", "aria-live": "polite" });
      document.body.appendChild(box);
    }
    var item = SB.el("div", { class: "toast " + (kind || ""), "data-testid": "toast" }, message);
    box.appendChild(item);
    while (box.children.length > 3) box.removeChild(box.firstChild);
    setTimeout(function () { item.remove(); }, kind === "error" ? 6000 : 3500);
  };

  SB.fail = function (error) {
    SB.toast(error && error.message ? error.message : String(error), "error");
  };

  /* A refusal worded with what the agent tried: "Could not claim: <the reason>." The
     reason is the server's sentence (or the page's own); an ending stop is added once. */
  SB.couldNot = function (doing, reason) {
    var why = reason && reason.message ? reason.message : String(reason || "something went wrong");
    if (!/[.!?]$/.test(why)) why += ".";
    SB.toast("Could not " + doing + ": " + why, "error");
  };
})();
