// The placeholder portal: asks the API who the portal_session cookie belongs to.
"use strict";

function show(id) {
  for (const section of ["loading", "signed-in", "signed-out"]) {
    document.getElementById(section).hidden = section !== id;
  }
}

async function loadCurrent() {
  const response = await fetch("/v1/sessions/current", {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (response.status !== 200) {
    show("signed-out");
    return;
  }
  const { account } = await response.json();
  document.getElementById("account-name").textContent = account.name;
  document.getElementById("account-email").textContent = account.email;
  document.getElementById("account-role").textContent = account.role;
  document.getElementById("account-firm").textContent = account.firm_id;
  document.getElementById("account-id").textContent = account.account_id;
  document.getElementById("account-locale").textContent = account.locale;
  show("signed-in");
}

async function signIn(event) {
  event.preventDefault();
  const error = document.getElementById("sign-in-error");
  error.hidden = true;
  const response = await fetch("/v1/sessions", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({
      email: document.getElementById("email").value,
      password: document.getElementById("password").value,
    }),
  });
  if (response.status !== 201) {
    const body = await response.json().catch(() => ({}));
    error.textContent = (body.error && body.error.message) || `HTTP ${response.status}`;
    error.hidden = false;
    return;
  }
  document.getElementById("password").value = "";
  await loadCurrent();
}

async function signOut() {
  // A cookie-authenticated unsafe request proves it comes from script (see the API gate).
  await fetch("/v1/sessions/current", {
    method: "DELETE",
    credentials: "same-origin",
    headers: { "X-Requested-With": "fetch" },
  });
  await loadCurrent();
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("sign-in").addEventListener("submit", signIn);
  document.getElementById("sign-out").addEventListener("click", signOut);
  loadCurrent().catch(() => show("signed-out"));
});
