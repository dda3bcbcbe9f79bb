// The field app: sign in once, then register learners and record results with or without a
// network; everything waits in the phone's outbox until the service acknowledges it.
import { checkCompletion, checkLearner, message } from "./rules.js";
import * as store from "./store.js";
import { NeedsSignIn, Refused, UNACKNOWLEDGED, sendAll } from "./outbox.js";
import { EN, text } from "./texts.js";

const CONSENT_PURPOSE = "Theo dõi kết quả học kỹ năng số";
const VIETNAM_OFFSET_MS = 7 * 3600 * 1000;
const $ = (selector) => document.querySelector(selector);
const opened = () => app.db;

const app = {
  db: null, // the phone's database once open: a promise, so the form need not wait for it
  rules: null,
  rulesText: null,
  lang: "vi",
  profile: null, // { user, commune, courses }
  session: null, // { token, expires_at, username }
  sessionRead: null, // settles once the kept session is read
  clockOffset: 0, // the service's clock minus the phone's, learnt from answers
  sending: false,
  sendAgain: false,
  editing: null, // the record being corrected
  chosen: [], // learners chosen for results
};

// ---- time: the phone's clock may be wrong, so "now" follows the service's when known ----

const now = () => Date.now() + app.clockOffset;
const nowIso = () => new Date(now()).toISOString();
const todayInVietnam = () => new Date(now() + VIETNAM_OFFSET_MS).toISOString().slice(0, 10);

// "dd/mm/yyyy" (or with . or -, or 8 digits) → "yyyy-mm-dd"; null when it is not one.
function typedDate(typed) {
  const match = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(typed) ??
    /^\s*(\d{2})(\d{2})(\d{4})\s*$/.exec(typed);
  if (!match) return null;
  const [day, month, year] = match.slice(1).map(Number);
  return `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}
const shownDate = (iso) => (iso ? iso.split("-").reverse().join("/") : "");

// Accents off, lower case: "Nguyễn Văn Ấn" and "nguyen van an" meet.
const fold = (name) => name.normalize("NFD").replace(/[\u0300-\u036f]/g, "")
  .replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase().replace(/\s+/g, " ").trim();

// ---- the service ----

async function call(path, { method = "GET", body, headers = {}, auth = true } = {}) {
  const allHeaders = { "Accept-Language": app.lang, ...headers };
  if (auth && app.session) allHeaders.Authorization = `Bearer ${app.session.token}`;
  if (typeof body === "string") allHeaders["Content-Type"] = "application/json";
  const response = await fetch(path, { method, body, headers: allHeaders, cache: "no-store" });
  const served = Date.parse(response.headers.get("Date") ?? "");
  if (!Number.isNaN(served)) {
    const offset = served - Date.now();
    // The header counts whole seconds; follow it only when the phone is clearly off.
    if (Math.abs(offset - app.clockOffset) > 2000) {
      app.clockOffset = Math.abs(offset) > 2000 ? offset : 0;
      store.keepStart({ clock_offset: app.clockOffset });
    }
  }
  return response;
}

async function json(path, options) {
  const response = await call(path, options);
  if (response.status === 401) throw new NeedsSignIn();
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

const signedIn = () => app.session && app.session.expires_at > Date.now();

// The commune's villages, the courses and the commune's learners, kept for offline use.
async function refreshReference() {
  const code = app.profile.user.commune_code;
  const commune = await json(`/api/v1/communes/${code}`);
  const courses = [];
  for (let cursor = ""; ;) {
    const page = await json(`/api/v1/courses?limit=500${cursor}`);
    // Retired courses are kept too: the phone tells them apart as the service does.
    courses.push(...page.items);
    if (!page.next_cursor) break;
    cursor = `&cursor=${encodeURIComponent(page.next_cursor)}`;
  }
  const people = [];
  for (let cursor = ""; ;) {
    const page = await json(`/api/v1/learners?commune_code=${code}&limit=500${cursor}`);
    people.push(...page.items.map((learner) => ({
      id: learner.id,
      full_name: learner.full_name,
      folded: fold(learner.full_name),
      birth_date: learner.birth_date,
    })));
    if (!page.next_cursor) break;
    cursor = `&cursor=${encodeURIComponent(page.next_cursor)}`;
  }
  const tx = (await opened()).transaction("people", "readwrite");
  await tx.store.clear();
  for (const person of people) await tx.store.put(person);
  await tx.done;
  app.profile = { ...app.profile, commune, courses };
  store.keepStart({ profile: app.profile });
  fillChoices();
}

// ---- screens ----

function show(screen) {
  for (const id of ["loading", "signin", "app"]) $(`#${id}`).hidden = id !== screen;
}

