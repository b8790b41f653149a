// The case drill-down (console.js opens it from a row): facts only, no names, no free text.
"use strict";

async function openCase(caseId) {
  const r = await api("GET", `/v1/cases/${encodeURIComponent(caseId)}`);
  if (!r.ok) return;
  const c = await r.json();
  S.caseSchools.set(c.id, c.school_ids || []);
  const when = new Intl.DateTimeFormat(S.lang, { timeZone: ZONE, dateStyle: "short", timeStyle: "short" });
  const facts = [
    ["case.status", t(`status.${c.status}`)],
    ["case.risk", t(`risk.${c.risk_level}`)],
    ["case.opened", c.opened_at ? when.format(Date.parse(c.opened_at)) : "–"],
    ["case.schools", (c.school_ids || []).map((s) => S.schools.get(s) || s).join("、")],
    ["case.categories", (c.categories || []).map((k) => t(`category.${k}`)).join("、")],
  ];
  $("case-facts").replaceChildren(...facts.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = t(k);
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
  const entry = (e) => {
    const li = document.createElement("li");
    li.textContent = `${when.format(Date.parse(e.at))} ${t(`chron.${e.kind}`)}`;
    return li;
  };
  $("case-chronology").replaceChildren(...(c.chronology || []).map(entry));
  if (c.chronology_after) { // the case carries the first page; the rest is the chronology's list
    const after = encodeURIComponent(c.chronology_after);
    const rest = await pages(`/v1/cases/${encodeURIComponent(caseId)}/chronology?after=${after}&limit=100`);
    $("case-chronology").append(...rest.map(entry));
  }
  const tasks = await pages(`/v1/tasks?case_id=${encodeURIComponent(caseId)}&limit=100`);
  $("case-tasks").replaceChildren(...tasks.map((task) => {
    const li = document.createElement("li");
    li.textContent = `${t(`kind.${task.kind}`)} · ${t(`agency.${task.agency}`)} · ${t(`status.${task.status}`)} · ${when.format(Date.parse(task.due_at))}`;
    return li;
  }));
  $("case").hidden = false;
  $("case").focus();
}
