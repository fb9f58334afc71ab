/* The calls settings page: loads the agent's phone and, for admins, the organization's
 * voice settings, and saves them through the JSON API with the session's CSRF token
 * (from GET /api/me). Every text from the server is set with textContent. */
(function () {
  "use strict";
  var csrf = "";
  var targets = [];
  var agents = [];
  var TEXT = ["greeting", "tts_voice", "language", "speech_model", "hints", "hold_message"];
  var NUMBERS = ["ring_timeout_seconds", "max_attempts"];
  var CHECKS = ["offer_sms_callback", "record_calls"];

  function $(id) { return document.getElementById(id); }

  function call(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrf;
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    });
  }

  function say(id, text) { $(id).textContent = text; }

  function drawTargets() {
    var list = $("targets");
    list.textContent = "";
    targets.forEach(function (target, index) {
      var item = document.createElement("li");
      var agent = agents.filter(function (a) { return a.agent_id === target.agent_id; })[0];
      item.textContent = target.label || (agent && agent.name) || target.number;
      if (target.number) item.textContent += " (" + target.number + ")";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.addEventListener("click", function () { targets.splice(index, 1); drawTargets(); });
      item.appendChild(document.createTextNode(" "));
      item.appendChild(remove);
      list.appendChild(item);
    });
  }

  function showVoice(view) {
    var form = $("voice-form");
    $("org-voice").hidden = false;
    say("voice-url", view.twilio.voice_url);
    say("status-url", view.twilio.status_callback_url);
    TEXT.concat(NUMBERS).forEach(function (name) { form.elements[name].value = view.settings[name]; });
    CHECKS.forEach(function (name) { form.elements[name].checked = !!view.settings[name]; });
    targets = view.settings.transfer_targets.map(function (t) {
      var kept = { label: t.label || "" };
      if (t.agent_id !== null && t.agent_id !== undefined) kept.agent_id = t.agent_id;
      if (t.number) kept.number = t.number;
      return kept;
    });
    agents = view.agents;
    var select = $("add-agent");
    select.textContent = "";
    agents.forEach(function (agent) {
      var option = document.createElement("option");
      option.value = String(agent.agent_id);
      option.textContent = agent.name + (agent.available_for_calls ? "" : " (not available)");
      select.appendChild(option);
    });
    drawTargets();
  }

  function load() {
    call("GET", "/api/me").then(function (me) {
      if (me.status !== 200) { window.location.href = "/login?next=/calls/settings"; return; }
      csrf = me.data.csrf_token;
      call("GET", "/api/me/phone").then(function (phone) {
        $("phone-number").value = phone.data.number || "";
        $("available").checked = !!phone.data.available_for_calls;
      });
      if (me.data.agent.role === "admin") {
        call("GET", "/api/admin/voice").then(function (view) { if (view.status === 200) showVoice(view.data); });
      }
    });
  }

  function savePhone(event) {
    event.preventDefault();
    var body = { available_for_calls: $("available").checked };
    var number = $("phone-number").value.trim();
    if (number) body.number = number;
    call("PUT", "/api/me/phone", body).then(function (answer) {
      say("phone-status", answer.status === 200 ? "Saved." : answer.data.message);
    });
  }

  function saveVoice(event) {
    event.preventDefault();
    var form = $("voice-form");
    var body = { transfer_targets: targets };
    TEXT.forEach(function (name) { body[name] = form.elements[name].value; });
    NUMBERS.forEach(function (name) { body[name] = parseInt(form.elements[name].value, 10); });
    CHECKS.forEach(function (name) { body[name] = form.elements[name].checked; });
    call("PUT", "/api/admin/voice", body).then(function (answer) {
      if (answer.status === 200) { showVoice(answer.data); say("voice-status", "Saved."); }
      else say("voice-status", answer.data.message);
    });
  }

  function addTarget() {
    var number = $("add-number").value.trim();
    if (number) targets.push({ number: number, label: "" });
    else if ($("add-agent").value) targets.push({ agent_id: parseInt($("add-agent").value, 10), label: "" });
    $("add-number").value = "";
    drawTargets();
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("phone-form").addEventListener("submit", savePhone);
    $("voice-form").addEventListener("submit", saveVoice);
    $("add-target").addEventListener("click", addTarget);
    load();
  });
})();
