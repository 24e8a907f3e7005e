// The client help article's one piece of behaviour: the form that asks for a new reset link
// (POST v1/password-resets, JSON). The article itself reads without this script.
// Plain JS without dependencies; loaded with `defer`, so the DOM is ready when this runs.
// Text only ever goes into the page through textContent, never as HTML.
"use strict";

(() => {
  document.documentElement.classList.add("js");

  const data = JSON.parse(document.getElementById("help-data").textContent);
  const t = (key) => data.texts[key] ?? key;
  const form = document.getElementById("request-form");
  const email = document.getElementById("request-email");
  const submit = document.getElementById("request-submit");
  const result = document.getElementById("request-result");
  let sending = false;

  function show(key) {
    result.dataset.result = key === "request_done" ? "ok" : "error";
    result.dataset.message = key;
    result.textContent = t(key);
  }

  async function request(event) {
    event.preventDefault();
    if (sending) return;
    const address = email.value.trim();
    if (!address || !email.checkValidity()) {
      show("request_invalid_email");
      email.setAttribute("aria-invalid", "true");
      email.focus();
      return;
    }
    email.removeAttribute("aria-invalid");
    sending = true;
    submit.disabled = true;
    submit.textContent = t("request_sending");
    let key = "request_failed";
    try {
      const response = await fetch(data.api.request, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ email: address, locale: data.locale }),
        credentials: "same-origin",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
      if (response.status === 202) key = "request_done";
      else if (response.status === 400) key = "request_invalid_email";
    } catch {
      key = "request_failed";
    }
    sending = false;
    submit.disabled = false;
    submit.textContent = t("request_submit");
    show(key);
    if (key === "request_done") form.reset();
    else email.focus();
  }

  form.addEventListener("submit", request);
})();
