// One execution: its graph coloured by each state's status, the selected state's data, the
// table of state entries, the event history, its Map Runs; Stop, Redrive, copy the ARN,
// export the history. A running execution follows the server's live events.

import {
  h, fill, link, api, act, when, duration, badge, code, graph, colour, legend, table, empty,
  note, errorText, copy, download, machineOf, tail,
} from "./core.js";

const STOPPABLE = new Set(["RUNNING"]);
const REDRIVABLE = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);
const EVENTS_SHOWN = 500;

export async function executionPage(box, arn) {
  // What the person chose, kept across live reloads.
  const view = { selected: null, tab: "table", open: new Set(), eventsShown: EVENTS_SHOWN, stopAsked: false, steps: new Map() };
  let data = null;
  let source = null;
  let loading = false;
  let again = false;
  let flash = null;

  const reload = async () => {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      data = await api("execution", { arn });
      draw();
    } catch (e) {
      if (!data) throw e;
      flash = note("error", "Could not refresh: " + errorText(e));
      draw();
    } finally {
      loading = false;
    }
    if (again) {
      again = false;
      reload();
    }
  };

  const follow = () => {
    if (source || !data || data.execution.status !== "RUNNING") return;
    source = new EventSource("/console/api/execution/live?arn=" + encodeURIComponent(arn));
    source.addEventListener("change", () => reload());
    source.addEventListener("end", () => {
      unfollow();
      reload();
    });
  };
  const unfollow = () => {
    if (source) source.close();
    source = null;
  };

  const action = async (what, body, done) => {
    try {
      await act(what, body);
      flash = note("ok", done);
    } catch (e) {
      flash = note("error", errorText(e));
    }
    view.stopAsked = false;
    await reload();
    follow();
  };

  function draw() {
    const d = data;
    const x = d.execution;
    const machineArn = x.stateMachineArn;
    const running = x.status === "RUNNING";
    const stopBtn = !STOPPABLE.has(x.status) ? null : view.stopAsked
      ? h("span", { class: "confirm" }, "Stop this execution? ",
        h("button", { class: "btn danger", id: "confirm-stop", onclick: () => action("stop", { executionArn: x.executionArn }, "Stop requested.") }, "Stop it"),
        h("button", { class: "btn", onclick: () => { view.stopAsked = false; draw(); } }, "Keep running"))
      : h("button", { class: "btn danger", id: "stop", onclick: () => { view.stopAsked = true; draw(); } }, "Stop");
    const redriveBtn = !d.express && REDRIVABLE.has(x.status)
      ? h("button", { class: "btn", id: "redrive", onclick: () => action("redrive", { executionArn: x.executionArn }, "Redriven: the execution runs again from where it failed.") }, "Redrive")
      : null;
    const copyBtn = h("button", {
      class: "btn", id: "copy-arn",
      onclick: async () => { copyBtn.textContent = (await copy(x.executionArn)) ? "Copied" : "Copy failed"; },
    }, "Copy ARN");
    const exportBtn = h("button", {
      class: "btn", id: "export-history",
      onclick: () => download(`${x.name}-history.json`, JSON.stringify({ events: d.events }, null, 2)),
    }, "Export history");

    const g = graph(d.graph, (name) => { view.selected = name; draw(); });
    colour(g, d.states, view.selected);

    fill(box,
      h("div", { class: "crumbs" }, link("/executions" + (d.express ? "?type=EXPRESS" : ""), "Executions"), " / ",
        link("/machine/" + encodeURIComponent(machineArn), machineOf(x.executionArn) || tail(machineArn)), " / ", x.name),
      h("div", { class: "page-head" },
        h("h1", { id: "execution-name" }, x.name),
        h("span", { id: "execution-status" }, badge(x.status)),
        d.express ? h("span", { class: "tag" }, "EXPRESS") : null,
        running ? h("span", { class: "live", id: "live", title: "Updates as it runs" }, "● live") : null,
        h("span", { class: "grow" }),
        copyBtn, exportBtn, redriveBtn, stopBtn),
      flash,
      h("dl", { class: "facts" },
        fact("ARN", h("code", { id: "execution-arn" }, x.executionArn)),
        fact("State machine", link("/machine/" + encodeURIComponent(machineArn), tail(machineArn))),
        fact("Started", when(x.startDate)),
        x.stopDate ? fact("Stopped", when(x.stopDate)) : null,
        fact("Duration", x.stopDate ? duration(Math.round((x.stopDate - x.startDate) * 1000)) : duration(Date.now() - Math.round(x.startDate * 1000))),
        x.redriveCount ? fact("Redrives", String(x.redriveCount)) : null,
        d.execution.historyDropped ? fact("History", `${d.execution.historyDropped} oldest events dropped`) : null),
      x.error || x.cause
        ? h("div", { class: "failure", id: "execution-failure" },
          h("strong", {}, x.error || "Failed"), x.cause ? h("pre", { class: "cause" }, x.cause) : null)
        : null,
      h("div", { class: "split graph-split" },
        h("section", { class: "card graph-card" }, h("h2", {}, "Graph"), legend(), g,
          h("p", { class: "muted small" }, "Select a state to see its data.")),
        h("section", { class: "card state-panel", id: "state-panel" }, statePanel(d, view.selected, view.steps, loadSteps))),
      tabs(d));
    flash = null;
  }

  // An entry's processing steps, worked out by the server once asked for (kept: an ended
  // entry does not change).
  async function loadSteps(entered) {
    view.steps.set(entered, { loading: true });
    draw();
    try {
      view.steps.set(entered, await api("execution/steps", { arn, entered }));
    } catch (e) {
      view.steps.set(entered, { steps: null, why: errorText(e) });
    }
    draw();
  }

  function tabs(d) {
    const all = [
      ["table", `States (${d.entries.length})`, () => entriesTable(d)],
      ["events", `Events (${d.events.length})`, () => eventsList(d)],
      ["io", "Execution input & output", () => io(d.execution)],
    ];
    if (d.mapRuns && d.mapRuns.length) all.push(["maps", `Map Runs (${d.mapRuns.length})`, () => mapRuns(d.mapRuns)]);
    const current = all.find(([k]) => k === view.tab) || all[0];
    return h("section", { class: "card" },
      h("div", { class: "tabs", role: "tablist" }, all.map(([k, label]) => h("button", {
        class: "tab" + (k === current[0] ? " on" : ""), role: "tab", id: "tab-" + k,
        "aria-selected": k === current[0] ? "true" : "false",
        onclick: () => { view.tab = k; draw(); },
      }, label))),
      h("div", { class: "tab-body", id: "tab-body" }, current[2]()));
  }

  function entriesTable(d) {
    if (!d.entries.length) return empty("No state entered yet.");
    return table(d.entries, [
      ["State", (e) => h("a", {
        href: "#", class: "state-link",
        onclick: (ev) => { ev.preventDefault(); view.selected = e.name; draw(); },
      }, e.name)],
      ["Type", (e) => e.type],
      ["Status", (e) => badge(e.status)],
      ["Started", (e) => when(e.startMs, true)],
      ["Duration", (e) => e.durationMs !== null ? duration(e.durationMs) : ""],
      ["Retries", (e) => e.retries ? String(e.retries) : ""],
      ["Error", (e) => e.error || ""],
    ], { id: "entries" });
  }

  function eventsList(d) {
    const shown = d.events.slice(0, view.eventsShown);
    const rows = shown.map((ev) => {
      const det = Object.entries(ev).find(([k]) => k.endsWith("EventDetails"));
      const details = det ? det[1] : null;
      const item = h("details", {
        class: "event" + (/Failed|TimedOut|Aborted/.test(ev.type) ? " event-bad" : ""),
        "data-id": ev.id, open: view.open.has(ev.id),
      },
      h("summary", {},
        h("span", { class: "ev-id" }, String(ev.id)),
        h("span", { class: "ev-type" }, ev.type),
        h("span", { class: "ev-step" }, (details && details.name) || ""),
        h("span", { class: "ev-time muted" }, when(ev.timestamp))),
      h("div", { class: "ev-body" }, eventDetails(ev, details)));
      item.addEventListener("toggle", () => {
        if (item.open) view.open.add(ev.id);
        else view.open.delete(ev.id);
      });
      return item;
    });
    const more = d.events.length > shown.length
      ? h("button", { class: "btn", onclick: () => { view.eventsShown += EVENTS_SHOWN; draw(); } },
        `Show ${Math.min(EVENTS_SHOWN, d.events.length - shown.length)} more of ${d.events.length - shown.length}`)
      : null;
    return h("div", { id: "events" }, rows.length ? rows : empty("No events."), more);
  }

  function eventDetails(ev, details) {
    const meta = h("div", { class: "muted small" }, `previous event ${ev.previousEventId ?? "—"}`);
    if (!details) return [meta];
    const fields = Object.entries(details).map(([k, v]) => {
      const text = typeof v === "string" ? v : JSON.stringify(v, null, 2);
      return h("div", { class: "kv" }, h("div", { class: "k" }, k), code(text));
    });
    return [meta, fields];
  }

  await reload();
  follow();
  // The duration of a running execution ticks.
  const tick = setInterval(() => {
    if (data && data.execution.status === "RUNNING" && !loading) {
      const dd = box.querySelector(".facts");
      if (dd) reloadDurationOnly(dd, data.execution);
    }
  }, 1000);
  return () => {
    unfollow();
    clearInterval(tick);
  };
}