function showTab(name) {
  for (const button of document.querySelectorAll("[data-tab]")) {
    const current = button.dataset.tab === name;
    button.toggleAttribute("aria-current", current);
    if (current) button.setAttribute("aria-current", "page");
    $(`#${button.dataset.tab}`).hidden = !current;
  }
}

const VIETNAMESE = new Map();

function applyLanguage() {
  document.documentElement.lang = app.lang;
  for (const element of document.querySelectorAll("[data-t]")) {
    if (!VIETNAMESE.has(element)) VIETNAMESE.set(element, element.textContent);
    const key = element.dataset.t;
    element.textContent = app.lang === "en" ? EN[key] ?? VIETNAMESE.get(element) : VIETNAMESE.get(element);
  }
  const switcher = $("#lang");
  switcher.textContent = app.lang === "en" ? "Tiếng Việt" : "English";
  switcher.lang = app.lang === "en" ? "vi" : "en";
  showNetwork();
  if (app.profile) {
    showWho();
    renderRecords();
  }
}

function showNetwork() {
  $("#network").textContent = text(navigator.onLine ? "online" : "offline", app.lang);
  $("#network").classList.toggle("offline", !navigator.onLine);
}

function showWho() {
  const { user, commune } = app.profile;
  $("#who").textContent = text("who", app.lang, { name: user.full_name, commune: commune.name });
}

// Refilled when the reference data is refreshed: what the volunteer chose stays chosen.
function fillChoices() {
  const villageSelect = $("#village_id");
  const village = villageSelect.value;
  villageSelect.replaceChildren(villageSelect.options[0]);
  for (const { id, name } of app.profile.commune.villages) {
    villageSelect.append(new Option(name, String(id)));
  }
  villageSelect.value = village;
  const courseSelect = $("#course_code");
  const chosen = courseSelect.value;
  courseSelect.replaceChildren(new Option(text("course.required", app.lang), ""));
  for (const course of app.profile.courses.filter((item) => item.active)) {
    const title = app.lang === "en" && course.title_en ? course.title_en : course.title_vi;
    courseSelect.append(new Option(`${course.code} — ${title}`, course.code));
  }
  courseSelect.value = chosen;
}

function openApp() {
  showWho();
  fillChoices();
  // Opened again (a token renewed at start), the app keeps a day the volunteer already typed.
  if (!$("#completed_at").value) $("#completed_at").value = shownDate(todayInVietnam());
  show("app");
  renderRecords();
  document.body.dataset.ready = "1";
  performance.mark("field-ready");
}

// ---- errors beside the fields ----

function clearErrors(form) {
  for (const element of form.querySelectorAll(".error")) element.textContent = "";
  for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
}

function showError(field, words) {
  const slot = $(`#err-${field}`);
  if (!slot) return false;
  slot.textContent = slot.textContent ? `${slot.textContent} ${words}` : words;
  const input = document.getElementById(field);
  if (input) input.setAttribute("aria-invalid", "true");
  return true;
}

// ---- registering a learner ----

function readLearner(form) {
  const data = new FormData(form);
  const learner = {};
  for (const field of ["citizen_id", "full_name", "birth_date", "sex", "official_level", "agency", "village_id", "phone"]) {
    const value = (data.get(field) ?? "").trim();
    if (value) learner[field] = value;
  }
  learner.groups = data.getAll("groups");
  if (data.get("consent")) learner.consent = true;
  return learner;
}

