/*
 * Switchboard agents' pages: how things are said, in one place. Counts with the right
 * plural ("1 claim", "2 claims"), times (relative in lists: "3 min ago"; the agent's
 * locale clock in messages; the full timestamp for a hover title), spans and countdowns
 * in words ("14 min left"), phone numbers formatted for reading, and what to call a
 * customer from what we know of them (name, phone, email, or "Visitor from /products").
 * Loaded right after core.js; every page may use `SB.words`.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});

  function zone() {
    return (SB.time && SB.time.zone) || undefined;
  }

  function parse(value) {
    if (!value) return null;
    var date = value instanceof Date ? value : new Date(value);
    return isNaN(date.getTime()) ? null : date;
  }

  function format(value, options) {
    var date = parse(value);
    if (!date) return "";
    try {
      return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: zone() }, options)).format(date);
    } catch (e) {
      return new Intl.DateTimeFormat(undefined, options).format(date);
    }
  }

  /* "1 claim", "2 claims", "0 claims"; `many` for irregular plurals ("1 person", "2 people"). */
  function count(n, one, many) {
    var value = Number(n) || 0;
    return value.toLocaleString("en") + " " + (value === 1 ? one : many || one + "s");
  }

  /* A length of time in words, rounded for reading: "45 s", "1 min", "14 min", "1 h",
     "2 h 5 min", "1 day", "3 days". `up` rounds up (for what is left of a countdown, so
     "1 s" shows until the end rather than "0 s"). */
  function span(seconds, up) {
    var s = Math.max(0, Number(seconds) || 0);
    var round = up ? Math.ceil : Math.floor;
    if (s < 60) return round(s) + " s";
    if (s < 3600) return round(s / 60) + " min";
    if (s < 86400) {
      var hours = Math.floor(s / 3600);
      var minutes = round((s % 3600) / 60);
      if (minutes === 60) { hours += 1; minutes = 0; }
      return hours + " h" + (minutes ? " " + minutes + " min" : "");
    }
    return count(Math.floor(s / 86400), "day");
  }

  /* How long ago, for lists: "just now", "3 min ago", "2 h ago", "yesterday", "4 days ago". */
  function ago(value, now) {
    var date = parse(value);
    if (!date) return "";
    var seconds = Math.max(0, ((now || Date.now()) - date.getTime()) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    if (seconds < 2 * 86400) return "yesterday";
    return count(Math.floor(seconds / 86400), "day") + " ago";
  }

  /* What is left of a countdown: "14 min left", "45 s left", or `done` once it ran out. */
  function left(seconds, done) {
    return seconds > 0 ? span(seconds, true) + " left" : done || "time is up";
  }

  /* The agent's own clock (their locale's 12- or 24-hour style) in their time zone. */
  function clock(value) {
    return format(value, { hour: "numeric", minute: "2-digit" });
  }

  /* The full timestamp, for a hover title: "Nov 30, 2026, 9:48:26 AM UTC". */
  function full(value) {
    return format(value, {
      year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit", timeZoneName: "short",
    });
  }

  // --- phone numbers --------------------------------------------------------------------

  /* Country calling codes one or two digits long; every other code has three digits. */
  var ONE_DIGIT = { 1: true, 7: true };
  var TWO_DIGIT = (
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 " +
    "81 82 84 86 90 91 92 93 94 95 98"
  ).split(" ").reduce(function (codes, code) { codes[code] = true; return codes; }, {});

  /* Groups of three digits, ending in one or two groups of four so none is shorter:
     "7700900123" → "770 090 0123", "15123456789" → "151 2345 6789". */
  function groups(digits) {
    var fours = digits.length < 6 ? 0 : [0, 1, 2][digits.length % 3];
    var parts = [];
    var head = digits.slice(0, digits.length - 4 * fours);
    while (head.length > 3) { parts.push(head.slice(0, 3)); head = head.slice(3); }
    if (head) parts.push(head);
    for (var i = 0; i < fours; i++) parts.push(digits.slice(digits.length - 4 * (fours - i), digits.length - 4 * (fours - i - 1)));
    return parts.join(" ");
  }

  /* "+15550104477" → "+1 555-010-4477"; "+447700900123" → "+44 770 090 0123"; anything
     that is not a phone number comes back as it was (less a "whatsapp:" prefix). */
  function phone(address) {
    var raw = String(address || "").replace(/^whatsapp:/i, "").trim();
    var digits = raw.replace(/[\s().-]/g, "");
    if (!/^\+\d{6,15}$/.test(digits)) return raw;
    digits = digits.slice(1);
    if (digits[0] === "1" && digits.length === 11) {
      return "+1 " + digits.slice(1, 4) + "-" + digits.slice(4, 7) + "-" + digits.slice(7);
    }
    var size = ONE_DIGIT[digits[0]] ? 1 : TWO_DIGIT[digits.slice(0, 2)] ? 2 : 3;
    return "+" + digits.slice(0, size) + " " + groups(digits.slice(size));
  }

  // --- customers ------------------------------------------------------------------------

  var PHONE_KINDS = { phone: true, whatsapp: true, sms: true, voice: true };

  /* A page path worth showing: "/products", never a full URL with a query or a token. */
  function pagePath(page) {
    if (!page) return "";
    var path = String(page);
    try { path = new URL(path, "http://x.invalid").pathname; } catch (e) { return ""; }
    return path.length > 60 ? path.slice(0, 59) + "…" : path;
  }

  /* What to call a customer: their name; else their phone number, formatted; else their
     email address; a web visitor "Visitor from /products" (the page they wrote from) or
     "Web visitor" — never the visitor's token. */
  function customer(name, address, kind, page) {
    if (name) return name;
    if (kind === "web" || (!kind && !address)) {
      var path = pagePath(page);
      return path ? "Visitor from " + path : "Web visitor";
    }
    if (PHONE_KINDS[kind]) return phone(address) || "Unknown caller";
    return address || "Unknown customer";
  }

  /* A reason or note as a sentence starts with a capital: "The customer asked for a person". */
  function sentence(text) {
    var value = String(text || "").trim();
    return value ? value.charAt(0).toUpperCase() + value.slice(1) : "";
  }

  /* "Alex", "Alex and Sam", "Alex, Sam and Kim". */
  function list(items) {
    var names = (items || []).filter(Boolean);
    if (names.length < 2) return names.join("");
    return names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  }

  SB.words = {
    count: count,
    span: span,
    ago: ago,
    left: left,
    clock: clock,
    full: full,
    phone: phone,
    customer: customer,
    pagePath: pagePath,
    list: list,
    sentence: sentence,
  };
})();
