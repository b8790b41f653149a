// The duty console: the open-task board, kept live by GET /v1/stream (docs/stream.md).
// Plain script, no build step, no third-party code; texts come from messages/<lang>.json.
"use strict";

const RISK_RANK = { low: 0, medium: 1, high: 2, critical: 3 };
const URGENT_MS = 30 * 60 * 1000; // due within 30 min: stands out until acknowledged
const ZONE = "Asia/Shanghai";
const LANGS = ["zh-CN", "en"];
const ACKERS = ["police_officer", "social_worker"];
const DESK = ["dispatcher", "supervisor"]; // may reassign, and read the year's figures
// The stream's events the board follows (docs/stream.md); any other type is not subscribed.
const FOLLOWED = [
  "task.created", "task.acknowledged", "task.started", "task.completed", "task.declined",
  "task.cancelled", "task.reassigned", "task.escalated", "task.overdue", "task.report.added",
  "case.updated", "case.risk.reviewed", "patrol.alert.raised", "ops.dead_lettered",
];
const GONE = ["task.acknowledged", "task.started", "task.completed", "task.cancelled"];
const S = {
  token: null, me: null, lang: "zh-CN", msgs: {}, tasks: new Map(), schools: new Map(),
  caseSchools: new Map(), fresh: new Set(), lastId: null, es: null, failures: 0, refusals: 0,
  lastActivity: Date.now(), sound: false, beeped: new Set(),
};
const $ = (id) => document.getElementById(id);

function t(key, vars) {
  let text = S.msgs[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, v);
  return text;
}

async function setLanguage(lang) {
  const r = await fetch(`/console/messages/${lang}.json`);
  S.msgs = await r.json();
  S.lang = lang;
  document.documentElement.lang = lang;
  if (S.me) localStorage.setItem(`hulei.lang.${S.me.user_id}`, lang);
  document.title = t("title");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  fillSeverityFilter();
  fillSchoolFilter();
  setConn($("conn").dataset.state);
  render();
  if (S.figures && !$("figures").hidden) drawFigures(S.figures); // figures.js
}

function setConn(state) {
  const el = $("conn");
  el.dataset.state = state;
  el.textContent = state === "offline" ? "" : t(`conn.${state}`);
}

// --- API -------------------------------------------------------------------------------------
async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${S.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const json = body === undefined ? undefined : JSON.stringify(body);
  const r = await fetch(path, { method, headers, body: json });
  if (r.status === 401) { lock("signin.locked"); throw new Error("signed out"); }
  return r;
}

async function pages(path) {
  const items = [];
  let url = path;
  for (let n = 0; url && n < 20; n += 1) {
    const r = await api("GET", url);
    if (!r.ok) break;
    items.push(...(await r.json()));
    const next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get("Link") || "");
    url = next ? new URL(next[1], location.href).pathname + new URL(next[1], location.href).search : null;
  }
  return items;
}

async function signIn(event) {
  event.preventDefault();
  const body = new URLSearchParams({ username: $("username").value, password: $("password").value });
  const r = await fetch("/v1/auth/token", { method: "POST", body });
  $("password").value = "";
  if (!r.ok) { $("signin-message").textContent = t("signin.failed"); return; }
  S.token = (await r.json()).access_token;
  S.me = await (await api("GET", "/v1/me")).json();
  S.lastActivity = Date.now();
  $("signin").hidden = true;
  $("signin-message").textContent = "";
  $("desk").hidden = false;
  $("lock").hidden = false;
  const saved = localStorage.getItem(`hulei.lang.${S.me.user_id}`);
  await setLanguage(LANGS.includes(saved) ? saved : "zh-CN");
  S.sound = localStorage.getItem(`hulei.sound.${S.me.user_id}`) === "on"; // off by default
  $("sound").checked = S.sound;
  $("figures-open").hidden = !DESK.includes(S.me.role);
  for (const s of await pages("/v1/schools?limit=500")) S.schools.set(s.id, s.name);
  fillSchoolFilter();
  await loadBoard();
  connect();
}