function fillLearnerForm(body) {
  const form = $("#learner-form");
  form.reset();
  for (const field of ["citizen_id", "full_name", "official_level", "agency", "phone"]) {
    form.elements[field].value = body[field] ?? "";
  }
  form.elements.birth_date.value = shownDate(body.birth_date);
  form.elements.village_id.value = body.village_id ? String(body.village_id) : "";
  for (const input of form.querySelectorAll("[name=sex]")) input.checked = input.value === body.sex;
  for (const input of form.querySelectorAll("[name=groups]")) input.checked = (body.groups ?? []).includes(input.value);
  form.elements.consent.checked = Boolean(body.consent);
  toggleOfficial();
}

function toggleOfficial() {
  $("#official-fields").hidden = !$("#learner-form [name=groups][value=official]").checked;
}

async function saveLearner(event) {
  event.preventDefault();
  const form = event.target;
  clearErrors(form);
  $("#learner-saved").textContent = "";
  const learner = readLearner(form);
  if (learner.birth_date) {
    const iso = typedDate(learner.birth_date);
    if (!iso) {
      showError("birth_date", text("date.format", app.lang));
      return;
    }
    learner.birth_date = iso;
  }
  const villageIds = app.profile.commune.villages.map((village) => village.id);
  const errors = checkLearner(learner, app.rules, { today: todayInVietnam(), villageIds });
  if (errors.length) {
    for (const { field, type } of errors) showError(field, message(app.rules, type, app.lang));
    form.querySelector("[aria-invalid]")?.focus();
    return;
  }
  const previous = app.editing;
  const body = {
    ...learner,
    citizen_id: learner.citizen_id.trim(),
    commune_code: app.profile.user.commune_code,
    // Consent is given when first recorded; a correction keeps that moment.
    consent: previous?.body.consent ?? { purpose: CONSENT_PURPOSE, given_at: nowIso() },
  };
  if (body.village_id) body.village_id = Number(body.village_id);
  await store.saveRecord(await opened(), {
    ...(previous ?? { client_id: crypto.randomUUID(), kind: "learner", saved_at: nowIso() }),
    body,
    label: body.full_name,
    state: "saved",
    problem: null,
  });
  stopEditing();
  form.reset();
  toggleOfficial();
  $("#learner-saved").textContent = text("saved", app.lang);
  await renderRecords();
  send();
}

function stopEditing() {
  app.editing = null;
  $("#learner-cancel").hidden = true;
}

// ---- recording results ----

async function search() {
  const query = fold($("#search").value);
  const list = $("#matches");
  list.replaceChildren();
  if (query.length < 2) return;
  // Learners registered on this phone are found at once, sent or not (a sent one by the id
  // the service gave it), before the commune's list is refreshed.
  const onPhone = (await store.records(await opened()))
    .filter((record) => record.kind === "learner" && fold(record.body.full_name).includes(query))
    .map((record) => ({
      id: record.result_id ?? undefined,
      client_id: record.client_id,
      full_name: record.body.full_name,
      birth_date: record.body.birth_date,
      on_phone: !record.result_id,
    }));
  const known = new Set(onPhone.map((person) => person.id).filter(Boolean));
  const people = (await (await opened()).getAll("people"))
    .filter((person) => person.folded.includes(query) && !known.has(person.id));
  for (const person of [...onPhone, ...people].slice(0, 20)) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "match";
    const born = text("born", app.lang, { date: shownDate(person.birth_date) });
    button.textContent = `${person.full_name} (${born}${person.on_phone ? `, ${text("on_phone", app.lang)}` : ""})`;
    button.addEventListener("click", () => choose(person));
    const item = document.createElement("li");
    item.append(button);
    list.append(item);
  }
}

function choose(person, score = "") {
  const key = person.id ?? person.client_id;
  if (!app.chosen.some((chosen) => (chosen.id ?? chosen.client_id) === key)) app.chosen.push({ ...person, score });
  $("#search").value = "";
  $("#matches").replaceChildren();
  renderChosen();
}

