// Activities (with what is queued for their workers), functions, and one Map Run.

import { h, fill, link, api, when, badge, code, table, empty, tail } from "./core.js";

export async function activitiesPage(box) {
  const r = await api("activities");
  const rows = r.activities || [];
  fill(box,
    h("div", { class: "page-head" }, h("h1", {}, "Activities"), h("span", { class: "count" }, String(rows.length))),
    rows.length === 0 ? empty("No activities. Create one with aws stepfunctions create-activity.") : table(rows, [
      ["Name", (a) => a.name],
      ["ARN", (a) => h("code", {}, a.activityArn)],
      ["Created", (a) => when(a.creationDate)],
      ["Queued for a worker", (a) => String(a.queued ?? 0)],
      ["With a worker", (a) => String(a.started ?? 0)],
    ], { id: "activities" }),
    h("p", {}, link("/approvals", "See the waiting tasks in the approvals inbox")));
}

export async function functionsPage(box) {
  const r = await api("functions");
  const rows = r.functions || [];
  fill(box,
    h("div", { class: "page-head" }, h("h1", {}, "Functions"), h("span", { class: "count" }, String(rows.length))),
    rows.length === 0
      ? empty("No functions. Declare them in passo.toml ([functions.NAME]) or create them with passo function create.")
      : table(rows, [
        ["Name", (f) => f.name],
        ["From", (f) => h("span", { class: "tag" }, f.source === "PROJECT" ? "passo.toml" : "API")],
        ["Runs", (f) => h("code", {}, f.spec && (f.spec.url || [].concat(f.spec.command || []).join(" ")))],
        ["Spec", (f) => h("details", {}, h("summary", {}, "show"), code(JSON.stringify(f.spec)))],
      ], { id: "functions" }),
    recentCalls(r.recentCalls || []));
}

// The latest calls the server made (kept in memory, the newest 500).
function recentCalls(calls) {
  return h("section", {},
    h("h2", {}, "Recent calls"),
    calls.length === 0 ? empty("No calls since the server started.") : table(calls, [
      ["Function", (c) => c.function],
      ["Started", (c) => when(c.started)],
      ["Duration", (c) => `${c.durationMs} ms`],
      ["Status", (c) => badge(c.status)],
      ["Error", (c) => c.error || ""],
    ], { id: "recent-calls" }));
}

const COUNTS = ["pending", "running", "succeeded", "failed", "timedOut", "aborted", "total"];

export async function mapRunPage(box, arn) {
  const r = await api("map-run", { arn });
  const counts = (c) => h("div", { class: "counts" }, COUNTS.map((k) => h("div", { class: "count-box c-" + k },
    h("div", { class: "n" }, String((c && c[k]) ?? 0)), h("div", { class: "muted small" }, k))));
  const children = (rows, id) => rows && rows.length
    ? table(rows, [
      ["Child execution", (e) => link("/execution/" + encodeURIComponent(e.executionArn), e.name)],
      ["Status", (e) => badge(e.status)],
      ["Started", (e) => when(e.startDate)],
      ["Stopped", (e) => when(e.stopDate)],
    ], { id })
    : empty("None.");
  const total = (r.itemCounts && r.itemCounts.total) || 0;
  const done = r.itemCounts ? (r.itemCounts.succeeded || 0) + (r.itemCounts.failed || 0) + (r.itemCounts.timedOut || 0) + (r.itemCounts.aborted || 0) : 0;
  fill(box,
    h("div", { class: "crumbs" }, link("/executions", "Executions"), " / ",
      link("/execution/" + encodeURIComponent(r.executionArn), tail(r.executionArn)), " / Map Run"),
    h("div", { class: "page-head" }, h("h1", {}, "Map Run"), badge(r.status)),
    h("dl", { class: "facts" },
      h("dt", {}, "ARN"), h("dd", {}, h("code", {}, r.mapRunArn)),
      h("dt", {}, "Started"), h("dd", {}, when(r.startDate)),
      r.stopDate ? [h("dt", {}, "Stopped"), h("dd", {}, when(r.stopDate))] : null,
      h("dt", {}, "Max concurrency"), h("dd", {}, String(r.maxConcurrency ?? "")),
      h("dt", {}, "Tolerated failure"), h("dd", {}, `${r.toleratedFailurePercentage ?? 0}% / ${r.toleratedFailureCount ?? 0}`)),
    h("section", { class: "card" }, h("h2", {}, "Items"),
      h("div", { class: "progress" }, h("div", { class: "bar", style: null, "data-pct": total ? Math.round((100 * done) / total) : 0 })),
      counts(r.itemCounts)),
    h("section", { class: "card" }, h("h2", {}, "Child executions"), counts(r.executionCounts), children(r.children, "children")),
    h("section", { class: "card" }, h("h2", {}, "Failures"), children(r.failures, "failures")));
  // CSP forbids inline styles in markup; a property set from script is allowed.
  const bar = box.querySelector(".bar");
  if (bar) bar.style.width = bar.dataset.pct + "%";
}