function lock(reason) {
  S.token = null; S.me = null; S.lastId = null;
  if (S.es) { S.es.close(); S.es = null; }
  S.tasks.clear(); S.fresh.clear(); S.caseSchools.clear(); S.beeped.clear();
  S.sound = false; $("sound").checked = false;
  $("rows").replaceChildren();
  $("case").hidden = true;
  $("reassign").hidden = true;
  $("figures").hidden = true;
  $("desk").hidden = true;
  $("lock").hidden = true;
  $("signin").hidden = false;
  $("signin-message").textContent = reason ? t(reason) : "";
  setConn("offline");
  $("username").focus();
}

// --- The board -------------------------------------------------------------------------------
async function loadBoard() {
  // Open tasks, and declined ones: handed back, they wait for the desk to reassign them.
  const [open, declined] = await Promise.all([
    pages("/v1/tasks?status=open&limit=500"), pages("/v1/tasks?status=declined&limit=500"),
  ]);
  S.tasks = new Map([...open, ...declined].map((task) => [task.id, rowOf(task)]));
  render();
}

// What the board keeps of a task (a REST view or an event): facts only, never a note.
function rowOf(v) {
  return {
    id: v.id || v.task_id, case_id: v.case_id, school_id: v.school_id, kind: v.kind,
    agency: v.agency, assignee_user_id: v.assignee_user_id, assignee_org_id: v.assignee_org_id,
    risk_level: v.risk_level, due_at: v.due_at, status: v.status || "open",
    escalation: v.escalation || null, overdue: false,
  };
}

async function fetchTask(id) {
  const r = await api("GET", `/v1/tasks/${encodeURIComponent(id)}`);
  if (!r.ok) return;
  const task = rowOf(await r.json());
  if (task.status === "open" || task.status === "declined") { S.tasks.set(id, task); render(); }
}

function onEvent(type, d) {
  const task = d.task_id ? S.tasks.get(d.task_id) : undefined;
  if (type === "task.created") {
    S.tasks.set(d.task_id, rowOf(d));
    S.fresh.add(d.task_id);
    setTimeout(() => S.fresh.delete(d.task_id), 3000); // highlighted once, not on every render
    if (d.school_id) S.caseSchools.set(d.case_id, [d.school_id]);
    // One beep per case: a report starts a police and a social-work task together.
    if (S.sound && d.risk_level === "critical" && !S.beeped.has(d.case_id)) {
      S.beeped.add(d.case_id);
      beep();
    }
  } else if (GONE.includes(type)) {
    S.tasks.delete(d.task_id); // taken up or finished: no longer the desk's to watch
  } else if (type === "task.declined") {
    if (task) Object.assign(task, { status: "declined", escalation: null });
    else fetchTask(d.task_id);
  } else if (type === "task.reassigned") {
    if (!task) { fetchTask(d.task_id); return; }
    Object.assign(task, {
      status: "open", assignee_user_id: d.assignee_user_id, assignee_org_id: d.assignee_org_id,
      risk_level: d.risk_level, due_at: d.due_at, escalation: null, overdue: false,
    });
    S.fresh.add(d.task_id);
    setTimeout(() => S.fresh.delete(d.task_id), 3000);
  } else if (type === "task.escalated" || type === "task.overdue") {
    if (!task) { fetchTask(d.task_id); return; }
    if (type === "task.escalated") task.escalation = d.level;
    else task.overdue = true;
  } else if (type === "task.report.added") {
    if (task) Object.assign(task, { risk_level: d.risk_level, due_at: d.due_at });
  } else if (type === "patrol.alert.raised") {
    $("deadletter-text").textContent = t("alert.raised", {
      kind: t(`alert.${d.kind}`), school: S.schools.get(d.school_id) || d.school_id,
    });
    $("deadletter").hidden = false;
  } else if (type === "case.updated" || type === "case.risk.reviewed") {
    for (const task of S.tasks.values()) if (task.case_id === d.case_id) task.risk_level = d.risk_level;
  } else if (type === "ops.dead_lettered") {
    $("deadletter-text").textContent = t("deadletter.alert", { consumer: d.consumer, type: d.event_type || "?" });
    $("deadletter").hidden = false;
  }
  render();
}

