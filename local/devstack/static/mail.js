// Reloads the mailbox when a new mail arrives (polls /_dev/mail.json every two seconds).
"use strict";

const newest = document.body.dataset.newest || "";

async function check() {
  try {
    const response = await fetch("/_dev/mail.json", { headers: { Accept: "application/json" } });
    const { messages } = await response.json();
    const latest = messages.length ? messages[0].id : "";
    if (latest !== newest) {
      window.location.reload();
      return;
    }
  } catch (_) {
    // The stack is restarting or stopped: try again later.
  }
  window.setTimeout(check, 2000);
}

window.setTimeout(check, 2000);
