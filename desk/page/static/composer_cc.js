/*
 * Switchboard queue page: the composer's Cc line, shown for a reply on a channel that
 * takes one (the channel's max_cc, an email reply). It starts with the conversation's own
 * Cc (that of the customer's latest mail, without the support mailbox and the customer);
 * the agent may edit it (addresses separated by commas). It is checked as it is typed
 * (plain addresses, at most max_cc of them) and the reply carries exactly what it holds.
 * Loaded before composer.js, which places it.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var ADDRESS = /^[a-z0-9!#$%&'*+\/=?^_`{|}~.-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

  function CcField(onChange) {
    var self = this;
    this.edited = false;
    this.max = 0;
    this.input = el("input", {
      type: "text", autocomplete: "off", spellcheck: "false", "data-testid": "composer-cc",
      "aria-label": "Cc", placeholder: "Nobody; add addresses separated by commas",
    });
    this.error = el("div", { class: "cc-error", role: "alert", "data-testid": "composer-cc-error", hidden: true });
    this.node = el("div", { class: "composer-cc", "data-testid": "composer-cc-row", hidden: true }, [
      el("label", {}, [el("span", { text: "Cc" }), this.input]), this.error,
    ]);
    this.input.addEventListener("input", function () {
      self.edited = true;
      self.check();
      onChange();
    });
  }

  /* The Cc of the customer's latest mail, as a reply keeps it by default. */
  function conversationCc(body) {
    var conversation = body.conversation;
    var messages = body.messages || [];
    for (var i = messages.length - 1; i >= 0; i--) {
      var message = messages[i];
      var mail = message.direction === "inbound" && (message.meta || {}).email;
      if (!mail) continue;
      var own = String(mail.mailbox || "").toLowerCase();
      return (mail.cc || []).filter(function (address) {
        address = String(address).toLowerCase();
        return address !== own && address !== String(conversation.address || "").toLowerCase() && address.split("@")[0].indexOf("+") < 0;
      });
    }
    return [];
  }

  CcField.prototype.update = function (body, mode) {
    var channel = SB.CHANNELS[body.conversation.channel] || {};
    this.max = channel.max_cc || 0;
    this.node.hidden = !this.max || mode !== "reply";
    if (!this.edited) this.input.value = conversationCc(body).join(", ");
    this.check();
  };

  CcField.prototype.addresses = function () {
    return this.input.value.split(/[\s,;]+/).filter(Boolean);
  };

  /* What is wrong with the line, in a sentence; "" when nothing is. */
  CcField.prototype.problem = function () {
    if (this.node.hidden) return "";
    var addresses = this.addresses();
    var bad = addresses.filter(function (address) { return !ADDRESS.test(address); })[0];
    if (bad) return "“" + bad + "” is not an email address like name@example.com.";
    if (addresses.length > this.max) return "A reply may copy in at most " + this.max + " addresses.";
    return "";
  };

  CcField.prototype.check = function () {
    var problem = this.problem();
    this.error.hidden = !problem;
    this.error.textContent = problem;
    this.input.setAttribute("aria-invalid", String(!!problem));
    return !problem;
  };

  /* The addresses to send with the reply; null where the line is not shown. */
  CcField.prototype.value = function () {
    return this.node.hidden ? null : this.addresses();
  };

  CcField.prototype.reset = function () {
    this.edited = false;
  };

  SB.CcField = CcField;
})();