function schoolOf(task) {
  return task.school_id || (S.caseSchools.get(task.case_id) || [])[0] || null;
}

function visible() {
  const school = $("filter-school").value;
  const risk = $("filter-severity").value;
  return [...S.tasks.values()]
    .filter((task) => (!risk || task.risk_level === risk) && (!school || schoolOf(task) === school))
    .sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at)
      || RISK_RANK[b.risk_level] - RISK_RANK[a.risk_level]);
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  if (text instanceof Node) td.append(text); else td.textContent = text ?? "";
  if (cls) td.className = cls;
  row.append(td);
  return td;
}

function render() {
  if (!S.me) return;
  const rows = visible().map((task) => {
    const row = document.createElement("tr");
    row.dataset.task = task.id;
    const urgent = task.status === "open"
      && (RISK_RANK[task.risk_level] >= 2 || Date.parse(task.due_at) - Date.now() < URGENT_MS);
    row.classList.toggle("urgent", urgent);
    row.classList.toggle("escalated", Boolean(task.escalation));
    row.classList.toggle("late", task.overdue);
    row.classList.toggle("declined", task.status === "declined");
    row.classList.toggle("fresh", S.fresh.has(task.id));
    const due = cell(row, "", "due");
    due.dataset.due = task.due_at;
    cell(row, t(`risk.${task.risk_level}`), `risk-${task.risk_level}`);
    const name = document.createElement("button");
    name.type = "button";
    name.className = "taskname";
    name.textContent = t(`kind.${task.kind}`);
    name.addEventListener("click", () => openCase(task.case_id));
    const what = cell(row, name);
    const badges = [
      urgent && "urgent.unacked", task.escalation && `badge.escalated.${task.escalation}`,
      task.overdue && "badge.overdue", task.status === "declined" && "badge.declined",
    ];
    for (const key of badges.filter(Boolean)) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = t(key);
      what.append(badge);
    }
    cell(row, t(`agency.${task.agency}`));
    const school = schoolOf(task);
    cell(row, school ? S.schools.get(school) || school : "–");
    cell(row, assigneeLabel(task), "assignee");
    const status = cell(row, t(`status.${task.status}`));
    if (ACKERS.includes(S.me.role)) {
      const ack = document.createElement("button");
      ack.type = "button";
      ack.textContent = t("ack.button");
      ack.addEventListener("click", () => acknowledge(task.id, ack));
      status.append(" ", ack);
    }
    if (DESK.includes(S.me.role)) {
      const move = document.createElement("button");
      move.type = "button";
      move.className = "reassign";
      move.textContent = t("reassign.button");
      move.setAttribute("aria-label", `${t("reassign.button")}: ${t(`kind.${task.kind}`)}`);
      move.addEventListener("click", () => openReassign(task.id, move));
      status.append(" ", move);
    }
    return row;
  });
  $("rows").replaceChildren(...rows);
  $("empty").hidden = rows.length > 0;
  $("count").textContent = t("board.count", { n: new Intl.NumberFormat(S.lang).format(rows.length) });
  tick();
}

// The pseudonymous label the REST views show: the officer's account id or the organisation's.
function assigneeLabel(task) {
  return task.assignee_user_id || task.assignee_org_id || "–";
}

function span(ms) {
  const total = Math.floor(Math.abs(ms) / 1000);
  const two = new Intl.NumberFormat(S.lang, { minimumIntegerDigits: 2 });
  const h = new Intl.NumberFormat(S.lang).format(Math.floor(total / 3600));
  return `${h}:${two.format(Math.floor(total / 60) % 60)}:${two.format(total % 60)}`;
}