function reloadDurationOnly(dl, x) {
  for (const dt of dl.querySelectorAll("dt")) {
    if (dt.textContent === "Duration" && dt.nextSibling) {
      dt.nextSibling.textContent = duration(Date.now() - Math.round(x.startDate * 1000));
    }
  }
}

function fact(k, v) {
  return [h("dt", {}, k), h("dd", {}, v)];
}

/// The selected state: each of its entries with its data at every step.
function statePanel(d, name, steps, loadSteps) {
  if (!name) {
    const failed = d.entries.filter((e) => e.status === "failed");
    return [h("h2", {}, "State"),
      empty("Select a state in the graph or the table."),
      failed.length ? h("p", {}, "Failed: ", failed.map((e, i) => [i ? ", " : "", e.name])) : null];
  }
  const es = d.entries.filter((e) => e.name === name);
  const status = (d.states && d.states[name]) || "not_reached";
  const head = h("div", { class: "panel-head" }, h("h2", { id: "selected-state" }, name), badge(status));
  if (!es.length) return [head, empty("This state was not reached.")];
  return [head, es.map((e, i) => h("div", { class: "entry" },
    es.length > 1 ? h("h3", {}, `Entry ${i + 1} of ${es.length}`) : null,
    h("dl", { class: "facts compact" },
      fact("Type", e.type), fact("Status", badge(e.status)), fact("Started", when(e.startMs, true)),
      e.durationMs !== null ? fact("Duration", duration(e.durationMs)) : null,
      e.retries ? fact("Retries", String(e.retries)) : null),
    e.error || e.cause ? h("div", { class: "failure state-failure" + (e.status === "caught" ? " caught" : "") },
      h("strong", { class: "state-error" }, e.error || "Failed"),
      e.cause ? h("pre", { class: "cause state-cause" }, e.cause) : null) : null,
    step("Input", e.input),
    step("Parameters (sent to the resource)", e.parameters),
    step("Result (before ResultSelector/ResultPath)", e.result),
    step("Output", e.output),
    e.assigned ? step("Assigned variables", JSON.stringify(e.assigned)) : null,
    processing(e, steps.get(e.enteredEventId), loadSteps)))];
}

