/*
 * Switchboard queue page: every call the queue page makes to the JSON API, in one place.
 * Lists come from the queue API one keyset page at a time (pass next_cursor back), badge
 * counts in one call; a conversation's history, profile, notes, transitions and viewers
 * from the conversation view; the actions post to the action routes.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var api = SB.api;
  var PAGE_SIZE = 25;

  function post(path, body, headers) {
    return api("POST", path, body === undefined ? {} : body, headers);
  }

  function conversationPath(id, action) {
    return "/api/conversations/" + encodeURIComponent(id) + (action ? "/" + action : "");
  }

  SB.data = {
    PAGE_SIZE: PAGE_SIZE,

    /* One page of a view: {items, next_cursor}. params: view, channel, team, label, q,
       cursor. */
    queue: function (params) {
      return api("GET", "/api/queue/" + encodeURIComponent(params.view) + SB.query({
        channel: params.channel,
        team_id: params.team,
        label: params.label,
        q: params.q,
        cursor: params.cursor,
        limit: PAGE_SIZE,
      }));
    },

    /* {counts: {waiting, mine, ai, manual, resolved, ...}} under the channel, team and
       label filters (a search is not counted). */
    counts: function (params) {
      return api("GET", "/api/queue/counts" + SB.query({
        channel: params.channel, team_id: params.team, label: params.label,
      }));
    },

    conversation: function (id) {
      return api("GET", conversationPath(id));
    },

    agents: function () { return api("GET", "/api/agents"); },
    teams: function () { return api("GET", "/api/teams"); },
    labels: function () { return api("GET", "/api/labels"); },
    canned: function () { return api("GET", "/api/canned-responses"); },
    presence: function (beat) {
      return beat ? post("/api/presence") : api("GET", "/api/presence");
    },

    claim: function (id) { return post(conversationPath(id, "claim")); },
    /* `key`: the reply's Idempotency-Key, the same for each try of one reply, so a reply
       that went through before its answer was lost is not sent twice. */
    reply: function (id, text, cc, key) {
      var body = { text: text };
      if (cc) body.cc = cc;
      return post(conversationPath(id, "reply"), body, key ? { "Idempotency-Key": key } : undefined);
    },
    note: function (id, text) { return post(conversationPath(id, "notes"), { text: text }); },
    manual: function (id) { return post(conversationPath(id, "manual")); },
    handback: function (id, message) {
      return post(conversationPath(id, "handback"), message ? { message: message } : {});
    },
    resolve: function (id, message) {
      return post(conversationPath(id, "resolve"), message ? { message: message } : {});
    },
    reassign: function (id, target) {
      return post(conversationPath(id, "reassign"), {
        agent_id: target.agent_id ? Number(target.agent_id) : null,
        team_id: target.team_id ? Number(target.team_id) : null,
      });
    },
    setLabel: function (id, label) {
      return post(conversationPath(id, "label"), { label: label || null });
    },
    typing: function (id) { return post(conversationPath(id, "typing")); },
    read: function (id, messageId) {
      return post(conversationPath(id, "read"), { message_id: messageId });
    },
  };
})();
