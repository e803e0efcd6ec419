// The executions list: filters (machine, status, name, start time range, Standard or
// Express) kept in the route's query, so a filtered list is a link; pages by cursor.

import { h, fill, link, api, when, badge, duration, table, empty, note, errorText } from "./core.js";

const STATUSES = ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"];

/// A datetime-local value (local time) from epoch ms, and back.
function localInput(ms) {
  if (!ms) return "";
  const d = new Date(Number(ms));
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocal(v) {
  if (!v) return "";
  const t = new Date(v).getTime();
  return isNaN(t) ? "" : String(t);
}

export async function executionsPage(box, _arg, q) {
  const f = {
    machine: q.get("machine") || "",
    status: q.get("status") || "",
    name: q.get("name") || "",
    from: q.get("from") || "",
    to: q.get("to") || "",
    type: q.get("type") === "EXPRESS" ? "EXPRESS" : "STANDARD",
  };
  const machines = (await api("machines")).stateMachines || [];
  const ofType = machines.filter((m) => m.type === f.type);

  const machine = h("select", { id: "filter-machine", name: "machine" },
    h("option", { value: "" }, "All machines"),
    ofType.map((m) => h("option", { value: m.stateMachineArn, selected: m.stateMachineArn === f.machine }, m.name)));
  const status = h("select", { id: "filter-status", name: "status" },
    STATUSES.map((s) => h("option", { value: s, selected: s === f.status }, s ? s.replace(/_/g, " ") : "Any status")));
  const name = h("input", { id: "filter-name", name: "name", placeholder: "Name contains", value: f.name });
  const from = h("input", { id: "filter-from", type: "datetime-local", value: localInput(f.from), "aria-label": "Started after" });
  const to = h("input", { id: "filter-to", type: "datetime-local", value: localInput(f.to), "aria-label": "Started before" });
  const kind = h("div", { class: "seg", role: "tablist" },
    ["STANDARD", "EXPRESS"].map((t) => h("button", {
      type: "button", class: "seg-btn" + (t === f.type ? " on" : ""), id: "type-" + t.toLowerCase(),
      onclick: () => go({ type: t, machine: "" }),
    }, t === "STANDARD" ? "Standard" : "Express")));

  const go = (over) => {
    const v = Object.assign({
      machine: machine.value, status: status.value, name: name.value.trim(),
      from: fromLocal(from.value), to: fromLocal(to.value), type: f.type,
    }, over || {});
    const p = new URLSearchParams();
    for (const [k, val] of Object.entries(v)) if (val && !(k === "type" && val === "STANDARD")) p.set(k, val);
    const next = "#/executions" + (p.toString() ? "?" + p : "");
    if (next === location.hash) refresh();
    else location.hash = next;
  };

  const filters = h("form", {
    class: "filters",
    onsubmit: (ev) => { ev.preventDefault(); go(); },
  }, kind, machine, status, name,
  h("label", { class: "inline" }, "from", from), h("label", { class: "inline" }, "to", to),
  h("button", { class: "btn primary", type: "submit", id: "apply-filters" }, "Filter"),
  h("button", { class: "btn", type: "button", onclick: () => { location.hash = "#/executions" + (f.type === "EXPRESS" ? "?type=EXPRESS" : ""); } }, "Clear"));

  const list = h("div", { id: "executions" });
  const pager = h("div", { class: "pager" });
  // The cursors of the pages before this one (the first page has none).
  const cursors = [];
  let cursor = "";

  const show = async () => {
    fill(list, h("p", { class: "muted" }, "Loading…"));
    const t0 = performance.now();
    let r;
    try {
      r = await api("executions", {
        machine: f.machine, status: f.status, name: f.name, from: f.from, to: f.to,
        type: f.type === "EXPRESS" ? "EXPRESS" : "", after: cursor,
      });
    } catch (e) {
      fill(list, note("error", errorText(e)));
      return;
    }
    const rows = r.executions || [];
    const byArn = Object.fromEntries(machines.map((m) => [m.stateMachineArn, m.name]));
    fill(list, rows.length === 0
      ? empty(f.type === "EXPRESS"
        ? "No Express executions in the server's recent list match."
        : "No executions match.")
      : table(rows, [
        ["Name", (e) => link("/execution/" + encodeURIComponent(e.executionArn), e.name, { class: "execution-link" })],
        ["Status", (e) => badge(e.status)],
        ["State machine", (e) => link("/machine/" + encodeURIComponent(e.stateMachineArn),
          byArn[e.stateMachineArn] || e.stateMachineArn.slice(e.stateMachineArn.lastIndexOf(":") + 1))],
        ["Started", (e) => when(e.startMs, true)],
        ["Duration", (e) => e.stopMs ? duration(e.stopMs - e.startMs) : h("span", { class: "muted" }, "running")],
        ["Redrives", (e) => e.redriveCount ? String(e.redriveCount) : ""],
      ]));
    fill(pager,
      h("button", {
        class: "btn", id: "page-prev", disabled: cursors.length === 0,
        onclick: () => { cursor = cursors.pop() || ""; show(); },
      }, "‹ Newer"),
      h("span", { class: "muted" }, `Page ${cursors.length + 1} · ${rows.length} shown · ${Math.round(performance.now() - t0)} ms`),
      h("button", {
        class: "btn", id: "page-next", disabled: !r.next,
        onclick: () => { cursors.push(cursor); cursor = r.next; show(); },
      }, "Older ›"));
  };
  const refresh = () => { cursors.length = 0; cursor = ""; show(); };

  fill(box,
    h("div", { class: "page-head" }, h("h1", {}, "Executions"), h("span", { class: "grow" }),
      h("button", { class: "btn", id: "refresh", onclick: () => show() }, "Refresh")),
    filters, list, pager);
  await show();
}
