/*
 * Switchboard webhooks page (admins): the organization's webhook endpoints, adding one
 * (the server refuses internal addresses, and says why; the signing secret is shown once,
 * right after), deleting one, and each endpoint's recent deliveries with their state in
 * words and "Send again" for a delivered or failed one.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var API = "/api/admin/webhooks";
  var EVENTS = [
    ["handoff", "A conversation is handed to a person"],
    ["claimed", "An agent claims a conversation"],
    ["resolved", "A conversation is resolved"],
    ["message", "A message is written (by the customer, the AI or an agent)"],
  ];
  var EVENT_NAMES = { handoff: "Handed to a person", claimed: "Claimed", resolved: "Resolved", message: "Message" };

  function reason(error) {
    if (!error) return "";
    if (/^HTTP \d/.test(error)) return "the endpoint answered " + error;
    // the stored sentence continues this one, after a colon
    return (error.charAt(0).toLowerCase() + error.slice(1)).replace(/\.$/, "");
  }

  /* A delivery's state as a sentence. */
  SB.deliveryState = function (delivery) {
    var tries = SB.words.count(delivery.attempts, "attempt");
    switch (delivery.status) {
      case "pending": return "Waiting to be sent";
      case "sending": return "Being sent now";
      case "retrying": return SB.sentence("Not delivered yet, trying again after " + tries + ": " + reason(delivery.last_error));
      case "delivered": return delivery.attempts > 1 ? "Delivered after " + tries + "." : "Delivered.";
      case "failed": return SB.sentence("Not delivered: " + (reason(delivery.last_error) || "the attempts ran out"));
      default: return delivery.status;
    }
  };

  function eventList(events) {
    if (events.length === EVENTS.length) return "Everything";
    return events.map(function (name) { return EVENT_NAMES[name] || name; }).join(", ");
  }

  function deliveries(endpoint, box) {
    SB.clear(box);
    box.hidden = false;
    box.appendChild(el("p", { class: "hint", text: "Loading…" }));
    SB.api("GET", API + "/" + endpoint.id + "/deliveries").then(function (answer) {
      SB.clear(box);
      if (!answer.deliveries.length) {
        box.appendChild(el("p", { class: "hint", "data-testid": "no-deliveries", text: "Nothing sent to it yet." }));
        return;
      }
      var rows = el("tbody");
      answer.deliveries.forEach(function (delivery) {
        var actions = [];
        if (delivery.status === "delivered" || delivery.status === "failed") {
          actions.push(el("button", { type: "button", class: "btn small", "data-testid": "delivery-resend", onclick: function (event) {
            event.currentTarget.disabled = true;
            var path = API + "/" + endpoint.id + "/deliveries/" + encodeURIComponent(delivery.delivery_id) + "/resend";
            SB.api("POST", path).then(function () {
              SB.toast("The " + (EVENT_NAMES[delivery.event] || delivery.event).toLowerCase() + " event is being sent again.");
              deliveries(endpoint, box);
            }, function (problem) { SB.fail(problem); deliveries(endpoint, box); });
          } }, "Send again"));
        }
        rows.appendChild(el("tr", { "data-testid": "delivery-row", "data-status": delivery.status }, [
          el("td", {}, SB.when(delivery.created_at)),
          el("td", { text: EVENT_NAMES[delivery.event] || delivery.event }),
          el("td", { "data-testid": "delivery-state", text: SB.deliveryState(delivery) }),
          el("td", {}, el("div", { class: "actions" }, actions)),
        ]));
      });
      box.appendChild(el("div", { class: "table-wrap" }, el("table", { class: "data", "data-testid": "deliveries-table" }, [
        el("thead", {}, el("tr", {}, ["Sent", "Event", "What happened", ""].map(function (h) { return el("th", { scope: "col", text: h }); }))),
        rows,
      ])));
    }, SB.fail);
  }

  function list(section) {
    return SB.api("GET", API).then(function (answer) {
      SB.clear(section);
      section.appendChild(el("header", {}, el("h2", { id: "webhook-list-heading", text: "Your webhook endpoints" })));
      var body = el("div", { class: "card-body" });
      if (!answer.endpoints.length) {
        body.appendChild(el("p", { class: "hint", "data-testid": "no-endpoints", text: "No webhook endpoints yet. Add one below." }));
      }
      answer.endpoints.forEach(function (endpoint) {
        var box = el("div", { class: "deliveries", "data-testid": "deliveries", hidden: true });
        var toggle = el("button", { type: "button", class: "btn small", "aria-expanded": "false", "data-testid": "endpoint-deliveries", onclick: function () {
          var open = toggle.getAttribute("aria-expanded") !== "true";
          toggle.setAttribute("aria-expanded", String(open));
          toggle.textContent = open ? "Hide deliveries" : "Recent deliveries";
          if (open) deliveries(endpoint, box); else box.hidden = true;
        } }, "Recent deliveries");
        var remove = el("button", { type: "button", class: "btn small danger", "data-testid": "endpoint-delete", onclick: function () {
          SB.ask({
            title: "Delete this webhook endpoint?", ok: "Delete", danger: true, testid: "delete-endpoint-dialog",
            text: "Switchboard stops sending to " + endpoint.url + " and forgets its deliveries.",
            submit: function () { return SB.api("DELETE", API + "/" + endpoint.id); },
          }).then(function (done) {
            if (done) SB.toast("The webhook endpoint was deleted.");
            list(section);
          });
        } }, "Delete");
        body.appendChild(el("article", { class: "endpoint", "data-testid": "endpoint", "data-id": endpoint.id }, [
          el("div", { class: "endpoint-head" }, [
            el("div", {}, [
              el("strong", { class: "endpoint-url", text: endpoint.url }),
              el("div", { class: "hint", text: (endpoint.description ? endpoint.description + " · " : "") + "Sends: " + eventList(endpoint.events) +
                (endpoint.active ? "" : " · Switched off") }),
            ]),
            el("div", { class: "actions" }, [toggle, remove]),
          ]),
          box,
        ]));
      });
      section.appendChild(body);
    }, SB.fail);
  }

  function showSecret(section, endpoint) {
    var panel = el("div", { class: "secret-once", role: "status", "data-testid": "endpoint-secret" }, [
      el("p", {}, [el("strong", { text: "Signing secret for " + endpoint.url }), " — copy it now; it is not shown again:"]),
      el("code", { class: "copyable", text: endpoint.secret }),
      el("p", { class: "hint", text: "Your system checks each request's X-Switchboard-Signature header with it (see the API documentation)." }),
    ]);
    section.querySelector(".card-body").prepend(panel);
  }

  function form(section, refresh) {
    var url = el("input", { type: "url", required: true, autocomplete: "off", placeholder: "https://example.com/switchboard", "data-testid": "endpoint-url" });
    var description = el("input", { type: "text", autocomplete: "off", maxlength: 200, placeholder: "CRM sync (optional)", "data-testid": "endpoint-description" });
    var boxes = EVENTS.map(function (event) {
      return el("input", { type: "checkbox", value: event[0], checked: true, "data-testid": "endpoint-event-" + event[0] });
    });
    var error = el("p", { class: "error-text wide", role: "alert", "data-testid": "endpoint-form-error", hidden: true });
    var node = el("form", { class: "form-grid", "aria-label": "Add a webhook endpoint", "data-testid": "endpoint-form" }, [
      el("label", { class: "field" }, ["Address (URL)", url, el("span", { class: "hint", text: "On the public internet: addresses inside your network are refused." })]),
      el("label", { class: "field" }, ["Description", description]),
      el("fieldset", { class: "wide checks" }, [el("legend", { text: "Send when" })].concat(EVENTS.map(function (event, index) {
        return el("label", { class: "check" }, [boxes[index], " ", event[1]]);
      }))),
      el("div", { class: "wide actions" }, el("button", { type: "submit", class: "btn primary", "data-testid": "endpoint-submit" }, "Add endpoint")),
      error,
    ]);
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      var events = boxes.filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
      if (!events.length) {
        error.textContent = "Choose at least one event to send.";
        error.hidden = false;
        return;
      }
      SB.api("POST", API, { url: url.value.trim(), description: description.value.trim(), events: events }).then(function (answer) {
        node.reset();
        refresh().then(function () { showSecret(document.getElementById("webhook-list"), answer.endpoint); });
      }, function (problem) {
        error.textContent = SB.sentence(problem.message);
        error.hidden = false;
      });
    });
    SB.clear(section);
    section.appendChild(el("header", {}, el("h2", { id: "webhook-new-heading", text: "Add a webhook endpoint" })));
    section.appendChild(el("div", { class: "card-body" }, node));
  }

  SB.boot({ active: "webhooks", roles: ["admin"] }, function () {
    var listed = document.getElementById("webhook-list");
    list(listed);
    form(document.getElementById("webhook-new"), function () { return list(listed); });
  });
})();
