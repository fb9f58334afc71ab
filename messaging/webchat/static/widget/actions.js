  /*
   * Web chat widget, part 6 of 6 (actions.js): what the visitor does: send (kept in the
   * outbox until acknowledged), open and close the panel, type; reconnecting when the
   * browser is back online or the tab visible again; and mounting the widget on the page.
   * Closes the function start.js opened.
   */

  // --- user actions ---------------------------------------------------------------------

  function send() {
    var text = input.value;
    if (!text.trim()) return;
    if (text.length > maxChars) {
      showError("message_too_long", null, false);
      return;
    }
    var message = { id: newId(), text: text };
    outbox.push(message);
    store(OUTBOX_KEY, outbox);
    addPending(message);
    input.value = "";
    updateCounter();
    if (welcomed) transmit(message);
    else connect();
  }

  function open(focus) {
    panel.hidden = false;
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close chat");
    unreadCount = 0;
    unread.hidden = true;
    connect();
    scrollDown();
    if (focus !== false) input.focus();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open chat");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open();
    else close();
  });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  input.addEventListener("input", function () {
    updateCounter();
    var now = Date.now();
    if (welcomed && input.value && now - lastTypingSent > 3000) {
      lastTypingSent = now;
      frameOut({ type: "typing" });
    }
  });
  window.addEventListener("online", function () {
    if (!socket && !fatal && everWelcomed) connect();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !socket && !fatal && everWelcomed) connect();
  });

  function mount() {
    document.body.appendChild(host);
    // A returning visitor (or one with unsent messages) reconnects at once; a new one
    // connects when they open the chat.
    var narrow = window.matchMedia && window.matchMedia(NARROW).matches;
    if (script.getAttribute("data-open") === "true" && !narrow) open(false);
    else if (token || outbox.length) connect();
    renderStatus();
  }

  window.Switchboard = { open: open, close: close };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
