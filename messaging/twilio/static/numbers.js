/*
 * Switchboard Twilio numbers page (admins): the organization's numbers and Messaging
 * Services, when Twilio last posted a message for each, the webhook URL to paste into
 * Twilio, "Test the webhook URL" (Switchboard posts a signed test request to its own public
 * URL, as Twilio would, and says what happened), adding a number and removing one. The auth
 * token is sent once, when the number is added, and never shown again.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var API = "/api/twilio/numbers";
  var SERVICE = /^MG[0-9a-f]{32}$/i;

  function field(label, input, hint) {
    return el("label", { class: "field" }, [label, input, hint ? el("span", { class: "hint", text: hint }) : null]);
  }

  function copyButton(text, testid) {
    return el("button", { type: "button", class: "btn small", "data-testid": testid, onclick: function (event) {
      var button = event.currentTarget;
      var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 2000); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { SB.toast("Select the address and copy it by hand.", "error"); });
      } else {
        SB.toast("Select the address and copy it by hand.", "error");
      }
    } }, "Copy");
  }

  function webhookHelp(answer) {
    var parts = [
      el("p", {}, ["In Twilio, open each number (or Messaging Service) and set ", el("strong", { text: "A message comes in" }), " to Webhook, HTTP POST:"]),
      el("div", { class: "actions" }, [el("code", { class: "copyable", "data-testid": "incoming-url", text: answer.incoming_url }), copyButton(answer.incoming_url, "copy-incoming-url")]),
      el("p", { class: "hint", text: "Switchboard sets the delivery status address itself on every message it sends. Calls to a number are set up on the Calls page." }),
    ];
    if (!answer.public_url_set) {
      parts.push(el("p", { class: "error-text", role: "note", "data-testid": "public-url-missing",
        text: "Switchboard's public address is not set, so this URL is this machine's own and Twilio cannot reach it. Ask whoever runs Switchboard to set SWITCHBOARD_PUBLIC_URL to its public HTTPS address." }));
    }
    return el("div", { class: "webhook-help", "data-testid": "webhook-help" }, parts);
  }

  function lastHeard(number) {
    if (!number.last_webhook_at) return el("span", { class: "hint", text: "No message received yet" });
    return el("span", {}, ["Last message ", SB.when(number.last_webhook_at)]);
  }

  function row(number, section) {
    var result = el("p", { class: "test-result", role: "status", "data-testid": "number-test-result", hidden: true });
    var test = el("button", { type: "button", class: "btn small", "data-testid": "number-test", onclick: function () {
      test.disabled = true;
      SB.showResult(result, true, "Testing…");
      SB.api("POST", API + "/check", { number: number.number }).then(function (answer) {
        SB.showResult(result, answer.ok, answer.message);
      }, function (problem) {
        SB.showResult(result, false, problem.message);
      }).then(function () { test.disabled = false; });
    } }, "Test the webhook URL");
    var remove = el("button", { type: "button", class: "btn small danger", "data-testid": "number-remove", onclick: function () {
      SB.ask({
        title: "Remove " + SB.words.phone(number.number) + "?", ok: "Remove", danger: true, testid: "remove-number-dialog",
        text: "Switchboard stops accepting messages for it and cannot send from it. Its conversations stay.",
        submit: function () { return SB.api("DELETE", API + "/" + encodeURIComponent(number.number)); },
      }).then(function (done) {
        if (done) SB.toast(SB.words.phone(number.number) + " was removed.");
        list(section);
      });
    } }, "Remove");
    var service = SERVICE.test(number.number);
    var name = [el("strong", { text: service ? number.number : SB.words.phone(number.number) })];
    if (service) name.push(el("div", { class: "hint", text: "Messaging Service" }));
    else if (number.messaging_service_sid) name.push(el("div", { class: "hint sid", text: "In Messaging Service " + number.messaging_service_sid }));
    name.push(el("div", { class: "hint sid", text: "Twilio account " + number.account_sid }));
    return el("tr", { "data-testid": "number-row", "data-number": number.number }, [
      el("td", {}, name),
      el("td", { "data-testid": "number-last-webhook" }, lastHeard(number)),
      el("td", {}, [el("div", { class: "actions" }, [test, remove]), result]),
    ]);
  }

  function list(section) {
    return SB.api("GET", API).then(function (answer) {
      SB.clear(section);
      section.appendChild(el("header", {}, el("h2", { id: "number-list-heading", text: "Your numbers" })));
      var body = el("div", { class: "card-body" }, webhookHelp(answer));
      var rows = el("tbody");
      answer.numbers.forEach(function (number) { rows.appendChild(row(number, section)); });
      if (!answer.numbers.length) {
        rows.appendChild(el("tr", {}, el("td", { colspan: 3, class: "hint", text: "No numbers yet. Add the number your customers text below." })));
      }
      body.appendChild(el("div", { class: "table-wrap" }, el("table", { class: "data", "data-testid": "numbers-table" }, [
        el("thead", {}, el("tr", {}, ["Number", "Twilio reached it", ""].map(function (h) {
          return el("th", { scope: "col", text: h });
        }))), rows,
      ])));
      section.appendChild(body);
    }, SB.fail);
  }

  function form(section, refresh) {
    var inputs = {
      number: el("input", { type: "text", required: true, autocomplete: "off", placeholder: "+15551234567", "data-testid": "number-input" }),
      account: el("input", { type: "text", required: true, autocomplete: "off", placeholder: "AC…", "data-testid": "account-input" }),
      token: el("input", { type: "password", required: true, autocomplete: "new-password", "data-testid": "token-input" }),
      service: el("input", { type: "text", autocomplete: "off", placeholder: "MG… (optional)", "data-testid": "service-input" }),
    };
    var error = el("p", { class: "error-text wide", role: "alert", "data-testid": "number-form-error", hidden: true });
    var node = el("form", { class: "form-grid", "aria-label": "Add a number", "data-testid": "number-form" }, [
      field("Number or Messaging Service", inputs.number, "A phone number in international form, like +15551234567, or a Messaging Service SID."),
      field("Account SID", inputs.account, "On the Twilio console's home page; a subaccount's own SID for its numbers."),
      field("Auth token", inputs.token, "Checks that webhooks really come from Twilio and sends replies. Never shown again."),
      field("Messaging Service (optional)", inputs.service, "When the number sends through a Messaging Service."),
      el("div", { class: "wide actions" }, el("button", { type: "submit", class: "btn primary", "data-testid": "number-submit" }, "Add number")),
      error,
    ]);
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      SB.api("POST", API, {
        number: inputs.number.value.trim(), account_sid: inputs.account.value.trim(), auth_token: inputs.token.value.trim(),
        messaging_service_sid: inputs.service.value.trim() || null,
      }).then(function (answer) {
        SB.toast(SB.words.phone(answer.number.number) + " was added. Paste the webhook URL above into Twilio for it, then test it.");
        node.reset();
        refresh();
      }, function (problem) {
        error.textContent = SB.sentence(problem.message);
        error.hidden = false;
      });
    });
    SB.clear(section);
    section.appendChild(el("header", {}, el("h2", { id: "number-new-heading", text: "Add a number" })));
    section.appendChild(el("div", { class: "card-body" }, node));
  }

  SB.boot({ active: "", roles: ["admin"] }, function () {
    var listed = document.getElementById("number-list");
    list(listed);
    form(document.getElementById("number-new"), function () { list(listed); });
  });
})();
