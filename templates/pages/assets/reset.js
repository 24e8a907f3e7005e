// The hosted reset page's behaviour: take the token from the URL fragment, ask the API whether the
// link still works, show the form or a clear explanation, and set the new password.
// A lock link ("It wasn't me", #lock=...) instead explains what locking does and asks: opening the
// page reads and changes nothing (mail scanners open links too); only the button locks.
// Plain JS without dependencies; loaded with `defer`, so the DOM is ready when this runs.
// Text only ever goes into the page through textContent, never as HTML.
"use strict";

(() => {
  document.documentElement.classList.add("js");

  // The token travels in the fragment (never sent to a server, never in a Referer). Take it and
  // remove it from the address bar and the history entry at once, before anything else happens.
  const { token, lockToken, isLock } = takeTokens();

  const data = JSON.parse(document.getElementById("reset-data").textContent);
  const texts = data.texts;
  let locale = data.locale;
  let policy = { min_length: 1, max_length: Infinity, rules: [] };
  let submitting = false;
  let requesting = false;
  let locking = false;
  // An unlock link (verify: code_required): the confirm sends the code the firm read on the phone.
  let codeRequired = false;
  // The link's firm as verify names it (logo, name, colour, contact); null: the neutral look.
  let firm = null;

  const STATES = [
    "loading",
    "valid",
    "invalid",
    "expired",
    "used",
    "revoked",
    "code-revoked",
    "archived",
    "error",
    "done",
    "lock",
    "locked",
    "lock-invalid",
    "lock-expired",
    "lock-used",
    "lock-archived",
  ];
  // API error code -> page state. A malformed token (400) is as good as an unknown one.
  const ERROR_STATES = {
    token_invalid: "invalid",
    invalid_request: "invalid",
    token_expired: "expired",
    token_used: "used",
    token_revoked: "revoked",
    account_archived: "archived",
  };
  // The lock route's answers -> page state. A malformed token (400) is as good as an unknown one.
  const LOCK_ERROR_STATES = {
    token_invalid: "lock-invalid",
    invalid_request: "lock-invalid",
    token_expired: "lock-expired",
    token_used: "lock-used",
    account_archived: "lock-archived",
  };
  // States after which a new link can help (self-service); an archived account cannot be reset.
  const OFFER_NEW_LINK = new Set(["invalid", "expired", "used", "revoked"]);
  // An invitation sets the first password: the same form, with welcome words.
  const INVITATION_TEXTS = {
    "valid-heading": "welcome_heading",
    "valid-intro": "welcome_intro",
    submit: "welcome_submit",
    "done-heading": "welcome_done_heading",
  };
  // A staff link to a locked login: the same form, with the unlock code first.
  const UNLOCK_TEXTS = {
    "valid-heading": "unlock_heading",
    "valid-intro": "unlock_intro",
  };
  // Rules the page can check itself (length, patterns); the others (blocklist, personal data) only
  // the server can.
  const CLIENT_RULES = {
    too_short: (value, count) => count >= policy.min_length,
    too_long: (value, count) => count <= policy.max_length,
    pattern: (value) => !isPattern(value),
  };

  // The "pattern" rule as the server decides it (pwreset.credentials.policy.is_pattern, where the
  // rule is explained): the folded password, or the same without spaces and punctuation, is one
  // piece repeated, or made of runs averaging PATTERN_RUN_LENGTH characters or more. A run: the
  // same character again and again, or one step on (or back) in one of these sequences, the same
  // way throughout. The server decides; this only saves a round trip.
  const PATTERN_SEQUENCES = [
    ["0123456789", true],
    ["abcdefghijklmnopqrstuvwxyz", false],
    ["qwertyuiopasdfghjklzxcvbnm", false],
    ["qwertzuiopüasdfghjklöäyxcvbnm", false],
    ["azertyuiopqsdfghjklmwxcvbn", false],
    ["!@#$%^&*()", false],
    ['!"§$%&/()=', false],
  ];
  const PATTERN_RUN_LENGTH = 4;
  const PATTERN_STEPS = patternSteps();
  const REPEAT = new Set(["repeat"]);
  const NO_STEP = new Set();

  const $ = (id) => document.getElementById(id);
  const el = {
    form: $("reset-form"),
    codeField: $("code-field"),
    code: $("unlock-code"),
    password: $("new-password"),
    repeat: $("repeat-password"),
    rules: $("rules"),
    match: $("match"),
    formError: $("form-error"),
    violations: $("violations"),
    breachedHint: $("breached-hint"),
    submit: $("submit"),
    emailHint: $("email-hint"),
    expiresAt: $("expires-at"),
    requestNew: $("request-new"),
    requestForm: $("request-form"),
    requestEmail: $("request-email"),
    requestSubmit: $("request-submit"),
    requestResult: $("request-result"),
    continueLink: $("continue"),
    lockSubmit: $("lock-submit"),
    lockError: $("lock-error"),
    helpLink: $("help-link"),
  };
  let expiresAt = null;

  function takeTokens() {
    if (!location.hash) return { token: null, lockToken: null, isLock: false };
    const fragment = new URLSearchParams(location.hash.slice(1));
    history.replaceState(history.state, "", location.pathname + location.search);
    const clean = (value) => (value ? value.trim() : null);
    return {
      token: clean(fragment.get("token")),
      lockToken: clean(fragment.get("lock")),
      isLock: fragment.has("lock") && !fragment.has("token"),
    };
  }

  // ------------------------------------------------------------------ language

  function t(key) {
    const table = texts[locale] || texts.en;
    return table[key] ?? texts.en[key] ?? key;
  }

  function setText(node, key) {
    node.dataset.i18n = key;
    node.textContent = t(key);
  }

  function applyLocale(next) {
    if (!texts[next]) return;
    locale = next;
    document.documentElement.lang = next;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    renderHelpLink();
    renderContact();
    renderExpiry();
    updateRules();
    updateMatch();
  }

  // ------------------------------------------------------------------ states

  function showState(name, { focus = true } = {}) {
    for (const state of STATES) $(`state-${state}`).hidden = state !== name;
    el.requestNew.hidden = !OFFER_NEW_LINK.has(name);
    const heading = $(`${name}-heading`);
    if (heading) {
      document.title = `${heading.textContent} – ${firm ? firm.name : t("brand")}`;
      // Move focus to the new content so keyboard and screen-reader users land where it changed.
      if (focus) heading.focus();
    }
  }

  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null; // a gateway error page or an empty body
    }
    return { status: response.status, ok: response.ok, body: payload };
  }

  function errorOf(body) {
    const error = body && typeof body === "object" ? body.error : null;
    return error && typeof error === "object" ? error : {};
  }

  async function verify() {
    showState("loading", { focus: false });
    if (!token) {
      showState("invalid");
      return;
    }
    let result;
    try {
      result = await postJson(data.api.verify, { token });
    } catch {
      showState("error");
      return;
    }
    if (result.ok && result.body && result.body.valid === true) {
      showForm(result.body);
      return;
    }
    showState(ERROR_STATES[errorOf(result.body).code] || "error");
  }

  // ------------------------------------------------------------------ the firm (white-label)

  const COLOR = /^#[0-9a-f]{6}$/i;

  // WCAG 2.2 relative luminance and contrast ratio, as pwreset.mail.brand computes them for mails.
  function luminance(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function contrast(first, second) {
    const [lighter, darker] = [luminance(first), luminance(second)].sort((a, b) => b - a);
    return (lighter + 0.05) / (darker + 0.05);
  }

  // Black or white, whichever contrasts more with the colour (one of them always reaches 4.5:1).
  function textOn(color) {
    return contrast(color, "#000000") >= contrast(color, "#ffffff") ? "#000000" : "#ffffff";
  }

  function webAddress(value) {
    try {
      const url = new URL(String(value));
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function telUri(number) {
    return `tel:${number.trim().startsWith("+") ? "+" : ""}${number.replace(/\D/g, "")}`;
  }

  // The firm's look: its logo (alt: its name) or else its name, on its colour with black or white
  // text; and how to reach it. Without a firm (or with a malformed one) the page stays neutral.
  function showFirm(info) {
    if (!info || typeof info !== "object" || typeof info.name !== "string" || !info.name) return;
    firm = info;
    const header = $("brand");
    const name = $("brand-name");
    const logo = $("brand-logo");
    header.dataset.branded = "true";
    $("brand-mark").hidden = true;
    name.removeAttribute("data-i18n");
    name.textContent = info.name;
    const logoUrl = info.logo_url ? webAddress(info.logo_url) : null;
    if (logoUrl) {
      logo.alt = info.name;
      logo.addEventListener(
        "error",
        () => {
          logo.hidden = true;
          name.hidden = false;
        },
        { once: true },
      );
      logo.src = logoUrl;
      logo.hidden = false;
      name.hidden = true;
    }
    if (typeof info.color === "string" && COLOR.test(info.color)) {
      document.documentElement.style.setProperty("--brand", info.color);
      document.documentElement.style.setProperty("--on-brand", textOn(info.color));
      header.dataset.colored = "true";
    }
  }

  function renderContact() {
    const contact = firm && firm.contact && typeof firm.contact === "object" ? firm.contact : {};
    const email = typeof contact.email === "string" ? contact.email : "";
    const phone = typeof contact.phone === "string" ? contact.phone : "";
    $("firm-contact").hidden = !(email || phone);
    if (!(email || phone)) return;
    $("firm-contact-heading").textContent = t("contact_heading").replace("%(firm)s", () => firm.name);
    $("firm-contact-email").hidden = !email;
    $("firm-contact-email-link").href = `mailto:${email}`;
    $("firm-contact-email-link").textContent = email;
    $("firm-contact-phone").hidden = !phone;
    $("firm-contact-phone-link").href = telUri(phone);
    $("firm-contact-phone-link").textContent = phone;
  }

  // The help article in the page's language, naming the firm's contact once the link named it.
  function renderHelpLink() {
    const query = new URLSearchParams({ lang: locale });
    if (firm && typeof firm.firm_id === "string") query.set("firm", firm.firm_id);
    el.helpLink.search = `?${query}`;
  }

  // ------------------------------------------------------------------ the form

  function showForm(info) {
    if (info.policy && typeof info.policy === "object") {
      policy = {
        min_length: Number(info.policy.min_length) || 1,
        max_length: Number(info.policy.max_length) || Infinity,
        rules: Array.isArray(info.policy.rules) ? info.policy.rules : [],
      };
    }
    if (info.purpose === "invitation") {
      for (const [id, key] of Object.entries(INVITATION_TEXTS)) setText($(id), key);
    }
    codeRequired = info.code_required === true;
    el.codeField.hidden = !codeRequired;
    if (codeRequired) {
      for (const [id, key] of Object.entries(UNLOCK_TEXTS)) setText($(id), key);
    }
    el.emailHint.textContent = String(info.email_hint || "");
    expiresAt = info.expires_at ? new Date(info.expires_at) : null;
    showFirm(info.firm);
    renderRules();
    applyLocale(info.locale); // the account's language from now on; also renders expiry and rules
    showState("valid", { focus: false });
    (codeRequired ? el.code : el.password).focus();
  }

  function renderExpiry() {
    if (!expiresAt || Number.isNaN(expiresAt.getTime())) {
      el.expiresAt.textContent = "";
      el.expiresAt.removeAttribute("datetime");
      return;
    }
    el.expiresAt.dateTime = expiresAt.toISOString();
    el.expiresAt.textContent = new Intl.DateTimeFormat(locale, {
      dateStyle: "medium",
      timeStyle: "short",
    }).format(expiresAt);
  }

  // Length as the server counts it: code points after NFKC normalisation.
  function passwordLength(value) {
    return [...value.normalize("NFKC")].length;
  }

  // The server folds with NFKC and Unicode case folding; lower-casing differs from that only where
  // folding maps one letter to another lower-case one (ß to ss, final ς to σ, a few rarer ones).
  function foldForRules(value) {
    const lower = value.normalize("NFKC").toLowerCase();
    return lower.replace(/ß/g, "ss").replace(/ς/g, "σ").normalize("NFKC");
  }

  // "ab" -> every way b follows a in a sequence: "<sequence>+" one on, "<sequence>-" one back.
  function patternSteps() {
    const steps = new Map();
    const add = (a, b, way) => steps.set(a + b, new Set([...(steps.get(a + b) || []), way]));
    PATTERN_SEQUENCES.forEach(([sequence, wraps], index) => {
      const chars = [...sequence];
      const pairs = chars.slice(1).map((char, i) => [chars[i], char]);
      if (wraps) pairs.push([chars[chars.length - 1], chars[0]]);
      for (const [a, b] of pairs) {
        add(a, b, `${index}+`);
        add(b, a, `${index}-`);
      }
    });
    return steps;
  }

  function patternRuns(chars) {
    let runs = 0;
    let ways = null; // how the run may go on; null: one character yet
    let previous = "";
    for (const char of chars) {
      const step = char === previous ? REPEAT : PATTERN_STEPS.get(previous + char) || NO_STEP;
      ways = ways === null ? step : new Set([...ways].filter((way) => step.has(way)));
      if (!ways.size || !previous) {
        runs += 1;
        ways = null;
      }
      previous = char;
    }
    return runs;
  }

  // One piece written at least twice over: the shortest period (prefix function) is at most half.
  function isRepetition(chars) {
    const border = chars.map(() => 0);
    for (let i = 1; i < chars.length; i += 1) {
      let k = border[i - 1];
      while (k && chars[i] !== chars[k]) k = border[k - 1];
      border[i] = k + (chars[i] === chars[k] ? 1 : 0);
    }
    return chars.length > 0 && 2 * (chars.length - border[chars.length - 1]) <= chars.length;
  }

  function isPattern(value) {
    const folded = foldForRules(value);
    return [folded, folded.replace(/[\p{Z}\p{P}]/gu, "")].some((form) => {
      const chars = [...form];
      if (!chars.length) return false;
      return isRepetition(chars) || PATTERN_RUN_LENGTH * patternRuns(chars) <= chars.length;
    });
  }

  function renderRules() {
    const items = policy.rules.map((rule) => {
      const item = document.createElement("li");
      item.dataset.rule = String(rule.rule);
      item.dataset.check = rule.rule in CLIENT_RULES ? "client" : "server";
      const icon = document.createElement("span");
      icon.className = "rule-icon";
      icon.setAttribute("aria-hidden", "true");
      const message = document.createElement("span");
      message.className = "rule-message";
      message.textContent = String(rule.message || "");
      const status = document.createElement("span");
      status.className = "rule-status";
      item.append(icon, message, status);
      return item;
    });
    el.rules.replaceChildren(...items);
    updateRules();
  }

  function updateRules() {
    const value = el.password.value;
    const count = passwordLength(value);
    for (const item of el.rules.children) {
      const status = item.querySelector(".rule-status");
      const check = CLIENT_RULES[item.dataset.rule];
      if (check) {
        const ok = check(value, count);
        item.dataset.ok = String(ok);
        setText(status, ok ? "rule_met" : "rule_not_met");
      } else if (item.dataset.ok === "false") {
        setText(status, "rule_failed"); // the server said so on the last attempt
      } else {
        setText(status, "rule_server");
      }
    }
  }

  function updateMatch() {
    const repeat = el.repeat.value;
    if (!repeat) {
      el.match.dataset.match = "empty";
      el.match.removeAttribute("data-i18n");
      el.match.textContent = "";
      return;
    }
    const same = repeat === el.password.value;
    el.match.dataset.match = String(same);
    setText(el.match, same ? "match_ok" : "match_missing");
  }

  function clearErrors() {
    el.formError.hidden = true;
    el.formError.removeAttribute("data-i18n");
    el.formError.textContent = "";
    el.violations.hidden = true;
    el.violations.replaceChildren();
    el.breachedHint.hidden = true;
    el.password.removeAttribute("aria-invalid");
    el.repeat.removeAttribute("aria-invalid");
    el.code.removeAttribute("aria-invalid");
  }

  // `key` is a text key (translated again on a language switch) or null with a server message.
  function showFormError(key, message) {
    if (key) setText(el.formError, key);
    else {
      el.formError.removeAttribute("data-i18n");
      el.formError.textContent = message;
    }
    el.formError.hidden = false;
  }

  function showViolations(violations, fallback) {
    const list = Array.isArray(violations) ? violations : [];
    setText(el.formError, "violations_heading");
    el.formError.hidden = false;
    const items = list.map((violation) => {
      const item = document.createElement("li");
      item.dataset.rule = String(violation.rule || "");
      item.textContent = String(violation.message || "");
      const rule = [...el.rules.children].find((li) => li.dataset.rule === item.dataset.rule);
      if (rule && rule.dataset.check === "server") rule.dataset.ok = "false";
      return item;
    });
    if (!items.length && fallback) {
      const item = document.createElement("li");
      item.textContent = fallback;
      items.push(item);
    }
    el.violations.replaceChildren(...items);
    el.violations.hidden = false;
    // A password from a data breach is likely in use elsewhere too: say so, in the page's language.
    el.breachedHint.hidden = !list.some((violation) => violation && violation.rule === "breached");
    el.password.setAttribute("aria-invalid", "true");
    updateRules();
  }

  function setSubmitting(value) {
    submitting = value;
    el.submit.disabled = value;
    el.form.setAttribute("aria-busy", String(value));
    setText(el.submit, value ? "submitting" : "submit");
  }

  // Problems the page can see without asking the server; the first one gets the focus.
  function localProblem() {
    if (codeRequired && !el.code.value.trim()) return { field: el.code, key: "error_code_required" };
    const value = el.password.value;
    if (!value) return { field: el.password, key: "error_required" };
    const count = passwordLength(value);
    for (const rule of policy.rules) {
      const check = CLIENT_RULES[rule.rule];
      if (check && !check(value, count)) return { field: el.password, message: String(rule.message || "") };
    }
    if (el.repeat.value !== value) return { field: el.repeat, key: "error_mismatch" };
    return null;
  }

  async function submit(event) {
    event.preventDefault();
    if (submitting) return;
    clearErrors();
    const problem = localProblem();
    if (problem) {
      showFormError(problem.key || null, problem.message);
      problem.field.setAttribute("aria-invalid", "true");
      problem.field.focus();
      return;
    }
    setSubmitting(true);
    let result;
    try {
      const body = { token, password: el.password.value };
      if (codeRequired) body.code = el.code.value.trim();
      result = await postJson(data.api.confirm, body);
    } catch {
      setSubmitting(false);
      showFormError("error_network");
      return;
    }
    if (result.ok && result.body && typeof result.body.redirect_url === "string") {
      done(result.body.redirect_url);
      return;
    }
    setSubmitting(false);
    const error = errorOf(result.body);
    if (error.code === "password_rejected") {
      showViolations(error.violations, error.message);
      el.password.focus();
    } else if (error.code === "code_invalid") {
      showFormError("error_code_invalid");
      el.code.setAttribute("aria-invalid", "true");
      el.code.focus();
      el.code.select();
    } else if (codeRequired && error.code === "token_revoked") {
      showState("code-revoked"); // the fifth wrong code ended the link
    } else if (error.code === "rate_limited") {
      showFormError("error_rate_limited");
    } else if (error.code in ERROR_STATES && error.code !== "invalid_request") {
      showState(ERROR_STATES[error.code]); // the link stopped working while the form was open
    } else {
      showFormError("error_server");
    }
  }

  function done(redirectUrl) {
    let target = null;
    try {
      target = new URL(redirectUrl, location.href);
    } catch {
      target = null;
    }
    el.password.value = "";
    el.repeat.value = "";
    el.code.value = "";
    // Only ever navigate to a web address (never a javascript: URL, whatever the answer said);
    // otherwise the link (the configured portal address) is the way on.
    const safe = target && (target.protocol === "https:" || target.protocol === "http:");
    if (safe) el.continueLink.href = target.href;
    showState("done");
    if (safe) location.assign(target.href);
  }

  function toggleVisibility(button) {
    const input = $(button.getAttribute("aria-controls"));
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    setText(button.querySelector(".toggle-text"), show ? "hide" : "show");
  }

  // ------------------------------------------------------------------ a new link (self-service)

  async function requestNewLink(event) {
    event.preventDefault();
    if (requesting) return;
    const email = el.requestEmail.value.trim();
    el.requestResult.dataset.result = "error";
    if (!email || !el.requestEmail.checkValidity()) {
      setText(el.requestResult, "request_invalid_email");
      el.requestEmail.setAttribute("aria-invalid", "true");
      el.requestEmail.focus();
      return;
    }
    el.requestEmail.removeAttribute("aria-invalid");
    requesting = true;
    el.requestSubmit.disabled = true;
    setText(el.requestSubmit, "request_sending");
    let key = "request_failed";
    try {
      const result = await postJson(data.api.request, { email, locale });
      if (result.status === 202) key = "request_done";
      else if (result.status === 400) key = "request_invalid_email";
    } catch {
      key = "request_failed";
    }
    requesting = false;
    el.requestSubmit.disabled = false;
    setText(el.requestSubmit, "request_submit");
    el.requestResult.dataset.result = key === "request_done" ? "ok" : "error";
    setText(el.requestResult, key);
    if (key === "request_done") el.requestForm.reset();
    else el.requestEmail.focus();
  }

  // ------------------------------------------------------------------ "It wasn't me": lock

  function askToLock() {
    showState("lock", { focus: false });
    el.lockSubmit.focus();
  }

  function showLockError(key) {
    setText(el.lockError, key);
    el.lockError.hidden = false;
  }

  async function lock() {
    if (locking) return;
    locking = true;
    el.lockError.hidden = true;
    el.lockSubmit.disabled = true;
    setText(el.lockSubmit, "lock_submitting");
    let result = null;
    try {
      result = await postJson(data.api.lock, { token: lockToken });
    } catch {
      result = null;
    }
    locking = false;
    el.lockSubmit.disabled = false;
    setText(el.lockSubmit, "lock_submit");
    if (result === null) {
      showLockError("error_network");
      return;
    }
    if (result.ok && result.body && result.body.status === "locked") {
      showState("locked");
      return;
    }
    const code = errorOf(result.body).code;
    if (code in LOCK_ERROR_STATES) showState(LOCK_ERROR_STATES[code]);
    else if (code === "rate_limited") showLockError("error_rate_limited");
    else showLockError("error_server");
  }

  // ------------------------------------------------------------------ wiring

  el.form.addEventListener("submit", submit);
  el.password.addEventListener("input", () => {
    // A changed password has not been judged by the server yet.
    for (const item of el.rules.children) if (item.dataset.check === "server") delete item.dataset.ok;
    if (!el.violations.hidden) clearErrors();
    updateRules();
    updateMatch();
  });
  el.code.addEventListener("input", () => el.code.removeAttribute("aria-invalid"));
  el.repeat.addEventListener("input", () => {
    el.repeat.removeAttribute("aria-invalid");
    updateMatch();
  });
  for (const button of document.querySelectorAll("button.toggle")) {
    button.addEventListener("click", () => toggleVisibility(button));
  }
  $("retry").addEventListener("click", verify);
  el.requestForm.addEventListener("submit", requestNewLink);
  el.lockSubmit.addEventListener("click", lock);

  // A lock link asks first and reads nothing; a broken one says so in the lock's words.
  if (isLock && lockToken) askToLock();
  else if (isLock) showState("lock-invalid");
  else verify();
})();