const STEPS = [
  ["input", "Input"], ["afterInputPath", "After InputPath"], ["afterParameters", "After Parameters"],
  ["afterArguments", "After Arguments"], ["afterItemsPath", "After ItemsPath"], ["result", "Result"],
  ["afterResultSelector", "After ResultSelector"], ["afterResultPath", "After ResultPath"],
];

/// The entry's input/output processing step by step, once asked for.
function processing(e, got, loadSteps) {
  if (e.endMs === null) return null;
  if (!got) {
    return h("button", { class: "btn small show-steps", onclick: () => loadSteps(e.enteredEventId) },
      "Show each processing step");
  }
  if (got.loading) return h("p", { class: "muted small" }, "Working out the steps…");
  if (!got.steps) return h("p", { class: "muted small steps-why" }, got.why || "No steps.");
  const r = got.steps;
  const i = r.inspectionData || {};
  return h("div", { class: "processing" },
    h("h3", {}, "Processing, step by step"),
    h("p", { class: "muted small" }, "Worked out again from the recorded input and result; the context object ($$) is a stand-in."),
    STEPS.filter(([k]) => i[k] !== undefined).map(([k, label]) => h("div", { class: "step", "data-step": k }, h("div", { class: "k" }, label), code(i[k]))),
    r.output !== undefined ? h("div", { class: "step", "data-step": "output" }, h("div", { class: "k" }, "Output (after OutputPath)"), code(r.output)) : null,
    i.variables !== undefined && i.variables !== "{}" ? h("div", { class: "step", "data-step": "variables" }, h("div", { class: "k" }, "Variables after Assign"), code(i.variables)) : null,
    r.error ? h("div", { class: "step" }, h("div", { class: "k" }, "Error"), h("code", {}, r.error + (r.cause ? ": " + r.cause : ""))) : null,
    r.nextState ? h("div", { class: "muted small" }, "Next state: ", r.nextState) : null);
}

function step(label, text) {
  if (text === null || text === undefined) return null;
  return h("div", { class: "step" }, h("div", { class: "k" }, label), code(text));
}

function io(x) {
  return h("div", { class: "split" },
    h("div", {}, h("h3", {}, "Input"), code(x.input ?? "", { id: "execution-input-view" })),
    h("div", {}, h("h3", {}, "Output"), x.output !== undefined ? code(x.output, { id: "execution-output" }) : empty("No output yet.")));
}

function mapRuns(runs) {
  return table(runs, [
    ["Map Run", (r) => link("/map-run/" + encodeURIComponent(r.mapRunArn), tail(r.mapRunArn.split("/").slice(-1)[0]) || r.mapRunArn)],
    ["Started", (r) => when(r.startDate)],
    ["Stopped", (r) => when(r.stopDate)],
  ]);
}
