/*
 * Switchboard queue page: an outgoing message's delivery state, in the words the API gives
 * (desk/delivery_state.py, the one place they are written): a line in the message's byline,
 * and under a failure Retry and Dismiss where they apply, with what the provider said
 * behind a disclosure named by the message's channel ("What the mail server said"). The page
 * adds only the live countdown to the next retry.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;

  function waitWords(seconds) {
    return seconds < 60 ? Math.max(0, Math.round(seconds)) + " s" : Math.round(seconds / 60) + " min";
  }

  function countdown(delivery) {
    var left = (SB.time.parse(delivery.next_try_at).getTime() - Date.now()) / 1000;
    return delivery.lead + ", " + (left > 0 ? "next try in " + waitWords(left) : "trying again now");
  }

  /* The state in the byline: its words, marked by tone (ok, waiting, failed, quiet). */
  SB.deliveryStatus = function (message) {
    var delivery = message.delivery || { text: "Sending…", tone: "waiting" };
    var node = el("span", {
      class: "status", "data-status": message.delivery_status, "data-tone": delivery.dismissed ? "quiet" : delivery.tone,
      "data-testid": "delivery-status", text: delivery.next_try_at ? countdown(delivery) : delivery.text,
    });
    if (delivery.next_try_at) {
      node.setAttribute("data-next-try-at", delivery.next_try_at);
      node.setAttribute("data-lead", delivery.lead);
    }
    return node;
  };

  /* Retry, Dismiss and the provider's words, when any applies; else null. */
  SB.deliveryActions = function (message, view) {
    var delivery = message.delivery;
    if (!delivery) return null;
    var failing = delivery.tone === "failed" && !delivery.dismissed;
    var canWrite = view.me.role !== "viewer";
    var parts = [];
    if (failing && delivery.can_retry && canWrite) {
      parts.push(el("button", {
        type: "button", class: "btn small", "data-testid": "delivery-retry",
        onclick: function (event) { act(event.currentTarget, view, message, "retry", "Sending the message again."); },
      }, "Retry"));
    }
    if (failing && delivery.can_dismiss && canWrite) {
      parts.push(el("button", {
        type: "button", class: "btn small ghost", "data-testid": "delivery-dismiss",
        onclick: function (event) { act(event.currentTarget, view, message, "dismiss", "Dismissed: this failure no longer needs attention."); },
      }, "Dismiss"));
    }
    if (delivery.detail) {
      parts.push(SB.keepOpen(el("details", { class: "delivery-detail", "data-testid": "delivery-detail", "data-message": String(message.id) }, [
        el("summary", { text: (SB.CHANNELS[message.channel] || {}).detail_label || "What the provider said" }),
        el("p", { text: delivery.detail }),
      ]), view.timelineNode, '[data-testid=delivery-detail][data-message="' + message.id + '"]'));
    }
    if (!parts.length) return null;
    return el("div", { class: "delivery-actions" + (failing ? " failing" : ""), "data-testid": "delivery-actions" }, parts);
  };

  function act(button, view, message, action, done) {
    button.disabled = true;
    SB.api("POST", "/api/messages/" + message.id + "/" + action).then(function () {
      SB.toast(done);
      return view.refresh(false);
    }, function (error) {
      button.disabled = false;
      SB.fail(error);
    });
  }

  /* Called by the conversation's ticker: keep each retry countdown current. */
  SB.tickDeliveries = function (root) {
    if (!root) return;
    root.querySelectorAll("[data-next-try-at]").forEach(function (node) {
      node.textContent = countdown({ next_try_at: node.getAttribute("data-next-try-at"), lead: node.getAttribute("data-lead") });
    });
  };
})();