function renderChosen() {
  const list = $("#chosen");
  list.replaceChildren();
  app.chosen.forEach((person, index) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = person.full_name;
    const label = document.createElement("label");
    label.textContent = text("score", app.lang);
    label.htmlFor = `score-${index}`;
    const score = document.createElement("input");
    Object.assign(score, { id: `score-${index}`, name: "score", inputMode: "decimal", value: person.score });
    score.addEventListener("input", () => { person.score = score.value; });
    const error = document.createElement("p");
    error.className = "error";
    error.id = `err-score-${index}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = text("remove", app.lang);
    remove.addEventListener("click", () => { app.chosen.splice(index, 1); renderChosen(); });
    item.append(name, label, score, error, remove);
    list.append(item);
  });
}

async function saveCompletions(event) {
  event.preventDefault();
  const form = event.target;
  clearErrors(form);
  $("#completion-saved").textContent = "";
  let wrong = false;
  if (app.chosen.length === 0) wrong = showError("learner", text("learner.required", app.lang));
  const typedDay = form.elements.completed_at.value;
  const completedAt = typedDate(typedDay);
  const badFormat = typedDay.trim() !== "" && !completedAt;
  if (badFormat) wrong = showError("completed_at", text("date.format", app.lang));
  const courseCode = form.elements.course_code.value;
  // Each learner's result is checked by the service's rules (the score and birth date are
  // theirs); a problem shared by all is shown once.
  const shown = new Set();
  const checked = app.chosen.length ? app.chosen : [{ score: "0" }];
  const bodies = checked.map((person, index) => {
    const typedScore = String(person.score ?? "").trim();
    const body = {
      course_code: courseCode || undefined,
      // A day, not an instant: the service places it at midday in Vietnam, whatever the
      // phone's clock says.
      completed_at: completedAt ?? undefined,
      score: typedScore === "" ? undefined : Number(typedScore.replace(",", ".")),
      method: form.elements.method.value,
    };
    const problems = checkCompletion(body, app.rules, {
      today: todayInVietnam(),
      courses: app.profile.courses,
      birthDate: person.birth_date,
    });
    for (const { field, type } of problems) {
      if (field === "completed_at" && badFormat) continue;
      const slot = field === "score" ? `score-${index}` : field;
      const words = message(app.rules, type, app.lang);
      if (!shown.has(`${slot} ${words}`)) showError(slot, words);
      shown.add(`${slot} ${words}`);
      wrong = true;
    }
    return body;
  });
  if (wrong) return;
  const course = app.profile.courses.find((item) => item.code === courseCode);
  // A corrected record keeps its client_id; learners added to it become records of their own.
  let previous = app.editing?.kind === "completion" ? app.editing : null;
  for (const [index, person] of app.chosen.entries()) {
    const body = {
      ...bodies[index],
      ...(person.id ? { learner_id: person.id } : { learner_client_id: person.client_id }),
    };
    await store.saveRecord(await opened(), {
      ...(previous ?? { client_id: crypto.randomUUID(), kind: "completion", saved_at: nowIso() }),
      body,
      label: `${person.full_name} — ${course?.code ?? courseCode}`,
      person: { id: person.id, client_id: person.client_id, full_name: person.full_name, birth_date: person.birth_date },
      state: "saved",
      problem: null,
    });
    previous = null;
  }
  app.editing = null;
  app.chosen = [];
  renderChosen();
  $("#completion-saved").textContent = text("saved", app.lang);
  await renderRecords();
  send();
}

// ---- the outbox ----

function problemWords(problem) {
  if (!problem) return "";
  const fields = (problem.errors ?? []).map((error) => error.msg).filter(Boolean);
  return [problem.detail ?? problem.title, ...fields].filter(Boolean).join(" ");
}

async function renderRecords() {
  const records = await store.records(await opened());
  const waiting = records.filter((record) => UNACKNOWLEDGED.has(record.state)).length;
  $("#count").textContent = String(waiting);
  const list = $("#records");
  list.replaceChildren();
  for (const record of [...records].reverse()) {
    const item = document.createElement("li");
    item.className = `record ${record.state}`;
    item.dataset.clientId = record.client_id;
    item.dataset.state = record.state;
    const title = document.createElement("strong");
    title.textContent = `${text(`kind.${record.kind}`, app.lang)}: ${record.label}`;
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = text(`state.${record.state}`, app.lang);
    item.append(title, state);
    if (record.state === "duplicate") {
      const matched = document.createElement("p");
      matched.className = "note";
      const person = await (await opened()).get("people", record.result_id);
      const what = person
        ? `${person.full_name} (${text("born", app.lang, { date: shownDate(person.birth_date) })})`
        : record.result_id;
      matched.textContent = text("matched", app.lang, { what });
      item.append(matched);
    }
    if (record.state === "rejected") {
      const why = document.createElement("p");
      why.className = "error";
      why.textContent = problemWords(record.problem);
      const fix = document.createElement("button");
      fix.type = "button";
      fix.className = "secondary";
      fix.textContent = text("fix", app.lang);
      fix.addEventListener("click", () => correct(record));
      item.append(why, fix);
    }
    list.append(item);
  }
}

// A rejected record goes back into its form, with the service's words beside the fields.
function correct(record) {
  app.editing = record;
  if (record.kind === "learner") {
    fillLearnerForm(record.body);
    $("#learner-cancel").hidden = false;
    showTab("register");
    clearErrors($("#learner-form"));
    for (const error of record.problem?.errors ?? []) showError(error.loc.at(-1), error.msg);
    if (!record.problem?.errors?.length) showError("citizen_id", problemWords(record.problem));
  } else {
    app.chosen = [{ ...record.person, score: String(record.body.score) }];
    renderChosen();
    const form = $("#completion-form");
    form.elements.course_code.value = record.body.course_code;
    form.elements.completed_at.value = shownDate(record.body.completed_at);
    form.elements.method.value = record.body.method;
    showTab("results");
    clearErrors(form);
    showError("learner", problemWords(record.problem));
  }
}

async function send() {
  await app.sessionRead;
  if (app.sending) {
    // Records saved while a send runs go right after it, not at the next retry.
    app.sendAgain = true;
    return;
  }
  const status = $("#send-status");
  if (!navigator.onLine) {
    status.textContent = text("send.offline", app.lang);
    return;
  }
  app.sending = true;
  app.sendAgain = false;
  let sent = false;
  try {
    if (!signedIn() && !(await renewFromWebSession())) {
      askToSignIn();
      return;
    }
    status.textContent = text("sending", app.lang);
    await renderRecords();
    const sendEverything = async () => sendAll(
      await opened(), (path, body, headers) => call(path, { method: "POST", body, headers }), renderRecords,
    );
    try {
      await sendEverything();
    } catch (error) {
      // A token refused before its time (the password changed on the pages, say): renewed once
      // from the pages' session, the waiting batch goes again under its own key.
      if (!(error instanceof NeedsSignIn) || !(await renewFromWebSession())) throw error;
      await sendEverything();
    }
    status.textContent = text("sent.all", app.lang);
    sent = true;
  } catch (error) {
    if (error instanceof NeedsSignIn) {
      askToSignIn();
    } else if (error instanceof Refused) {
      status.textContent = problemWords(error.problem);
    } else {
      status.textContent = text("send.failed", app.lang);
    }
  } finally {
    app.sending = false;
    await renderRecords();
  }
  if (sent && app.sendAgain) {
    await send();
  } else if (sent) {
    // What was sent is now in the commune's list, to be found offline too.
    await refreshReference().catch(() => {});
  }
}

function askToSignIn() {
  app.session = null;
  $("#signin-why").hidden = !app.profile;
  if (app.profile) $("#username").value = app.profile.user.username;
  show("signin");
}

// ---- signing in and out ----

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#signin-error");
  error.textContent = "";
  if (!navigator.onLine) {
    error.textContent = text("signin.online", app.lang);
    return;
  }
  const username = form.elements.username.value.trim();
  const other = await otherUsersRecords(username);
  if (other) {
    error.textContent = text("signin.other_user", app.lang, { name: other });
    return;
  }
  try {
    const response = await call("/api/v1/auth/token", {
      method: "POST",
      body: new URLSearchParams({ username, password: form.elements.password.value }),
      auth: false,
    });
    const answer = await response.json();
    if (!response.ok) {
      error.textContent = text("signin.failed", app.lang, { reason: answer.detail ?? answer.title });
      return;
    }
    // An explicit sign-in ends a sign-out still waiting to reach the service.
    localStorage.removeItem(SIGNED_OUT);
    const refused = await adopt(answer);
    if (refused) {
      error.textContent = refused;
      return;
    }
    form.reset();
  } catch (failure) {
    app.session = null;
    error.textContent = text("signin.failed", app.lang, { reason: failure.message });
  }
}

// The user whose unsent records the phone holds, when it is not `username`.
async function otherUsersRecords(username) {
  if (!app.profile || app.profile.user.username === username) return null;
  const waiting = (await store.records(await opened())).some((record) => UNACKNOWLEDGED.has(record.state));
  return waiting ? app.profile.user.username : null;
}

// The session a token answer of the service opens, and the user the token names.
async function sessionOf(answer) {
  // The token's own expiry (with a minute's margin) decides when it must be renewed.
  const expires_at = Date.now() + (answer.expires_in - 60) * 1000;
  const headers = { Authorization: `Bearer ${answer.access_token}` };
  const user = await json("/api/v1/auth/me", { headers, auth: false });
  return { session: { token: answer.access_token, expires_at, username: user.username }, user };
}

// Kept on the phone so the app opens signed in after a restart.
async function keepSession(session) {
  app.session = session;
  await store.setMeta(await opened(), "session", session);
}

// Opens the app with a bearer token the service gave; the words of the refusal, if not.
async function adopt(answer) {
  const { session, user } = await sessionOf(answer);
  const other = await otherUsersRecords(user.username);
  if (!user.commune_code || other) {
    app.session = null;
    return other
      ? text("signin.other_user", app.lang, { name: other })
      : text("signin.failed", app.lang, { reason: user.role });
  }
  if (app.profile && app.profile.user.username !== user.username) {
    // The phone passes to another user: what it kept of the last one (records sent, the
    // commune's learners, villages and courses) is not shown to the next.
    await store.forget(await opened());
    store.keepStart({ profile: null });
    app.profile = null;
    stopEditing();
    app.chosen = [];
    renderChosen();
    for (const form of ["#learner-form", "#completion-form"]) $(form).reset();
  }
  await keepSession(session);
  app.profile = { ...(app.profile ?? {}), user };
  await refreshReference();
  openApp();
  send();
  return null;
}

// The pages and the app share one sign-in: a team member signed in on the service's pages
// (the browser's cookie session) gets the app's token from it, with no password typed again.
const SIGNED_OUT = "field-signed-out";

async function sessionRequest(method) {
  const { csrf_token: csrf } = await (await fetch("/field/session", { cache: "no-store" })).json();
  return call("/field/session", { method, headers: { "X-CSRF-Token": csrf }, auth: false });
}

// The token answer for the browser's cookie session; null when there is none to take.
async function webSessionAnswer() {
  if (!navigator.onLine || localStorage.getItem(SIGNED_OUT)) return null;
  const response = await sessionRequest("POST");
  if (!response.ok) {
    await response.text(); // read to the end: an answer left unread keeps its request open
    return null;
  }
  return response.json();
}

async function takeWebSession() {
  try {
    const answer = await webSessionAnswer();
    if (!answer) return false;
    const refused = await adopt(answer);
    if (refused) $("#signin-error").textContent = refused;
    return !refused;
  } catch {
    app.session = null;
    return false;
  }
}

// A token that runs out while the app is open is renewed in place, so the forms keep what was
// typed; only for the user whose records these are, never another signed in on the pages.
async function renewFromWebSession() {
  try {
    const answer = await webSessionAnswer();
    if (!answer) return false;
    const { session, user } = await sessionOf(answer);
    if (user.username !== app.profile?.user.username) return false;
    await keepSession(session);
    show("app"); // back from the password screen, if a previous try left it open
    return true;
  } catch {
    return false;
  }
}

// Signing out of the app signs the browser out of the pages too, once the network allows:
// until then the app does not take the pages' session back.
async function endWebSession() {
  if (!navigator.onLine) return;
  try {
    if ((await sessionRequest("DELETE")).ok) localStorage.removeItem(SIGNED_OUT);
  } catch {
    // Tried again at the next start.
  }
}

async function signOut() {
  const waiting = (await store.records(await opened())).filter((record) => UNACKNOWLEDGED.has(record.state)).length;
  const warning = $("#signout-warning");
  if (waiting && warning.hidden) {
    warning.textContent = text("signout.warning", app.lang, { count: waiting });
    warning.hidden = false;
    $("#signout-confirm").hidden = false;
    return;
  }
  await confirmSignOut();
}

async function confirmSignOut() {
  localStorage.setItem(SIGNED_OUT, "1");
  await endWebSession();
  await store.erase(await opened());
  location.reload();
}

// ---- start ----

// The rules as the service serves them now; the copy kept on the phone until then.
async function loadRules() {
  try {
    const response = await fetch("/field/rules.json");
    if (!response.ok) return;
    const served = await response.text();
    if (served === app.rulesText) return;
    app.rules = JSON.parse(served);
    app.rulesText = served;
    store.keepStart({ rules: served });
  } catch {
    // No network and no cached copy yet: the kept rules stay.
  }
}

async function start() {
  // The form needs only what is kept beside the page (language, profile, rules, clock): it is
  // shown at once, while the database (session, outbox, the commune's learners) opens.
  app.db = store.open();
  app.sessionRead = app.db.then((db) => store.getMeta(db, "session")).then((session) => {
    app.session = session ?? null;
  });
  const kept = store.readStart();
  app.lang = kept.lang ?? "vi";
  app.clockOffset = kept.clock_offset ?? 0;
  app.profile = kept.profile ?? null;
  app.rulesText = kept.rules ?? null;
  app.rules = app.rulesText ? JSON.parse(app.rulesText) : null;
  if (!app.profile) await keptBefore();
  // The kept rules open the app at once; the served ones replace them when they differ.
  const rulesLoaded = loadRules();
  if (!app.rules) await rulesLoaded;
  applyLanguage();

  $("#lang").addEventListener("click", async () => {
    app.lang = app.lang === "en" ? "vi" : "en";
    store.keepStart({ lang: app.lang });
    applyLanguage();
    if (app.profile) fillChoices();
  });
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  $("#signin-form").addEventListener("submit", signIn);
  $("#learner-form").addEventListener("submit", saveLearner);
  $("#learner-form").addEventListener("change", toggleOfficial);
  $("#learner-cancel").addEventListener("click", () => { stopEditing(); $("#learner-form").reset(); toggleOfficial(); });
  $("#completion-form").addEventListener("submit", saveCompletions);
  $("#search").addEventListener("input", search);
  $("#send").addEventListener("click", send);
  $("#signout").addEventListener("click", signOut);
  $("#signout-confirm").addEventListener("click", confirmSignOut);
  window.addEventListener("online", () => { showNetwork(); send(); });
  window.addEventListener("offline", showNetwork);
  // Whatever is still waiting is tried again now and then while the app is open.
  setInterval(() => { if (app.profile && navigator.onLine) send(); }, 30000);

  const ready = Boolean(app.profile && app.rules);
  if (ready) openApp();
  await app.sessionRead;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/field/sw.js", { scope: "/field/" }).catch(() => {});
  }
  if (localStorage.getItem(SIGNED_OUT)) endWebSession();
  if (!ready) {
    if (!(await takeWebSession())) show("signin");
    return;
  }
  if (navigator.onLine && signedIn()) {
    refreshReference().catch(() => {});
    send();
  } else if (navigator.onLine) {
    // An expired token is renewed from the pages' session when there is one.
    takeWebSession();
  }
}

// A phone that kept its profile in the database (before it was kept beside the page) moves it.
async function keptBefore() {
  const kept = await store.getMetas(await opened(), ["lang", "clock_offset", "profile", "rules"]);
  if (!kept.profile) return;
  store.keepStart(kept);
  app.lang = kept.lang ?? app.lang;
  app.clockOffset = kept.clock_offset ?? app.clockOffset;
  app.profile = kept.profile;
  app.rulesText = kept.rules ?? app.rulesText;
  app.rules = app.rulesText ? JSON.parse(app.rulesText) : app.rules;
}

start();
