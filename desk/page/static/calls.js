/* Calls in the conversation view: for a conversation that has calls, the details panel
 * gains a "Calls" section with each call's live state ("with the AI", "on hold for 42 s",
 * "with Dana", "ended"), its duration, a player for its recording once the gateway keeps
 * the audio, and every transfer attempt with its outcome; for a call in progress, the
 * agent can ask to be rung in ("Call me", while the caller waits on hold), send the caller
 * back to the AI, or end the call. It reads GET /api/conversations/<id>/calls on every
 * render, so live events keep it current. */
(function () {
  "use strict";
  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var View = SB.ConversationView;
  if (!View) return;
  var renderDetails = View.prototype._renderDetails;

  /* The section shown stays on top while the fresh list is fetched, then takes in what
     changed, its buttons kept in place (a press on one must not lose its release). */
  View.prototype._renderDetails = function (body, customer) {
    var view = this;
    var id = body.conversation.id;
    var shown = this.details.querySelector("[data-testid=calls]");
    this.detailsLead = shown && Number(shown.getAttribute("data-conversation-id")) === id ? [shown] : [];
    renderDetails.call(this, body, customer);
    SB.api("GET", "/api/conversations/" + id + "/calls").then(function (answer) {
      if (!answer || !answer.calls || !answer.calls.length || !view.isOpen(id)) return;
      var fresh = callsNode(view, id, answer.calls);
      // only this conversation's can be shown: another's was dropped when this one rendered
      var current = view.details.querySelector("[data-testid=calls]");
      if (current) SB.keepSame(current, Array.prototype.slice.call(fresh.childNodes));
      else view.details.insertBefore(fresh, view.details.firstChild);
    }, function () { /* no calls to show */ });
  };

  function act(view, id, path, done) {
    SB.api("POST", "/api/conversations/" + id + "/call/" + path).then(function () {
      SB.toast(done);
      view.refresh();
    }, function (error) {
      SB.toast((error && error.message) || "That did not work.");
    });
  }

  function callsNode(view, id, calls) {
    var list = el("ol", { class: "history", "data-patch": true });
    calls.forEach(function (call, index) {
      var facts = [call.state_text];
      if (call.duration_seconds !== null && call.duration_seconds !== undefined) facts.push(call.duration_seconds + " s");
      var item = el("li", { "data-testid": "call", "data-state": call.state, "data-call-id": call.id, "data-patch": true }, [
        el("span", { class: "move", "data-testid": "call-state", text: "Call from " + call.caller + ": " + facts.join(" · ") }),
        el("time", { class: "by", datetime: call.started_at, text: SB.time.full(call.started_at) }),
      ]);
      if (call.recording_url && /^\/api\/media\/[0-9a-f]{32}$/.test(call.recording_url)) {
        // the kept audio, served by this gateway to this organization's agents only
        item.appendChild(el("div", { class: "recording" }, [
          el("span", { text: "Recording (" + (call.recording_seconds || 0) + " s)" }),
          el("audio", { controls: true, preload: "metadata", src: call.recording_url, "data-testid": "call-recording" }),
        ]));
      }
      if (call.attempts.length) {
        item.appendChild(el("ul", { class: "identities", "data-testid": "call-attempts" }, call.attempts.map(function (attempt) {
          return el("li", { "data-testid": "call-attempt", "data-outcome": attempt.outcome || "ringing" }, attempt.target + ": " + attempt.outcome_text);
        })));
      }
      if (index === 0 && call.state !== "ended") {
        var buttons = [];
        if (call.state === "hold") {
          buttons.push(el("button", { type: "button", class: "btn small", "data-testid": "call-me", onclick: function () { act(view, id, "call-me", "Your phone will ring."); } }, "Call me"));
        }
        if (call.state === "agent") {
          buttons.push(el("button", { type: "button", class: "btn small", "data-testid": "call-back-to-ai", onclick: function () { act(view, id, "back-to-ai", "The caller is back with the AI."); } }, "Back to the AI"));
        }
        buttons.push(el("button", { type: "button", class: "btn small ghost", "data-testid": "call-end", onclick: function () { act(view, id, "end", "The call was ended."); } }, "End call"));
        item.appendChild(el("div", { class: "actions" }, buttons));
      }
      list.appendChild(item);
    });
    return el("section", { "aria-labelledby": "d-calls", "data-testid": "calls", "data-conversation-id": id }, [
      el("h3", { id: "d-calls", text: "Calls" }), list,
    ]);
  }
})();
