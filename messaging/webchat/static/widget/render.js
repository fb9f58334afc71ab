  /*
   * Web chat widget, part 4 of 6 (render.js): drawing the conversation: the status line,
   * the bubbles with their times, the greeting and its suggested questions, pending and
   * failed messages with their Retry, the typing line, errors and the character counter.
   */

  // --- rendering ------------------------------------------------------------------------

  function renderStatus() {
    var words;
    if (fatal) words = "Chat unavailable";
    else if (!welcomed) words = everWelcomed ? "Reconnecting…" : "Connecting…";
    else if (convState === "queued") words = "Waiting for a person…";
    else if (HUMAN[convState]) words = (agentName || "A person from our team") + " is helping you";
    else if (convState === "resolved") words = "Conversation resolved. Write again any time.";
    else words = "You're chatting with our assistant";
    statusLine.textContent = words;
    statusLine.setAttribute("data-state", welcomed ? convState : "offline");
    updateSend();
  }

  function authorLabel(author, name) {
    if (author === "ai") return "Assistant";
    if (author === "agent") return name || "Agent";
    return null;
  }

  /* The time a message was written: hours and minutes today, with the date before that;
     the full date and time on hover. A live message is stamped when it arrives. */
  function stamp(iso) {
    var when = iso ? new Date(iso) : new Date();
    if (isNaN(when.getTime())) when = new Date();
    var today = when.toDateString() === new Date().toDateString();
    var clock = { hour: "2-digit", minute: "2-digit" };
    var shown = today ? when.toLocaleTimeString([], clock)
      : when.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    var node = el("time", { datetime: when.toISOString(), title: when.toLocaleString([], { dateStyle: "full", timeStyle: "short" }), "data-testid": "time" }, shown);
    return node;
  }

  function bubble(author, name, text, notice, at) {
    var item = el("div", { class: "msg", "data-testid": "message", "data-author": author });
    var label = authorLabel(author, name);
    if (label && author !== "customer") item.appendChild(el("span", { class: "who" }, label));
    if (notice) item.setAttribute("data-notice", notice);
    item.appendChild(el("span", { class: "text" }, text || ""));
    item.appendChild(stamp(at));
    return item;
  }

  /* The greeting a new visitor sees, with the suggested questions as buttons. */
  function greet(suggestions) {
    var box = el("div", { class: "greeting", "data-testid": "greeting" });
    box.appendChild(el("p", {}, suggestions.length
      ? "Hi! Ask us anything, or pick a question:"
      : "Hi! How can we help you today?"));
    suggestions.slice(0, 3).forEach(function (question) {
      var button = el("button", { class: "suggestion", type: "button", "data-testid": "suggestion" }, question);
      button.addEventListener("click", function () {
        input.value = question;
        send();
      });
      box.appendChild(button);
    });
    messages.appendChild(box);
  }

  function dropSuggestions() {
    Array.prototype.forEach.call(messages.querySelectorAll(".suggestion"), function (b) { b.remove(); });
  }

  function scrollDown() {
    messages.scrollTop = messages.scrollHeight;
  }

  function addMessage(frame) {
    var id = frame.message_id == null ? null : String(frame.message_id);
    if (id !== null && rendered[id]) return false;
    var item = bubble(frame.author, frame.author_name, frame.text, frame.notice, frame.created_at);
    if (id !== null) {
      item.setAttribute("data-message-id", id);
      rendered[id] = item;
    }
    messages.appendChild(item);
    scrollDown();
    return true;
  }

  function markSent(clientId, messageId) {
    var item = pending[clientId];
    delete pending[clientId];
    outbox = outbox.filter(function (m) { return m.id !== clientId; });
    store(OUTBOX_KEY, outbox);
    if (!item) return;
    var id = String(messageId);
    if (rendered[id] && rendered[id] !== item) {
      item.remove(); // already shown (another tab, or the live copy came first)
      return;
    }
    item.classList.remove("pending");
    item.setAttribute("data-message-id", id);
    var note = item.querySelector(".state");
    if (note) note.remove();
    rendered[id] = item;
  }

  function markFailed(clientId) {
    var item = pending[clientId];
    var message = outbox.filter(function (m) { return m.id === clientId; })[0];
    outbox = outbox.filter(function (m) { return m.id !== clientId; });
    store(OUTBOX_KEY, outbox);
    if (!item) return;
    item.classList.remove("pending");
    item.classList.add("failed");
    var note = item.querySelector(".state") || item.appendChild(el("span", { class: "state" }));
    note.textContent = "Not sent.";
    if (message) {
      var retry = el("button", { class: "retry", type: "button", "data-testid": "retry" }, "Retry");
      retry.addEventListener("click", function () {
        item.classList.remove("failed");
        item.classList.add("pending");
        note.textContent = "Sending…";
        outbox.push(message);
        store(OUTBOX_KEY, outbox);
        transmit(message);
      });
      note.appendChild(retry);
    }
  }

  function addPending(message) {
    dropSuggestions();
    var item = bubble("customer", null, message.text, null, null);
    item.classList.add("pending");
    item.setAttribute("data-client-id", message.id);
    item.appendChild(el("span", { class: "state" }, "Sending…"));
    pending[message.id] = item;
    messages.appendChild(item);
    scrollDown();
  }

  function showTyping(author, name) {
    typing.textContent = (author === "ai" ? "Assistant" : name || agentName || "Agent") + " is typing…";
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_HIDE_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
  }

  function showError(code, frame, persistent) {
    var words = ERRORS[code];
    if (typeof words === "function") words = words(frame);
    errorBox.textContent = words || (frame && frame.message) || "Something went wrong. Please try again.";
    errorBox.setAttribute("data-code", code);
    errorBox.hidden = false;
    clearTimeout(errorTimer);
    if (!persistent) errorTimer = setTimeout(clearError, 8000);
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.removeAttribute("data-code");
  }

  function updateCounter() {
    var length = input.value.length;
    counter.hidden = length < maxChars * 0.8;
    counter.textContent = length + " / " + maxChars;
    counter.classList.toggle("over", length > maxChars);
    input.setAttribute("aria-invalid", length > maxChars ? "true" : "false");
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 110) + "px";
    updateSend();
  }

  function updateSend() {
    sendButton.disabled = fatal || input.value.trim() === "";
  }
