/*
 * Switchboard knowledge base page (admins): "Try a question" (the answer the AI would give,
 * with how sure it is against the confidence it needs), uploading Markdown and CSV files
 * (a file replaces what an earlier file of the same name loaded), and the entries a page
 * at a time, each with Delete.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var el = SB.el;
  var API = "/api/admin/knowledge";
  var page = 1;

  function percent(value) {
    return Math.round(value * 100) + "%";
  }

  function tester(section) {
    var question = el("input", { type: "text", required: true, maxlength: 500, autocomplete: "off", placeholder: "Do you ship to Canada?", "data-testid": "kb-question" });
    var result = el("div", { class: "kb-answer", role: "status", "data-testid": "kb-answer", hidden: true });
    var node = el("form", { class: "form-grid", "aria-label": "Try a question", "data-testid": "kb-test-form" }, [
      el("label", { class: "field wide" }, ["A customer's question", question]),
      el("div", { class: "wide actions" }, el("button", { type: "submit", class: "btn primary", "data-testid": "kb-ask" }, "Show the AI's answer")),
      result,
    ]);
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      SB.api("POST", API + "/test", { question: question.value }).then(function (answer) {
        SB.clear(result);
        result.hidden = false;
        var closest = answer.closest;
        var fromEntry = answer.knows && closest && closest.confidence >= answer.threshold;
        var verdict;
        if (fromEntry) {
          verdict = "The AI answers from “" + closest.title + "”, " + percent(closest.confidence) + " sure (it needs " + percent(answer.threshold) + ").";
        } else if (answer.knows) {
          verdict = "The AI answers greetings and thanks itself, without the knowledge base.";
        } else if (closest) {
          verdict = "The AI says it is not sure and offers a person: the closest entry, “" + closest.title + "”, is only " +
            percent(closest.confidence) + " sure, below the " + percent(answer.threshold) + " it needs.";
        } else {
          verdict = "The AI says it is not sure and offers a person: no entry matches this question.";
        }
        result.setAttribute("data-knows", String(!!fromEntry));
        result.appendChild(el("p", { class: "kb-verdict", "data-testid": "kb-verdict", text: verdict }));
        result.appendChild(el("blockquote", { "data-testid": "kb-answer-text", text: answer.answer }));
        if (answer.hosted_model) {
          result.appendChild(el("p", { class: "hint", text: "A hosted model writes the real replies from the entries it finds; this is the knowledge base's own answer." }));
        }
      }, function (problem) {
        SB.clear(result);
        result.hidden = false;
        result.appendChild(el("p", { class: "error-text", text: SB.sentence(problem.message) }));
      });
    });
    section.appendChild(el("header", {}, el("h2", { id: "knowledge-test-heading", text: "Try a question" })));
    section.appendChild(el("div", { class: "card-body" }, node));
  }

  function uploader(section, refresh) {
    var files = el("input", { type: "file", multiple: true, required: true, accept: ".md,.markdown,.csv,text/markdown,text/csv", "data-testid": "kb-files" });
    var status = el("p", { class: "test-result wide", role: "status", "data-testid": "kb-upload-result", hidden: true });
    var node = el("form", { class: "form-grid", "aria-label": "Upload knowledge files", "data-testid": "kb-upload-form" }, [
      el("label", { class: "field wide" }, ["Markdown or CSV files", files,
        el("span", { class: "hint", text: "Markdown: each “## heading” section is one entry. CSV: question and answer columns, title and body columns, or a product table. A file replaces the entries an earlier file of the same name loaded. Up to 1 MB at a time." })]),
      el("div", { class: "wide actions" }, el("button", { type: "submit", class: "btn primary", "data-testid": "kb-upload" }, "Upload")),
      status,
    ]);
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new FormData();
      Array.prototype.forEach.call(files.files, function (file) { body.append("files", file, file.name); });
      fetch(API, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": SB.csrf(), Accept: "application/json" } })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            if (response.status === 401) SB.toLogin();
            if (response.status === 413) throw new Error("These files are larger than 1 MB together; upload them a few at a time");
            if (!response.ok) throw new Error(data.message || "The upload failed");
            return data;
          });
        })
        .then(function (answer) {
          var parts = answer.files.map(function (file) { return file.name + ": " + SB.words.count(file.entries, "entry", "entries"); });
          SB.showResult(status, true, "Loaded " + parts.join("; "));
          node.reset();
          page = 1;
          refresh();
        }, function (problem) {
          SB.showResult(status, false, problem.message);
        });
    });
    section.appendChild(el("header", {}, el("h2", { id: "knowledge-upload-heading", text: "Upload files" })));
    section.appendChild(el("div", { class: "card-body" }, node));
  }

  function entries(section) {
    return SB.api("GET", API + "?page=" + page).then(function (answer) {
      if (answer.page > answer.pages && page > 1) { page = answer.pages; return entries(section); }
      SB.clear(section);
      section.appendChild(el("header", {}, [
        el("h2", { id: "knowledge-entries-heading", text: "Entries" }),
        el("span", { class: "hint", "data-testid": "kb-total", text: answer.total ? SB.words.count(answer.total, "entry", "entries") + " in all" : "" }),
      ]));
      var body = el("div", { class: "card-body" });
      if (!answer.entries.length) {
        body.appendChild(el("p", { class: "hint", "data-testid": "kb-empty", text: "The knowledge base is empty: the AI will offer a person for every question. Upload a file above." }));
      }
      var rows = el("tbody");
      answer.entries.forEach(function (entry) {
        var text = entry.body.length > 240 ? entry.body.slice(0, 240).trim() + "…" : entry.body;
        rows.appendChild(el("tr", { "data-testid": "kb-entry", "data-id": entry.id }, [
          el("td", {}, [el("strong", { text: entry.title }), el("div", { class: "hint kb-body", text: text })]),
          el("td", { class: "hint", text: entry.source }),
          el("td", {}, el("button", { type: "button", class: "btn small danger", "data-testid": "kb-delete", onclick: function () {
            SB.ask({
              title: "Delete “" + entry.title + "”?", ok: "Delete", danger: true, testid: "delete-entry-dialog",
              text: "The AI stops answering from it. Uploading " + entry.source + " again brings it back.",
              submit: function () { return SB.api("DELETE", API + "/" + entry.id); },
            }).then(function (done) {
              if (done) SB.toast("“" + entry.title + "” was deleted.");
              entries(section);
            });
          } }, "Delete")),
        ]));
      });
      if (answer.entries.length) {
        body.appendChild(el("div", { class: "table-wrap" }, el("table", { class: "data", "data-testid": "kb-table" }, [
          el("thead", {}, el("tr", {}, ["Entry", "From file", ""].map(function (h) { return el("th", { scope: "col", text: h }); }))),
          rows,
        ])));
      }
      if (answer.pages > 1) {
        var previous = el("button", { type: "button", class: "btn small", disabled: page <= 1, "data-testid": "kb-previous", onclick: function () { page -= 1; entries(section); } }, "Previous");
        var next = el("button", { type: "button", class: "btn small", disabled: page >= answer.pages, "data-testid": "kb-next", onclick: function () { page += 1; entries(section); } }, "Next");
        body.appendChild(el("nav", { class: "actions pager", "aria-label": "Entry pages" }, [
          previous, el("span", { class: "hint", "data-testid": "kb-page", text: "Page " + answer.page + " of " + answer.pages }), next,
        ]));
      }
      section.appendChild(body);
    }, SB.fail);
  }

  SB.boot({ active: "knowledge", roles: ["admin"] }, function () {
    var listed = document.getElementById("knowledge-entries");
    tester(document.getElementById("knowledge-test"));
    uploader(document.getElementById("knowledge-upload"), function () { entries(listed); });
    entries(listed);
  });
})();
