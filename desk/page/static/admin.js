/*
 * Switchboard admin page: the section tabs (People, Teams, Canned responses, Settings,
 * Customer notices, Channels),
 * with the section in the URL's hash so a link opens it. Each section is drawn by its own
 * file and reloads its data when shown. Above them, links to the channels' own admin
 * pages (the mailboxes, say), as the channels declare them.
 */
(function () {
  "use strict";

  var SB = (window.SB = window.SB || {});
  var SECTIONS = ["people", "teams", "canned", "settings", "notices", "channels"];

  SB.boot({ active: "admin", roles: ["admin"] }, function (agent) {
    var renderers = {
      people: SB.admin.people, teams: SB.admin.teams, canned: SB.admin.canned, settings: SB.admin.settings,
      notices: SB.admin.notices, channels: SB.admin.channels,
    };

    function show(name, focus) {
      if (SECTIONS.indexOf(name) < 0) name = "people";
      SECTIONS.forEach(function (section) {
        var tab = document.getElementById("tab-" + section);
        var selected = section === name;
        tab.setAttribute("aria-selected", String(selected));
        tab.tabIndex = selected ? 0 : -1;
        document.getElementById("panel-" + section).hidden = !selected;
        if (selected && focus) tab.focus();
      });
      if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
      renderers[name](document.getElementById("panel-" + name), agent);
    }

    SECTIONS.forEach(function (section, index) {
      var tab = document.getElementById("tab-" + section);
      tab.addEventListener("click", function () { show(section); });
      tab.addEventListener("keydown", function (event) {
        var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        event.preventDefault();
        show(SECTIONS[(index + step + SECTIONS.length) % SECTIONS.length], true);
      });
    });
    SECTIONS.forEach(function (section, index) {
      SB.shortcut(String(index + 1), "Show " + document.getElementById("tab-" + section).textContent, function () { show(section, true); }, "Admin");
    });
    show(location.hash.slice(1));
    SB.api("GET", "/api/channels").then(function (answer) {
      var nav = document.querySelector('[data-testid="channel-pages"]');
      var pages = answer.admin_settings.filter(function (setting) { return setting.page; });
      if (pages.length) nav.appendChild(SB.el("span", { class: "hint", text: "Channel settings:" }));
      pages.forEach(function (setting) {
        nav.appendChild(SB.el("a", { href: setting.page, title: setting.description, text: setting.label }));
        nav.hidden = false;
      });
    }, SB.fail);
  });
})();
