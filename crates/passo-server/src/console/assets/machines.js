// The state machines: the list, and one machine's page (graph, definition, versions,
// aliases, starting an execution).

import { h, fill, link, api, act, when, badge, code, graph, table, empty, note, errorText, jsonEditor } from "./core.js";

export async function machinesPage(box) {
  fill(box, h("h1", {}, "State machines"), h("p", { class: "muted" }, "Loading…"));
  const r = await api("machines");
  const rows = r.stateMachines || [];
  fill(box,
    h("div", { class: "page-head" }, h("h1", {}, "State machines"),
      h("span", { class: "count" }, `${rows.length} machine${rows.length === 1 ? "" : "s"}`)),
    rows.length === 0
      ? empty("No state machines yet. Create one with the AWS CLI or an SDK (aws stepfunctions create-state-machine --endpoint-url …).")
      : table(rows, [
        ["Name", (m) => link("/machine/" + encodeURIComponent(m.stateMachineArn), m.name, { class: "machine-link" })],
        ["Type", (m) => h("span", { class: "tag" }, m.type)],
        ["Created", (m) => when(m.creationDate)],
        ["Last run", (m) => m.lastRun
          ? h("span", {}, badge(m.lastRun.status), " ",
            link("/execution/" + encodeURIComponent(m.lastRun.executionArn), when(m.lastRun.startMs, true), { class: "muted" }))
          : h("span", { class: "muted" }, "never run")],
      ], { id: "machines" }));
}

export async function machinePage(box, arn) {
  fill(box, h("p", { class: "muted" }, "Loading…"));
  const m = await api("machine", { arn });
  const start = startForm(m);
  const g = graph(m.graph);
  fill(box,
    h("div", { class: "crumbs" }, link("/machines", "State machines"), " / ", m.name),
    h("div", { class: "page-head" },
      h("h1", { id: "machine-name" }, m.name),
      h("span", { class: "tag" }, m.type),
      h("span", { class: "grow" }),
      link("/executions?machine=" + encodeURIComponent(m.stateMachineArn) +
        (m.type === "EXPRESS" ? "&type=EXPRESS" : ""), "Executions", { class: "btn" }),
      h("button", { class: "btn primary", id: "open-start", onclick: () => start.toggle() }, "Start execution")),
    h("dl", { class: "facts" },
      fact("ARN", h("code", {}, m.stateMachineArn)),
      fact("Status", m.status || "ACTIVE"),
      fact("Created", when(m.creationDate)),
      fact("Role", m.roleArn || ""),
      m.revisionId ? fact("Revision", m.revisionId) : null),
    start,
    h("div", { class: "split" },
      h("section", { class: "card graph-card" }, h("h2", {}, "Graph"), g),
      h("section", { class: "card" }, h("h2", {}, "Definition"), code(m.definition, { id: "definition" }))),
    h("div", { class: "split" },
      h("section", { class: "card" }, h("h2", {}, "Versions"), versions(m.versions)),
      h("section", { class: "card" }, h("h2", {}, "Aliases"), aliases(m.aliases))));
}

function fact(k, v) {
  return [h("dt", {}, k), h("dd", {}, v)];
}

function versions(vs) {
  if (!vs || vs.length === 0) return empty("No published versions.");
  return table(vs, [
    ["Version", (v) => h("code", {}, v.stateMachineVersionArn.slice(v.stateMachineVersionArn.lastIndexOf(":") + 1))],
    ["Created", (v) => when(v.creationDate)],
  ]);
}

function aliases(as) {
  if (!as || as.length === 0) return empty("No aliases.");
  return table(as, [
    ["Alias", (a) => a.stateMachineAliasArn.slice(a.stateMachineAliasArn.lastIndexOf(":") + 1)],
    ["Created", (a) => when(a.creationDate)],
  ]);
}

/// The Start execution panel: a name and a JSON input, checked before it is sent.
function startForm(m) {
  const msg = h("div");
  const go = h("button", { class: "btn primary", type: "submit", id: "start-execution" }, "Start");
  const editor = jsonEditor('{\n  \n}', { id: "execution-input", "aria-label": "Execution input (JSON)" },
    (ok) => { go.disabled = !ok; });
  editor.area.value = "{}";
  const name = h("input", { id: "execution-name", placeholder: "(generated)", maxlength: 80 });
  const form = h("form", {
    class: "card start-form hidden",
    onsubmit: async (ev) => {
      ev.preventDefault();
      fill(msg);
      if (!editor.check()) {
        fill(msg, note("error", "The input must be JSON."));
        return;
      }
      go.disabled = true;
      try {
        const r = await act("start", { stateMachineArn: m.stateMachineArn, name: name.value.trim(), input: editor.area.value });
        location.hash = "#/execution/" + encodeURIComponent(r.executionArn);
      } catch (e) {
        fill(msg, note("error", errorText(e)));
        go.disabled = false;
      }
    },
  },
  h("h2", {}, "Start an execution"),
  h("label", {}, "Name (optional)", name),
  h("label", {}, "Input", editor),
  msg,
  h("div", { class: "row" }, go,
    h("button", { class: "btn", type: "button", onclick: () => form.toggle() }, "Cancel")));
  form.toggle = () => {
    form.classList.toggle("hidden");
    if (!form.classList.contains("hidden")) editor.area.focus();
  };
  return form;
}
