// The year's figures (GET /v1/stats?year=, docs/patrol.md) as plain SVG bar charts drawn
// here: no chart library, no inline style (the CSP allows none; colours are console.css
// classes). Every bar carries its number as text and in its accessible label. Figures the
// answer lacks (listed in `pending`, or not there yet) are left out, never drawn as zero.
"use strict";

const SVG = "http://www.w3.org/2000/svg"; // the namespace's name: nothing is fetched from it
const BAR_W = 360; // the longest bar, in SVG units
const ROW_H = 26;
const LABEL_W = 230;

function svg(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function pick(obj, ...names) {
  for (const name of names) if (obj && obj[name] !== undefined && obj[name] !== null) return obj[name];
  return undefined;
}

const number = (n) => new Intl.NumberFormat(S.lang).format(n);
// A duration in seconds, as minutes (or seconds, under two minutes).
const minutes = (s) => t(s < 120 ? "figures.seconds" : "figures.minutes", {
  n: new Intl.NumberFormat(S.lang, { maximumFractionDigits: 1 }).format(s < 120 ? s : s / 60),
});

// One chart: a caption and one bar per row ({key, label, value, text}).
function chart(id, titleKey, rows) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  figure.id = `chart-${id}`;
  const caption = document.createElement("figcaption");
  caption.id = `chart-${id}-title`;
  caption.textContent = t(titleKey);
  figure.append(caption);
  if (!rows.length) {
    const none = document.createElement("p");
    none.className = "empty";
    none.textContent = t("figures.none");
    figure.append(none);
    return figure;
  }
  const max = Math.max(1, ...rows.map((r) => r.value));
  const width = LABEL_W + BAR_W + 90;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${rows.length * ROW_H + 4}`, width, height: rows.length * ROW_H + 4,
    role: "img", "aria-labelledby": caption.id,
  });
  root.append(svg("title", {}, t(titleKey)));
  rows.forEach((r, i) => {
    const y = i * ROW_H + 2;
    const g = svg("g", {
      class: "bar", "data-key": r.key, "data-value": r.value, role: "img",
      "aria-label": `${r.label}: ${r.text}`,
    });
    g.append(
      svg("text", { x: LABEL_W - 8, y: y + 17, class: "bar-label", "text-anchor": "end" }, r.label),
      svg("rect", { x: LABEL_W, y: y + 3, height: ROW_H - 8, width: Math.max(1, (r.value / max) * BAR_W), class: `bar-${id}` }),
      svg("text", { x: LABEL_W + Math.max(1, (r.value / max) * BAR_W) + 6, y: y + 17, class: "bar-value" }, r.text),
    );
    root.append(g);
  });
  figure.append(root);
  return figure;
}

const counts = (obj, label) => Object.entries(obj || {})
  .filter(([, v]) => typeof v === "number")
  .map(([key, value]) => ({ key, label: label(key), value, text: number(value) }));

// Durations of each task kind: median and p90, where the answer has them.
function durations(byKind, median, p90) {
  const rows = [];
  for (const [kind, f] of Object.entries(byKind || {})) {
    for (const [which, names] of [["median", median], ["p90", p90]]) {
      const s = pick(f, ...names);
      if (typeof s === "number") {
        rows.push({ key: `${kind}.${which}`, label: `${t(`kind.${kind}`)} · ${t(`figures.${which}`)}`, value: s, text: minutes(s) });
      }
    }
  }
  return rows;
}

function notices(data) {
  const rows = [];
  for (const [where, f] of [["schools", data.school_inspections], ["venues", data.venue_inspections]]) {
    for (const what of ["notices_issued", "notices_closed", "notices_overdue"]) {
      const v = pick(f, what);
      if (typeof v === "number") {
        rows.push({ key: `${where}.${what}`, label: `${t(`figures.${where}`)} · ${t(`figures.${what}`)}`, value: v, text: number(v) });
      }
    }
  }
  return rows;
}

function coverage(data) {
  const logged = pick(data, "video_days_logged");
  const complete = pick(data, "video_days_complete");
  if (typeof logged !== "number" || typeof complete !== "number") return [];
  const share = logged ? new Intl.NumberFormat(S.lang, { style: "percent" }).format(complete / logged) : "–";
  return [
    { key: "video_days_logged", label: t("figures.video_days_logged"), value: logged, text: number(logged) },
    { key: "video_days_complete", label: t("figures.video_days_complete"), value: complete, text: `${number(complete)} (${share})` },
  ];
}

function drawFigures(data) {
  const charts = [
    chart("category", "figures.by_category", counts(data.reports_by_category, (k) => t(`category.${k}`))),
    chart("severity", "figures.by_severity", counts(data.reports_by_severity, (k) => t(`risk.${k}`))),
    chart("ack", "figures.ack_times", durations(data.tasks_by_kind, ["ack_median_s"], ["ack_p90_s"])),
  ];
  const done = durations(data.tasks_by_kind,
    ["completion_median_s", "done_median_s", "complete_median_s"],
    ["completion_p90_s", "done_p90_s", "complete_p90_s"]);
  if (done.length) charts.push(chart("done", "figures.completion_times", done));
  charts.push(chart("notices", "figures.notices", notices(data)));
  charts.push(chart("video", "figures.video", coverage(data)));
  const cases = [["cases_opened"], ["cases_closed"], ["cases_under_monitoring", "under_monitoring", "cases_monitored"]]
    .map((names) => [names[0], pick(data, ...names)])
    .filter(([, v]) => typeof v === "number")
    .map(([key, v]) => ({ key, label: t(`figures.${key}`), value: v, text: number(v) }));
  charts.push(chart("cases", "figures.cases", cases));
  const escalations = pick(data, "escalations");
  if (typeof escalations === "number") {
    charts.push(chart("escalations", "figures.escalations", [{ key: "escalations", label: t("figures.escalations"), value: escalations, text: number(escalations) }]));
  } else if (escalations && typeof escalations === "object") {
    charts.push(chart("escalations", "figures.escalations", counts(escalations, (k) => t(`figures.escalation.${k}`))));
  }
  const dispositions = pick(data, "dispositions_by_kind", "dispositions");
  if (dispositions && typeof dispositions === "object") {
    charts.push(chart("dispositions", "figures.dispositions", counts(dispositions, (k) => t(`disposition.${k}`))));
  }
  $("figures-charts").replaceChildren(...charts);
  const pending = (data.pending || []).map((p) => t(`figures.pending.${p}`));
  $("figures-message").textContent = pending.length ? t("figures.pending", { list: pending.join("、") }) : "";
}

async function loadFigures() {
  const year = Number($("figures-year").value) || new Date().getFullYear();
  $("figures-year").value = year;
  $("figures-message").textContent = t("figures.loading");
  const r = await api("GET", `/v1/stats?year=${encodeURIComponent(year)}`);
  if (!r.ok) { $("figures-charts").replaceChildren(); $("figures-message").textContent = t("figures.failed"); return; }
  S.figures = await r.json();
  drawFigures(S.figures);
  $("figures").dataset.year = String(year);
}

function openFigures() {
  $("figures").hidden = false;
  loadFigures();
  $("figures-heading").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  $("figures-open").addEventListener("click", openFigures);
  $("figures-close").addEventListener("click", () => { $("figures").hidden = true; $("figures-open").focus(); });
  $("figures-year").addEventListener("change", loadFigures);
});
