// The reference portal: a client portal's screens on this service's public API, called as a
// browser calls it (same origin, the __Host-portal_session cookie; no token is ever read or stored here).
// Plain JS without dependencies; loaded with `defer`. Text only ever goes into the page through
// textContent, never as HTML. Texts: portal-texts.json (German by default, English on request).
"use strict";

(() => {
  const LANGUAGE_KEY = "portal.language";
  // How often the deliveries list asks again while a mail is on its way, and for how long after
  // the mail was requested (a mail that never reports back must not keep the page polling).
  const POLL_EVERY_MS = 1500;
  const POLL_WINDOW_MS = 15 * 60 * 1000;
  const ON_ITS_WAY = new Set(["sent", "delayed"]);
  // Mails with a link the client asked for or staff sent; the others (notices) go out by themselves.
  const LINK_KINDS = new Set(["reset", "invitation", "unlock"]);
  const VIEWS = ["loading", "sign-in", "forgot", "firm", "clients", "profile", "client-home", "password"];

  const $ = (id) => document.getElementById(id);
  let texts = null;
  let language = localStorage.getItem(LANGUAGE_KEY) === "en" ? "en" : "de";
  let me = null; // the account the session acts as, from GET /v1/sessions/current
  let myAccounts = []; // every active account of the login: [{account_id, firm_id, firm_name, role}]
  let clients = []; // staff: GET /v1/accounts
  let profile = null; // the client whose profile is open
  let dialogAction = null; // "reset" | "invite"
  let lastDeliveries = null; // the open profile's, as last loaded
  let pollTimer = null;
  let pendingFlash = null; // the message go() leaves for the view the next hashchange shows
  let renderCurrent = () => {}; // re-renders the open view after a language switch

  // ------------------------------------------------------------------ texts

  function t(key, values = {}) {
    const table = texts[language] || texts.de;
    const text = table[key] ?? texts.de[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  }

  function applyTexts() {
    document.documentElement.lang = language;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    }
    const switcher = $("language-switch");
    switcher.lang = language === "de" ? "en" : "de";
    switcher.setAttribute("aria-label", t("language_switch_label"));
    $("forgot-help").href = `/help/reset-email?lang=${language}`;
    document.title = t("page_title");
  }

  function formatTime(iso) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return String(iso || "");
    return new Intl.DateTimeFormat(language === "de" ? "de-DE" : "en-GB", {
      dateStyle: "long",
      timeStyle: "short",
    }).format(at);
  }

  // As the API masks an address in its answers ("a***@example.com").
  function maskEmail(email) {
    const [local, domain] = String(email).split("@");
    return domain ? `${local.slice(0, 1)}***@${domain}` : "***";
  }

  // ------------------------------------------------------------------ the API

  // Every call is same-origin with the cookie. Unsafe methods always send a JSON body ("{}" when
  // there is nothing to send) declared as application/json: the API refuses cookie-authenticated
  // unsafe requests without it (a cross-site form cannot send that).
  async function api(method, path, body) {
    const init = {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json", "Accept-Language": language },
    };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body ?? {});
    }
    const response = await fetch(path, init);
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null; // 204, or a gateway page
    }
    const error = payload && typeof payload.error === "object" && payload.error ? payload.error : {};
    return { status: response.status, body: payload, error, headers: response.headers };
  }

  // ------------------------------------------------------------------ views and routing

  function show(view) {
    for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  }

  function flash(key) {
    const node = $("flash");
    if (!key) {
      node.hidden = true;
      node.textContent = "";
      return;
    }
    node.dataset.i18n = key;
    node.textContent = t(key);
    node.hidden = false;
  }

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function renderChrome() {
    const staff = me && me.role !== "client";
    $("nav").hidden = !me;
    $("nav-clients").hidden = !staff;
    $("nav-home").hidden = !me || staff;
    $("user-box").hidden = !me;
    $("user-name").textContent = me ? `${me.name} · ${t(`role_${me.role}`)}` : "";
    $("user-firm").textContent = me ? firmName(me) : "";
    $("switch-firm").hidden = !me || myAccounts.length < 2;
  }

  // The firm the account belongs to, by name (the login's accounts carry the firms' names).
  function firmName(account) {
    const entry = myAccounts.find((candidate) => candidate.account_id === account.account_id);
    return entry ? entry.firm_name : account.firm_id;
  }

  // The session's account and the login's accounts, as every session answer carries them. True
  // when the session now acts as another account than before (then nothing of the other firm stays).
  function actAs(body) {
    const changed = !me || me.account_id !== body.account.account_id;
    me = body.account;
    myAccounts = Array.isArray(body.accounts) ? body.accounts : [];
    if (changed) {
      clients = [];
      profile = null;
      lastDeliveries = null;
    }
    return changed;
  }

  async function route() {
    stopPolling();
    closeMenu();
    renderChrome();
    const path = location.hash.replace(/^#/, "") || "/";
    if (path === "/forgot") return showForgot();
    if (!me) return showSignIn();
    if (path === "/password") return showPassword();
    if (path === "/firm") return showFirmChooser();
    const opened = path.match(/^\/clients\/([^/]+)$/);
    if (me.role === "client") return showClientHome();
    if (opened) return showProfile(decodeURIComponent(opened[1]));
    return showClients();
  }

  // flashKey: a message for the view gone to (a plain hashchange clears the message).
  function go(path, flashKey = null) {
    if (location.hash === `#${path}`) {
      flash(flashKey);
      route();
    } else {
      pendingFlash = flashKey;
      location.hash = path; // hashchange routes
    }
  }

  // Returns whether the session acts as another account than this page knew.
  async function loadMe() {
    const answer = await api("GET", "/v1/sessions/current");
    if (answer.status === 200 && answer.body) return actAs(answer.body);
    me = null;
    myAccounts = [];
    return true;
  }

  // A signed-in call answered 401: the session ended (expired, signed out elsewhere, password changed).
  function sessionEnded() {
    me = null;
    myAccounts = [];
    go("/", "session_ended");
  }

  // ------------------------------------------------------------------ sign in, forgot, sign out

  function showSignIn() {
    renderCurrent = () => {};
    show("sign-in");
    $("sign-in-error").hidden = true;
    $("sign-in-email").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const error = $("sign-in-error");
    error.hidden = true;
    const submit = $("sign-in-submit");
    submit.disabled = true;
    submit.textContent = t("sign_in_busy");
    let answer = null;
    try {
      answer = await api("POST", "/v1/sessions", {
        email: $("sign-in-email").value.trim(),
        password: $("sign-in-password").value,
      });
    } catch {
      answer = null;
    }
    submit.disabled = false;
    submit.textContent = t("sign_in_submit");
    if (answer && answer.status === 201) {
      $("sign-in-password").value = "";
      flash(null);
      actAs(answer.body);
      // Accounts at several firms: ask which firm's portal, as the CRM's own sign-in does.
      go(myAccounts.length > 1 ? "/firm" : "/");
      return;
    }
    const key = !answer
      ? "error_network"
      : answer.status === 401
        ? "sign_in_failed"
        : answer.status === 429
          ? "password_rate_limited"
          : "error_server";
    error.textContent = answer && answer.status === 403 ? answer.error.message || t(key) : t(key);
    error.hidden = false;
    $("sign-in-password").focus();
  }

  function showForgot() {
    renderCurrent = () => {};
    show("forgot");
    $("forgot-ask").hidden = false;
    $("forgot-done").hidden = true;
    $("forgot-error").hidden = true;
    $("back-to-sign-in").hidden = Boolean(me);
    $("forgot-email").focus();
  }

  async function requestLink(event) {
    event.preventDefault();
    const input = $("forgot-email");
    const error = $("forgot-error");
    const email = input.value.trim();
    error.hidden = true;
    if (!email || !input.checkValidity()) {
      error.textContent = t("invalid_email");
      error.hidden = false;
      input.focus();
      return;
    }
    const submit = $("forgot-submit");
    submit.disabled = true;
    submit.textContent = t("forgot_busy");
    let answer = null;
    try {
      answer = await api("POST", "/v1/password-resets", { email, locale: language });
    } catch {
      answer = null;
    }
    submit.disabled = false;
    submit.textContent = t("forgot_submit");
    if (answer && answer.status === 202) {
      $("forgot-ask").hidden = true;
      $("forgot-done-text").textContent = t("forgot_done_text", { email });
      $("forgot-done").hidden = false;
      input.value = "";
      return;
    }
    error.textContent = t(!answer ? "error_network" : answer.status === 400 ? "invalid_email" : "error_server");
    error.hidden = false;
  }

  async function signOut() {
    try {
      await api("DELETE", "/v1/sessions/current");
    } catch {
      // Signed out here either way; the cookie ends with the session.
    }
    me = null;
    myAccounts = [];
    clients = [];
    go("/", "signed_out");
  }

  // ------------------------------------------------------------------ which firm

  function showFirmChooser() {
    if (myAccounts.length < 2) return go("/");
    renderCurrent = renderFirmChooser;
    show("firm");
    $("firm-error").hidden = true;
    renderFirmChooser();
    const current = $("firm-list").querySelector('[aria-current="true"]');
    (current || $("firm-list").querySelector("button")).focus();
  }

  // One button per account of the login, in the order the API lists them: the firm's name and the
  // person's role there; the firm the session acts as now is marked (aria-current and in words).
  function renderFirmChooser() {
    const items = myAccounts.map((account) => {
      const item = document.createElement("li");
      const choice = document.createElement("button");
      choice.type = "button";
      choice.className = "firm-choice";
      choice.dataset.accountId = account.account_id;
      const name = document.createElement("span");
      name.className = "firm-choice-name";
      name.textContent = account.firm_name;
      const role = document.createElement("span");
      role.className = "firm-choice-role";
      role.textContent = t(`role_${account.role}`);
      choice.append(name, " ", role);
      if (me && account.account_id === me.account_id) {
        choice.setAttribute("aria-current", "true");
        const current = document.createElement("span");
        current.className = "badge";
        current.textContent = t("firm_current");
        choice.append(" ", current);
      }
      choice.addEventListener("click", () => chooseFirm(account.account_id));
      item.append(choice);
      return item;
    });
    $("firm-list").replaceChildren(...items);
  }

  // Up/Down (and Home/End) move between the firms; Tab leaves the list as usual.
  function onFirmListKey(event) {
    const choices = [...$("firm-list").querySelectorAll("button")];
    const index = choices.indexOf(document.activeElement);
    if (index < 0) return;
    const moves = {
      ArrowDown: index + 1,
      ArrowUp: index - 1,
      Home: 0,
      End: choices.length - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    choices[(moves[event.key] + choices.length) % choices.length].focus();
  }

  async function chooseFirm(accountId) {
    if (me && accountId === me.account_id) return go("/"); // already acting for that firm
    for (const choice of $("firm-list").querySelectorAll("button")) choice.disabled = true;
    let answer = null;
    try {
      answer = await api("PUT", "/v1/sessions/current/account", { account_id: accountId });
    } catch {
      answer = null;
    }
    for (const choice of $("firm-list").querySelectorAll("button")) choice.disabled = false;
    if (answer && answer.status === 200) {
      actAs(answer.body);
      flash(null);
      return go("/");
    }
    if (answer && answer.status === 401) return sessionEnded();
    // 404: that account is no longer an active one of this login (archived meanwhile): list anew.
    if (answer && answer.status === 404) await loadMe();
    renderChrome();
    renderFirmChooser();
    $("firm-error").textContent = !answer
      ? t("error_network")
      : answer.status === 404
        ? t("firm_gone")
        : t("error_server");
    $("firm-error").hidden = false;
  }

  // A staff call was refused (403): the session acts for another firm now, chosen in another tab.
  // Ask again who is signed in and show that firm's screens, never this firm's staff screens.
  async function firmChangedElsewhere() {
    await loadMe();
    if (!me) return sessionEnded();
    go("/", "firm_changed");
  }

  // Back to this tab: if another tab switched the firm meanwhile, show the firm now chosen.
  async function onVisible() {
    if (document.visibilityState !== "visible" || !me) return;
    let changed = false;
    try {
      changed = await loadMe();
    } catch {
      return; // offline for a moment: the next call will tell
    }
    if (!me) return sessionEnded();
    if (changed) go("/", "firm_changed");
  }

  // ------------------------------------------------------------------ staff: the client list

  function statusText(status) {
    return t(`status_${status}`) || status;
  }

  async function loadClients() {
    const answer = await api("GET", "/v1/accounts");
    if (answer.status === 401) {
      sessionEnded();
      return null;
    }
    if (answer.status === 403) {
      await firmChangedElsewhere();
      return null;
    }
    if (answer.status !== 200) return null;
    clients = answer.body.accounts;
    return clients;
  }

  async function showClients() {
    show("clients");
    renderCurrent = renderClients;
    const found = await loadClients();
    if (found) renderClients();
  }

  function renderClients() {
    const rows = clients.map((client) => {
      const row = document.createElement("tr");
      row.dataset.accountId = client.account_id;
      const name = document.createElement("td");
      const link = document.createElement("a");
      link.href = `#/clients/${encodeURIComponent(client.account_id)}`;
      link.textContent = client.name;
      name.append(link);
      const email = document.createElement("td");
      email.textContent = client.email;
      if (client.email_status !== "ok") {
        email.append(" ", badge(t(`email_status_${client.email_status}`), "bounced"));
      }
      const status = document.createElement("td");
      status.append(badge(statusText(client.status), client.status));
      const access = document.createElement("td");
      access.textContent = t(client.has_password ? "access_password" : "access_none");
      row.append(name, email, status, access);
      return row;
    });
    $("clients-body").replaceChildren(...rows);
    $("clients-empty").hidden = rows.length > 0;
    $("clients-table").hidden = rows.length === 0;
  }

  function badge(text, kind) {
    const node = document.createElement("span");
    node.className = "badge";
    node.dataset.kind = kind;
    node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------ staff: a client's profile

  async function showProfile(accountId) {
    show("profile");
    renderCurrent = () => {
      renderProfile();
      renderDeliveries(lastDeliveries);
    };
    await loadClients();
    profile = clients.find((client) => client.account_id === accountId) || null;
    $("profile-missing").hidden = Boolean(profile);
    $("profile-body").hidden = !profile;
    lastDeliveries = null;
    selectTab("info");
    renderProfile();
    if (profile) loadDeliveries(accountId);
  }

  function renderProfile() {
    if (!profile) {
      $("profile-heading").textContent = t("profile_not_found");
      return;
    }
    const archived = profile.status === "archived";
    $("profile-heading").textContent = profile.name;
    $("profile-name").textContent = profile.name;
    $("profile-email").textContent = profile.email;
    $("profile-status").replaceChildren(badge(statusText(profile.status), profile.status));
    $("archived-notice").hidden = !archived;
    $("undeliverable-notice").hidden = profile.email_status === "ok";
    // An archived account cannot be reset or invited: the actions are there, but unusable.
    const reset = $("action-reset");
    const invite = $("action-invite");
    reset.disabled = archived;
    reset.setAttribute("aria-disabled", String(archived));
    invite.hidden = profile.has_password;
    invite.disabled = archived;
    invite.setAttribute("aria-disabled", String(archived));
    $("access-status").replaceChildren(badge(statusText(profile.status), profile.status));
    $("access-password").textContent = t(profile.has_password ? "access_password" : "access_none");
    $("access-email-status").textContent = t(`email_status_${profile.email_status}`);
    $("access-explanation").textContent = archived
      ? t("archived_notice")
      : t(profile.has_password ? "access_has_password" : "access_no_password");
  }

  function selectTab(name) {
    for (const tab of ["info", "access"]) {
      const selected = tab === name;
      $(`tab-${tab}`).setAttribute("aria-selected", String(selected));
      $(`tab-${tab}`).tabIndex = selected ? 0 : -1;
      $(`panel-${tab}`).hidden = !selected;
    }
  }

  function onTabKey(event) {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const next = event.currentTarget.id === "tab-info" ? "access" : "info";
    selectTab(next);
    $(`tab-${next}`).focus();
  }

  // ------------------------------------------------------------------ the "⋯" menu

  function openMenu() {
    const menu = $("actions-menu");
    menu.hidden = false;
    $("more-actions").setAttribute("aria-expanded", "true");
    const first = [...menu.querySelectorAll('[role="menuitem"]')].find((item) => !item.hidden);
    if (first) first.focus();
  }

  function closeMenu({ focusButton = false } = {}) {
    const menu = $("actions-menu");
    if (menu.hidden) return;
    menu.hidden = true;
    $("more-actions").setAttribute("aria-expanded", "false");
    if (focusButton) $("more-actions").focus();
  }

  function onMenuKey(event) {
    const items = [...$("actions-menu").querySelectorAll('[role="menuitem"]')].filter((item) => !item.hidden);
    const index = items.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      closeMenu({ focusButton: true });
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      items[(index + step + items.length) % items.length].focus();
    }
  }

  // ------------------------------------------------------------------ the dialog: reset or invite

  function openDialog(action) {
    closeMenu();
    if (!profile || profile.status === "archived") return;
    dialogAction = action;
    $("dialog-heading").textContent = t(action === "reset" ? "dialog_reset_heading" : "dialog_invite_heading");
    $("dialog-text").textContent = t(action === "reset" ? "dialog_reset_text" : "dialog_invite_text", {
      name: profile.name,
    });
    $("dialog-address").textContent = maskEmail(profile.email);
    $("dialog-ask").hidden = false;
    $("dialog-result").hidden = true;
    $("dialog-unlock").hidden = true;
    $("dialog-unlock-code").textContent = "";
    $("dialog-error").hidden = true;
    $("dialog-diagnosis").hidden = true;
    $("dialog-send").hidden = false;
    $("dialog-send").disabled = false;
    setText($("dialog-send"), "dialog_send");
    $("dialog-cancel").hidden = false;
    $("dialog-close").hidden = true;
    $("action-dialog").showModal();
    $("dialog-send").focus();
  }

  function setText(node, key) {
    node.dataset.i18n = key;
    node.textContent = t(key);
  }

  async function send() {
    const target = profile;
    const send = $("dialog-send");
    send.disabled = true;
    setText(send, "dialog_sending");
    const path =
      dialogAction === "reset"
        ? `/v1/accounts/${encodeURIComponent(target.account_id)}/password-reset`
        : `/v1/accounts/${encodeURIComponent(target.account_id)}/invitation`;
    let answer = null;
    try {
      answer = await api("POST", path, {});
    } catch {
      answer = null;
    }
    setText(send, "dialog_send");
    send.disabled = false;
    if (answer && answer.status === 401) {
      $("action-dialog").close();
      sessionEnded();
      return;
    }
    if (answer && answer.status === 403) {
      $("action-dialog").close();
      await firmChangedElsewhere();
      return;
    }
    if (answer && answer.status === 202) {
      $("dialog-heading").textContent = t(dialogAction === "reset" ? "sent_heading" : "invited_heading");
      $("dialog-ask").hidden = true;
      $("dialog-sent-to").textContent = t("sent_text", { email: answer.body.sent_to });
      $("dialog-expires").textContent = t("sent_expires", { when: formatTime(answer.body.expires_at) });
      $("dialog-expires").dataset.expiresAt = answer.body.expires_at;
      showUnlockCode(answer.body.unlock_code, target.name);
      $("dialog-result").hidden = false;
      finishDialog();
      loadDeliveries(target.account_id);
      return;
    }
    showDialogError(answer);
  }

  // A locked client's reset comes with an unlock code: the link alone does not unlock, since
  // whoever changed the password may read the client's mail. Staff read the code over the phone.
  function showUnlockCode(code, name) {
    const shown = typeof code === "string" && /^[0-9]{6}$/.test(code);
    $("dialog-unlock").hidden = !shown;
    if (!shown) return;
    $("dialog-unlock-text").textContent = t("unlock_code_text", { name });
    $("dialog-unlock-code").textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
    $("dialog-unlock-check").textContent = t("unlock_code_check", { name });
  }

  function showDialogError(answer) {
    const code = answer ? answer.error.code : null;
    const keys = {
      account_archived: "error_archived",
      email_undeliverable: "error_undeliverable",
      password_already_set: "error_password_set",
      email_send_failed: "error_send_failed",
      account_not_found: "error_not_found",
    };
    let text = t(answer ? keys[code] || "error_server" : "error_network");
    if (code === "rate_limited") {
      const seconds = Number(answer.headers.get("Retry-After"));
      text = seconds > 0
        ? t("error_rate_limited_minutes", { minutes: Math.ceil(seconds / 60) })
        : t("error_rate_limited");
    }
    $("dialog-error-text").textContent = text;
    $("dialog-error").dataset.code = code || "network";
    const diagnosis = answer && answer.error.diagnosis;
    if (diagnosis) renderDiagnosis(diagnosis, $("dialog-diagnosis-summary"), $("dialog-diagnosis-advice"));
    $("dialog-diagnosis").hidden = !diagnosis;
    $("dialog-error").hidden = false;
    if (code === "email_undeliverable" || code === "account_archived" || code === "password_already_set") {
      $("dialog-ask").hidden = true;
      finishDialog(); // sending again would change nothing
      refreshProfile();
    }
  }

  function finishDialog() {
    $("dialog-send").hidden = true;
    $("dialog-cancel").hidden = true;
    $("dialog-close").hidden = false;
    $("dialog-close").focus();
  }

  async function refreshProfile() {
    if (!profile) return;
    const id = profile.account_id;
    await loadClients();
    profile = clients.find((client) => client.account_id === id) || profile;
    renderProfile();
  }

  function renderDiagnosis(diagnosis, summaryNode, adviceNode) {
    summaryNode.textContent = String(diagnosis.summary || "");
    const advice = (Array.isArray(diagnosis.advice) ? diagnosis.advice : []).map((line) => {
      const item = document.createElement("li");
      item.textContent = String(line);
      return item;
    });
    adviceNode.replaceChildren(...advice);
  }

  // ------------------------------------------------------------------ the deliveries list

  async function loadDeliveries(accountId) {
    stopPolling();
    let answer = null;
    try {
      answer = await api("GET", `/v1/accounts/${encodeURIComponent(accountId)}/password-reset/deliveries`);
    } catch {
      answer = null;
    }
    if (!profile || profile.account_id !== accountId || $("view-profile").hidden) return; // navigated away
    if (answer && answer.status === 401) return sessionEnded();
    if (answer && answer.status === 403) return firmChangedElsewhere();
    $("deliveries-error").hidden = Boolean(answer && answer.status === 200);
    if (!answer || answer.status !== 200) return;
    lastDeliveries = answer.body.deliveries;
    if (answer.body.email_status !== profile.email_status) {
      profile.email_status = answer.body.email_status;
      renderProfile();
    }
    renderDeliveries(lastDeliveries);
    const now = Date.now();
    const waiting = lastDeliveries.some(
      (delivery) =>
        ON_ITS_WAY.has(delivery.status) && now - new Date(delivery.requested_at).getTime() < POLL_WINDOW_MS,
    );
    $("deliveries-live").hidden = !waiting;
    if (waiting) pollTimer = setTimeout(() => loadDeliveries(accountId), POLL_EVERY_MS);
  }

  function renderDeliveries(deliveries) {
    if (!deliveries) return;
    $("deliveries-empty").hidden = deliveries.length > 0;
    const items = deliveries.map((delivery) => {
      const item = document.createElement("li");
      item.className = "delivery";
      item.dataset.resetId = delivery.reset_id;
      item.dataset.kind = delivery.kind;
      item.dataset.status = delivery.status;

      const head = document.createElement("p");
      head.className = "delivery-head";
      const when = document.createElement("time");
      when.dateTime = delivery.requested_at;
      when.textContent = formatTime(delivery.requested_at);
      const kind = document.createElement("span");
      kind.className = "delivery-kind";
      kind.textContent = t(`kind_${delivery.kind}`) || delivery.kind;
      const who = document.createElement("span");
      who.textContent = delivery.requested_by
        ? t("requested_by", { name: delivery.requested_by.name })
        : t(LINK_KINDS.has(delivery.kind) ? "requested_self" : "requested_automatically");
      const status = badge(t(`delivery_status_${delivery.status}`), delivery.status);
      status.classList.add("delivery-status");
      head.append(when, " · ", kind, " ", who, " ", status);

      const timeline = document.createElement("ol");
      timeline.className = "timeline";
      for (const event of delivery.events || []) {
        const step = document.createElement("li");
        step.dataset.type = event.type;
        const at = document.createElement("time");
        at.dateTime = event.at;
        at.textContent = formatTime(event.at);
        const known = texts.de[`event_${event.type}`] !== undefined;
        step.append(at, " – ", t(known ? `event_${event.type}` : "event_other"));
        timeline.append(step);
      }
      item.append(head, timeline);

      if (delivery.diagnosis) {
        const box = document.createElement("div");
        box.className = "diagnosis";
        box.dataset.code = delivery.diagnosis.code;
        const heading = document.createElement("p");
        heading.className = "diagnosis-heading";
        heading.textContent = t("diagnosis_heading");
        const summary = document.createElement("p");
        summary.className = "diagnosis-summary";
        const advice = document.createElement("ul");
        renderDiagnosis(delivery.diagnosis, summary, advice);
        box.append(heading, summary, advice);
        item.append(box);
      }
      return item;
    });
    $("deliveries").replaceChildren(...items);
  }

  // ------------------------------------------------------------------ clients: home

  function showClientHome() {
    show("client-home");
    renderCurrent = renderClientHome;
    renderClientHome();
  }

  function renderClientHome() {
    $("client-home-heading").textContent = t("client_home_heading", { name: me.name });
    $("client-home-firm").textContent = t("client_home_intro", { firm: firmName(me) });
    $("client-home-name").textContent = me.name;
    $("client-home-email").textContent = me.email;
  }

  // ------------------------------------------------------------------ change the password

  function showPassword() {
    renderCurrent = () => {};
    show("password");
    for (const id of ["current-password", "new-password", "repeat-password"]) $(id).value = "";
    clearPasswordMessages();
    $("password-done").hidden = true;
    $("current-password").focus();
  }

  function clearPasswordMessages() {
    $("password-error").hidden = true;
    $("password-violations").hidden = true;
    $("password-violations").replaceChildren();
    for (const id of ["current-password", "new-password", "repeat-password"]) {
      $(id).removeAttribute("aria-invalid");
    }
  }

  function passwordError(key, field) {
    $("password-error").textContent = t(key);
    $("password-error").hidden = false;
    if (field) {
      $(field).setAttribute("aria-invalid", "true");
      $(field).focus();
    }
  }

  async function changePassword(event) {
    event.preventDefault();
    clearPasswordMessages();
    $("password-done").hidden = true;
    const current = $("current-password").value;
    const next = $("new-password").value;
    const repeat = $("repeat-password").value;
    if (!current || !next || !repeat) return passwordError("password_required", !current ? "current-password" : "new-password");
    if (next !== repeat) return passwordError("password_mismatch", "repeat-password");
    const submit = $("password-submit");
    submit.disabled = true;
    setText(submit, "password_busy");
    let answer = null;
    try {
      answer = await api("POST", "/v1/sessions/current/password", {
        current_password: current,
        new_password: next,
      });
    } catch {
      answer = null;
    }
    submit.disabled = false;
    setText(submit, "password_submit");
    if (!answer) return passwordError("error_network");
    if (answer.status === 200) {
      // The answer set a new __Host-portal_session cookie: this session goes on, every other one ended.
      for (const id of ["current-password", "new-password", "repeat-password"]) $(id).value = "";
      $("password-done").textContent = t("password_changed");
      $("password-done").hidden = false;
      return;
    }
    if (answer.error.code === "password_rejected") {
      $("password-error").textContent = t("password_rejected");
      $("password-error").hidden = false;
      const items = (answer.error.violations || []).map((violation) => {
        const item = document.createElement("li");
        item.dataset.rule = String(violation.rule || "");
        item.textContent = String(violation.message || "");
        return item;
      });
      $("password-violations").replaceChildren(...items);
      $("password-violations").hidden = items.length === 0;
      $("new-password").setAttribute("aria-invalid", "true");
      $("new-password").focus();
      return;
    }
    if (answer.error.code === "invalid_credentials") return passwordError("password_wrong_current", "current-password");
    if (answer.status === 401) return sessionEnded();
    if (answer.status === 429) return passwordError("password_rate_limited");
    return passwordError("error_server");
  }

  // ------------------------------------------------------------------ wiring

  function wire() {
    $("sign-in-form").addEventListener("submit", signIn);
    $("forgot-form").addEventListener("submit", requestLink);
    $("sign-out").addEventListener("click", signOut);
    $("password-form").addEventListener("submit", changePassword);
    $("firm-list").addEventListener("keydown", onFirmListKey);
    $("language-switch").addEventListener("click", () => {
      language = language === "de" ? "en" : "de";
      localStorage.setItem(LANGUAGE_KEY, language);
      applyTexts();
      renderChrome();
      renderCurrent();
    });
    for (const tab of ["info", "access"]) {
      $(`tab-${tab}`).addEventListener("click", () => selectTab(tab));
      $(`tab-${tab}`).addEventListener("keydown", onTabKey);
    }
    $("more-actions").addEventListener("click", () => {
      if ($("actions-menu").hidden) openMenu();
      else closeMenu();
    });
    $("actions-menu").addEventListener("keydown", onMenuKey);
    document.addEventListener("click", (event) => {
      if (!event.target.closest(".menu-anchor")) closeMenu();
    });
    $("action-reset").addEventListener("click", () => openDialog("reset"));
    $("action-invite").addEventListener("click", () => openDialog("invite"));
    $("dialog-send").addEventListener("click", send);
    $("dialog-cancel").addEventListener("click", () => $("action-dialog").close());
    $("dialog-close").addEventListener("click", () => $("action-dialog").close());
    $("action-dialog").addEventListener("close", () => {
      if (!$("view-profile").hidden) $("more-actions").focus();
    });
    document.addEventListener("visibilitychange", onVisible);
    window.addEventListener("hashchange", () => {
      flash(pendingFlash);
      pendingFlash = null;
      route();
    });
  }

  async function start() {
    const response = await fetch("/_dev/portal-texts.json", { cache: "no-store" });
    texts = await response.json();
    applyTexts();
    wire();
    try {
      await loadMe();
    } catch {
      me = null;
    }
    await route();
  }

  start();
})();
