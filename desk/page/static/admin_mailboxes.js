/*
 * Switchboard mailbox page (admins): the organization's support addresses, how mail
 * reaches each (Switchboard's own SMTP server, IMAP, or both), adding one, removing one,
 * "Test connection" for IMAP settings — a stored mailbox's or the form's before it is
 * saved — answered in a sentence, whether Switchboard checks the DKIM signature of
 * agents' own mail itself (set in the form, switched on or off on the row), and changing
 * a mailbox in place: "Edit" fills the form with its settings (the saved password stays
 * unless a new one is typed) and saving sends only the form's fields (PATCH). An IMAP password is sent once, when the mailbox is
 * added, and never shown again (the list only says whether one is saved).
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var API = "/api/email/mailboxes";
  var editMailbox = function () {};  // set by the form: fill it with a mailbox to change

  function field(label, input, hint) {
    return el("label", { class: "field" }, [label, input, hint ? el("span", { class: "hint", text: hint }) : null]);
  }

  function check(label, input) {
    return el("label", { class: "check" }, [input, " ", label]);
  }

  function showResult(node, result) {
    var message = String(result.message || "");
    node.hidden = false;
    node.textContent = message.charAt(0).toUpperCase() + message.slice(1);
    node.setAttribute("data-ok", String(!!result.ok));
  }

  function arrival(mailbox) {
    var ways = [];
    if (mailbox.smtp) ways.push("Switchboard's own SMTP server");
    if (mailbox.imap) {
      var imap = mailbox.imap;
      ways.push("IMAP: " + imap.user + " at " + imap.host + ", port " + imap.port + (imap.tls ? " with TLS" : " without TLS") +
        ", folder " + imap.folder + (imap.password_set ? " (password saved)" : " (no password saved)"));
    }
    return ways;
  }

  function trust(mailbox) {
    var parts = [];
    if (mailbox.trusted_authserv_id) parts.push("results of " + mailbox.trusted_authserv_id);
    if ((mailbox.trusted_relays || []).length) parts.push("mail relayed by " + mailbox.trusted_relays.join(", "));
    if (mailbox.verify_dkim) parts.push("a DKIM signature of the agent's own domain, checked by Switchboard");
    return parts.length ? parts.join("; ") : "not set: agents' own mail is treated as a customer's";
  }

  function list(section) {
    SB.api("GET", API).then(function (answer) {
      SB.clear(section);
      section.appendChild(el("header", {}, el("h2", { id: "mailbox-list-heading", text: "Your mailboxes" })));
      var body = el("div", { class: "card-body" });
      var rows = el("tbody");
      answer.mailboxes.forEach(function (mailbox) {
        var result = el("p", { class: "test-result", role: "status", "data-testid": "mailbox-test-result", hidden: true });
        var buttons = [];
        if (mailbox.imap) {
          buttons.push(el("button", { type: "button", class: "btn small", "data-testid": "mailbox-test", onclick: function (event) {
            var button = event.currentTarget;
            button.disabled = true;
            showResult(result, { ok: true, message: "Testing…" });
            SB.api("POST", API + "/test", { address: mailbox.address }).then(function (answer) {
              showResult(result, answer);
            }, function (problem) {
              showResult(result, { ok: false, message: problem.message });
            }).then(function () { button.disabled = false; });
          } }, "Test connection"));
        }
        buttons.push(el("button", { type: "button", class: "btn small", "data-testid": "mailbox-edit", onclick: function () {
          editMailbox(mailbox);
        } }, "Edit"));
        buttons.push(el("button", { type: "button", class: "btn small", "data-testid": "mailbox-dkim-toggle", onclick: function (event) {
          event.currentTarget.disabled = true;
          SB.api("PATCH", API + "/" + encodeURIComponent(mailbox.address), { verify_dkim: !mailbox.verify_dkim }).then(function (answer) {
            SB.toast(answer.mailbox.verify_dkim ? "Switchboard now checks DKIM signatures of agents' mail to " + mailbox.address + "."
              : mailbox.address + " no longer checks DKIM signatures itself.");
            list(section);
          }, SB.fail);
        } }, mailbox.verify_dkim ? "Stop checking DKIM" : "Check DKIM"));
        buttons.push(el("button", { type: "button", class: "btn small danger", "data-testid": "mailbox-remove", onclick: function () {
          SB.ask({
            title: "Remove " + mailbox.address + "?", ok: "Remove", danger: true, testid: "remove-mailbox-dialog",
            text: "Switchboard stops taking mail for it. Its conversations and messages stay.",
            submit: function () { return SB.api("DELETE", API + "/" + encodeURIComponent(mailbox.address)); },
          }).then(function (done) {
            if (done) SB.toast(mailbox.address + " was removed.");
            list(section);
          });
        } }, "Remove"));
        rows.appendChild(el("tr", { "data-testid": "mailbox-row", "data-address": mailbox.address }, [
          el("td", {}, [el("strong", { text: mailbox.address }), mailbox.display_name ? el("div", { class: "hint", text: mailbox.display_name }) : null]),
          el("td", {}, arrival(mailbox).map(function (way) { return el("div", { text: way }); })),
          el("td", { class: "hint", text: trust(mailbox) }),
          el("td", {}, [el("div", { class: "actions" }, buttons), result]),
        ]));
      });
      if (!answer.mailboxes.length) {
        rows.appendChild(el("tr", {}, el("td", { colspan: 4, class: "hint", text: "No mailboxes yet. Add the address your customers write to below." })));
      }
      body.appendChild(el("div", { class: "table-wrap" }, el("table", { class: "data", "data-testid": "mailboxes-table" }, [
        el("thead", {}, el("tr", {}, ["Address", "Mail arrives by", "Agents' own mail trusted by", ""].map(function (h) {
          return el("th", { scope: "col", text: h });
        }))), rows,
      ])));
      section.appendChild(body);
    }, SB.fail);
  }

  function form(section, refresh) {
    var inputs = {
      address: el("input", { type: "email", required: true, autocomplete: "off", placeholder: "support@shop.example", "data-testid": "mailbox-address" }),
      name: el("input", { type: "text", autocomplete: "off", placeholder: "Shop Support", "data-testid": "mailbox-name" }),
      smtp: el("input", { type: "checkbox", checked: true, "data-testid": "mailbox-smtp" }),
      imap: el("input", { type: "checkbox", "data-testid": "mailbox-imap" }),
      host: el("input", { type: "text", autocomplete: "off", placeholder: "imap.gmail.com", "data-testid": "imap-host" }),
      port: el("input", { type: "number", min: 1, max: 65535, placeholder: "993", "data-testid": "imap-port" }),
      tls: el("input", { type: "checkbox", checked: true, "data-testid": "imap-tls" }),
      user: el("input", { type: "text", autocomplete: "off", placeholder: "the address above", "data-testid": "imap-user" }),
      password: el("input", { type: "password", autocomplete: "new-password", "data-testid": "imap-password" }),
      folder: el("input", { type: "text", autocomplete: "off", value: "INBOX", "data-testid": "imap-folder" }),
      authserv: el("input", { type: "text", autocomplete: "off", placeholder: "mx.shop.example", "data-testid": "mailbox-authserv" }),
      relays: el("input", { type: "text", autocomplete: "off", placeholder: "192.0.2.7, 192.0.2.8", "data-testid": "mailbox-relays" }),
      dkim: el("input", { type: "checkbox", "data-testid": "mailbox-verify-dkim" }),
    };
    var imapFields = el("fieldset", { class: "form-grid wide", hidden: true, "data-testid": "imap-fields" }, [
      el("legend", { text: "IMAP" }),
      field("Server", inputs.host), field("Port", inputs.port, "993 with TLS, 143 without"), check("Use TLS", inputs.tls),
      field("User name", inputs.user), field("Password", inputs.password, "Stored for fetching mail; never shown again. Gmail and Microsoft 365 need an app password."),
      field("Folder", inputs.folder),
    ]);
    var tester = el("button", { type: "button", class: "btn", "data-testid": "mailbox-form-test", hidden: true }, "Test connection");
    var submit = el("button", { type: "submit", class: "btn primary", "data-testid": "mailbox-submit" }, "Add mailbox");
    var cancel = el("button", { type: "button", class: "btn", "data-testid": "mailbox-edit-cancel", hidden: true }, "Cancel");
    var heading = el("h2", { id: "mailbox-new-heading", text: "Add a mailbox" });
    var editing = null;  // the mailbox being changed; null: adding one
    var result = el("p", { class: "test-result wide", role: "status", "data-testid": "mailbox-form-result", hidden: true });
    var error = el("p", { class: "error-text wide", role: "alert", "data-testid": "mailbox-form-error", hidden: true });
    var node = el("form", { class: "form-grid", "aria-label": "Add a mailbox", "data-testid": "mailbox-form" }, [
      field("Address", inputs.address), field("Name shown to customers", inputs.name),
      el("div", { class: "wide" }, [
        check("Mail arrives through Switchboard's own SMTP server (your MX or a forwarding rule points here)", inputs.smtp),
        check("Fetch mail from an IMAP mailbox", inputs.imap),
      ]),
      imapFields,
      field("Trusted mail server (optional)", inputs.authserv, "Its Authentication-Results vouch for agents' own mail."),
      field("Trusted relays (optional)", inputs.relays, "IP addresses, separated by commas."),
      el("div", { class: "wide" }, [
        check("Check DKIM signatures myself: an agent's mail counts as theirs when it is signed by their own domain (for mail with no trusted server in front)", inputs.dkim),
      ]),
      el("div", { class: "wide actions" }, [tester, cancel, submit]),
      result, error,
    ]);

    function imapSettings() {
      var settings = {
        host: inputs.host.value.trim(), port: inputs.port.value ? Number(inputs.port.value) : null, tls: inputs.tls.checked,
        user: inputs.user.value.trim() || inputs.address.value.trim(), password: inputs.password.value, folder: inputs.folder.value.trim() || "INBOX",
      };
      if (editing && !settings.password) delete settings.password;  // keep the saved one
      if (editing && settings.port === null) delete settings.port;
      return settings;
    }

    function showImap(on) {
      inputs.imap.checked = on;
      imapFields.hidden = tester.hidden = !on;
    }

    function stopEditing() {
      editing = null;
      node.reset();
      showImap(false);
      result.hidden = error.hidden = cancel.hidden = true;
      inputs.address.readOnly = false;
      inputs.port.placeholder = "993";
      inputs.password.placeholder = "";
      heading.textContent = "Add a mailbox";
      submit.textContent = "Add mailbox";
    }

    editMailbox = function (mailbox) {
      stopEditing();
      editing = mailbox;
      var imap = mailbox.imap;
      inputs.address.value = mailbox.address;
      inputs.address.readOnly = true;
      inputs.name.value = mailbox.display_name || "";
      inputs.smtp.checked = !!mailbox.smtp;
      showImap(!!imap);
      if (imap) {
        inputs.host.value = imap.host; inputs.port.value = imap.port; inputs.tls.checked = imap.tls;
        inputs.user.value = imap.user; inputs.folder.value = imap.folder;
      }
      inputs.password.placeholder = imap && imap.password_set ? "Leave empty to keep the saved password" : "";
      inputs.authserv.value = mailbox.trusted_authserv_id || "";
      inputs.relays.value = (mailbox.trusted_relays || []).join(", ");
      inputs.dkim.checked = !!mailbox.verify_dkim;
      heading.textContent = "Change " + mailbox.address;
      submit.textContent = "Save changes";
      cancel.hidden = false;
      section.scrollIntoView();
      inputs.name.focus();
    };
    cancel.addEventListener("click", stopEditing);

    inputs.tls.addEventListener("change", function () {
      inputs.port.placeholder = inputs.tls.checked ? "993" : "143";
    });
    inputs.imap.addEventListener("change", function () {
      imapFields.hidden = !inputs.imap.checked;
      tester.hidden = !inputs.imap.checked;
    });
    tester.addEventListener("click", function () {
      tester.disabled = true;
      showResult(result, { ok: true, message: "Testing…" });
      var settings = imapSettings();
      var asked = { imap: settings };
      if (editing && !settings.password) {
        var stored = editing.imap || {};
        if (["host", "tls", "user", "folder"].some(function (key) { return settings[key] !== stored[key]; })
            || (settings.port !== undefined && settings.port !== stored.port)) {
          showResult(result, { ok: false, message: "type the password to test the changed settings" });
          tester.disabled = false;
          return;
        }
        asked = { address: editing.address };  // the saved settings, with the saved password
      }
      SB.api("POST", API + "/test", asked).then(function (answer) {
        showResult(result, answer);
      }, function (problem) {
        showResult(result, { ok: false, message: problem.message });
      }).then(function () { tester.disabled = false; });
    });
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      error.hidden = true;
      var body = {
        address: inputs.address.value.trim(), display_name: inputs.name.value.trim(), smtp: inputs.smtp.checked,
        imap: inputs.imap.checked ? imapSettings() : null,
        trusted_authserv_id: inputs.authserv.value.trim() || null,
        trusted_relays: inputs.relays.value.split(/[\s,]+/).filter(Boolean),
        verify_dkim: inputs.dkim.checked,
      };
      var saved;
      if (editing) {
        delete body.address;  // a mailbox's address does not change
        saved = SB.api("PATCH", API + "/" + encodeURIComponent(editing.address), body);
      } else {
        saved = SB.api("POST", API, body);
      }
      var changed = !!editing;
      saved.then(function (answer) {
        SB.toast(answer.mailbox.address + (changed ? ": the changes were saved." : " was added."));
        stopEditing();
        refresh();
      }, function (problem) {
        error.textContent = problem.message.charAt(0).toUpperCase() + problem.message.slice(1);
        error.hidden = false;
      });
    });
    SB.clear(section);
    section.appendChild(el("header", {}, heading));
    section.appendChild(el("div", { class: "card-body" }, node));
  }

  SB.boot({ active: "", roles: ["admin"] }, function () {
    var listed = document.getElementById("mailbox-list");
    list(listed);
    form(document.getElementById("mailbox-new"), function () { list(listed); });
  });
})();
