/*
 * Switchboard queue page: what an SMS draft costs, worked out in the browser with the same
 * rules as the server (messaging/twilio/segments.py, behind POST /api/sms/segments) so the
 * composer's counter follows every keystroke without a request. A text that fits the GSM-7
 * alphabet takes 160 septets in one SMS and 153 per part once split (the extension
 * characters take two); one character outside it switches the whole text to UCS-2: 70
 * UTF-16 units alone, 67 per part. A character never straddles two parts.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";
  var LIMITS = { "GSM-7": [160, 153], "UCS-2": [70, 67] };
  var NAMED = {
    "\u00a0": "a non-breaking space", "\u200b": "a zero-width space", "\u200d": "a zero-width joiner",
    "\u2028": "a line separator", "\ufeff": "a zero-width no-break space", "\t": "a tab",
  };

  function inGsm7(char) {
    return BASIC.indexOf(char) >= 0 || EXTENSION.indexOf(char) >= 0;
  }

  /* `{encoding, characters, units, segments, per_segment, culprit}` for `text`, as the
     server counts them; `culprit` is the first character that forces UCS-2, or null. */
  SB.smsSegments = function (text) {
    var chars = Array.from(String(text || "")); // code points, as Python's len() counts
    var culprit = null;
    for (var i = 0; i < chars.length; i += 1) {
      if (!inGsm7(chars[i])) { culprit = chars[i]; break; }
    }
    var encoding = culprit === null ? "GSM-7" : "UCS-2";
    var widths = chars.map(function (char) {
      if (encoding === "GSM-7") return EXTENSION.indexOf(char) >= 0 ? 2 : 1;
      return char.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var total = widths.reduce(function (sum, width) { return sum + width; }, 0);
    var single = LIMITS[encoding][0];
    var multi = LIMITS[encoding][1];
    var result = { encoding: encoding, characters: chars.length, units: total, culprit: culprit };
    if (total <= single) {
      result.segments = total ? 1 : 0;
      result.per_segment = single;
      return result;
    }
    var segments = 1;
    var used = 0;
    widths.forEach(function (width) {
      if (used + width > multi) { segments += 1; used = 0; }
      used += width;
    });
    result.segments = segments;
    result.per_segment = multi;
    return result;
  };

  /* How the composer names a character: itself in quotes, or a description with its code
     point when it would be invisible on screen. */
  SB.smsCharacterName = function (char) {
    var code = "U+" + char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
    if (NAMED[char]) return NAMED[char] + " " + code;
    if (/\p{M}/u.test(char)) return "a combining accent " + code;
    if (/[\s\p{C}]/u.test(char)) return "an invisible character " + code;
    return "“" + char + "”";
  };

  /* The counter line and, when a character forces UCS-2, the warning naming it. */
  SB.smsSummary = function (text) {
    var info = SB.smsSegments(text);
    var line = info.characters + (info.characters === 1 ? " character" : " characters") + " · " + info.segments + " SMS";
    if (info.culprit === null) return { info: info, line: line, warning: "" };
    var name = SB.smsCharacterName(info.culprit);
    return {
      info: info,
      line: line + " (UCS-2 because of " + name + ")",
      warning: "Because of " + name + ", this message is sent as UCS-2: one SMS holds at most 70 characters instead of 160.",
    };
  };
})();
