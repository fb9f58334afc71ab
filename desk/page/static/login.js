/*
 * Switchboard login page: posts the email and password to /api/login, keeps the CSRF token
 * of the answer for later writes, then goes to the page that asked for the login (a path on
 * this gateway only) or to the queue.
 */
(function () {
  "use strict";

  function target() {
    var next = new URLSearchParams(location.search).get("next") || "";
    // Only a path of this site. The URL parser drops tabs and newlines and reads "\" as
    // "/", so "/\t/evil.example" is "//evil.example", another host: parse first, then
    // compare origins, and go to what the parser made of it.
    if (next.charAt(0) !== "/") return "/queue";
    var url;
    try {
      url = new URL(next, location.origin);
    } catch (e) {
      return "/queue";
    }
    if (url.origin !== location.origin) return "/queue";
    return url.pathname + url.search + url.hash;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("login-form");
    var error = document.getElementById("login-error");
    var button = form.querySelector("button[type=submit]");
    document.getElementById("email").focus();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var email = form.elements.email.value.trim();
      var password = form.elements.password.value;
      if (!email || !password) {
        error.textContent = "Enter your email and password.";
        error.hidden = false;
        return;
      }
      button.disabled = true;
      error.hidden = true;
      SB.api("POST", "/api/login", { email: email, password: password }).then(function (body) {
        SB.csrf(body.csrf_token);
        location.assign(target());
      }, function (problem) {
        button.disabled = false;
        error.textContent = problem.status === 401 ? "Wrong email or password." : problem.message;
        error.hidden = false;
        form.elements.password.select();
      });
    });
    // Until now a click or Enter would have submitted the form natively (and, with a page
    // still loading, put the password in a URL): the button only works from here on.
    button.disabled = false;
  });
})();
