/*
 * Switchboard queue page: opt-in alerts when a conversation starts waiting — a short chime
 * (synthesised with Web Audio, no sound file) and a desktop notification when the browser
 * allows one. The agent's choice is remembered in this browser.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var KEY = "switchboard:alerts";
  var audio = null;

  function enabled() {
    try { return localStorage.getItem(KEY) === "on"; } catch (e) { return false; }
  }

  function remember(on) {
    try { localStorage.setItem(KEY, on ? "on" : "off"); } catch (e) { /* ignore */ }
  }

  function chime() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio = audio || new Context();
    if (audio.state === "suspended") audio.resume();
    var now = audio.currentTime;
    [880, 1318.5].forEach(function (frequency, index) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + index * 0.16);
      gain.gain.exponentialRampToValueAtTime(0.18, now + index * 0.16 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + index * 0.16 + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + index * 0.16);
      osc.stop(now + index * 0.16 + 0.4);
    });
  }

  function render(button) {
    var on = enabled();
    button.setAttribute("aria-pressed", String(on));
    button.setAttribute("aria-label", on ? "Alerts on" : "Alerts off");
    button.lastChild.textContent = on ? "Alerts on" : "Alerts off";
  }

  SB.notify = {
    enabled: enabled,
    count: 0,

    /* Wire the top bar's toggle button. */
    bind: function (button) {
      if (!button) return;
      SB.clear(button);
      button.appendChild(SB.icon("bell"));
      button.appendChild(SB.el("span", { class: "bell-label" }));
      render(button);
      button.addEventListener("click", function () {
        var on = !enabled();
        remember(on);
        render(button);
        if (on) {
          chime();
          if ("Notification" in window && Notification.permission === "default") {
            Notification.requestPermission();
          }
          SB.toast("Alerts on: a chime and a desktop notification when a conversation starts waiting.");
        }
      });
    },

    /* A conversation entered Waiting. */
    waiting: function (conversationId, text) {
      SB.notify.count += 1;
      document.documentElement.setAttribute("data-alerts", String(SB.notify.count));
      if (!enabled()) return;
      chime();
      if ("Notification" in window && Notification.permission === "granted" && document.visibilityState !== "visible") {
        var note = new Notification("A customer is waiting", {
          body: text || "Conversation " + conversationId + " needs a person.",
          tag: "switchboard-waiting-" + conversationId,
        });
        note.onclick = function () {
          window.focus();
          location.hash = "conversation-" + conversationId;
          note.close();
        };
      }
    },
  };
})();