function tick() {
  const at = new Intl.DateTimeFormat(S.lang, {
    timeZone: ZONE, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  document.querySelectorAll("td.due").forEach((td) => {
    const due = Date.parse(td.dataset.due);
    const left = due - Date.now();
    td.classList.toggle("overdue", left < 0);
    td.textContent = `${left < 0 ? t("due.overdue", { t: span(left) }) : t("due.left", { t: span(left) })} · ${at.format(due)}`;
  });
}

async function acknowledge(taskId, button) {
  const r = await api("POST", `/v1/tasks/${encodeURIComponent(taskId)}/ack`);
  button.textContent = r.ok ? t("ack.done") : t("ack.failed");
  if (r.ok) { S.tasks.delete(taskId); render(); }
}

// --- Quick hide, inactivity lock, filters ------------------------------------------------------
function hide() { $("curtain").hidden = false; $("curtain").focus(); }
function show() { $("curtain").hidden = true; }

function fillSeverityFilter() {
  const select = $("filter-severity");
  const value = select.value;
  select.replaceChildren(new Option(t("filter.all"), ""),
    ...Object.keys(RISK_RANK).reverse().map((r) => new Option(t(`risk.${r}`), r)));
  select.value = value;
}

function fillSchoolFilter() {
  const select = $("filter-school");
  const value = select.value;
  select.replaceChildren(new Option(t("filter.all"), ""),
    ...[...S.schools].map(([id, name]) => new Option(name, id)));
  select.value = value;
}

async function schoolFilterChanged() {
  if ($("filter-school").value) {
    const unknown = [...new Set([...S.tasks.values()].filter((x) => !schoolOf(x)).map((x) => x.case_id))];
    await Promise.all(unknown.slice(0, 50).map(async (id) => {
      const r = await api("GET", `/v1/cases/${encodeURIComponent(id)}`);
      if (r.ok) S.caseSchools.set(id, (await r.json()).school_ids || []);
    }));
  }
  render();
}

document.addEventListener("DOMContentLoaded", async () => {
  await setLanguage("zh-CN");
  $("signin").addEventListener("submit", signIn);
  $("lang").addEventListener("click", () => setLanguage(S.lang === "zh-CN" ? "en" : "zh-CN"));
  $("hide").addEventListener("click", hide);
  $("curtain").addEventListener("click", show);
  $("lock").addEventListener("click", () => lock(null));
  $("sound").addEventListener("change", (e) => {
    S.sound = e.target.checked;
    if (S.me) localStorage.setItem(`hulei.sound.${S.me.user_id}`, S.sound ? "on" : "off");
  });
  $("reassign-submit").addEventListener("click", submitReassign);
  $("reassign-cancel").addEventListener("click", closeReassign);
  $("case-close").addEventListener("click", () => { $("case").hidden = true; });
  $("deadletter-dismiss").addEventListener("click", () => { $("deadletter").hidden = true; });
  $("filter-severity").addEventListener("change", render);
  $("filter-school").addEventListener("change", schoolFilterChanged);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); closeReassign(); hide(); }
    else if (e.key === "Enter" && !$("curtain").hidden) { e.preventDefault(); show(); }
  });
  for (const kind of ["keydown", "pointerdown", "pointermove", "wheel"]) {
    document.addEventListener(kind, () => { S.lastActivity = Date.now(); }, { passive: true });
  }
  // `?lock=<s>` may only shorten the inactivity lock (a desk in a busy room; the tests).
  const asked = Number(new URLSearchParams(location.search).get("lock")) || Infinity;
  const lockMs = Math.min(Number(document.body.dataset.lockS), Math.max(1, asked)) * 1000;
  setInterval(() => {
    if (S.token && Date.now() - S.lastActivity > lockMs) lock("signin.locked");
    tick();
  }, 1000);
  $("username").focus();
});
