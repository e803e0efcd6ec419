// The approvals inbox: every task waiting on a token (Approve with an output, Reject with
// an error and cause: SendTaskSuccess / SendTaskFailure), and activity tasks waiting for
// a worker. Refreshed every few seconds without disturbing what is being typed: a card
// stays as long as its task waits.

import { h, fill, link, api, act, when, ago, code, table, empty, note, errorText, jsonEditor, machineOf } from "./core.js";

const EVERY_MS = 3000;

export async function approvalsPage(box) {
  const inbox = h("div", { id: "inbox", class: "inbox" });
  const waiting = h("div", { id: "activities-waiting" });
  const status = h("span", { class: "muted small" });
  // task token -> its card (kept while the task waits)
  const cards = new Map();

  const load = async () => {
    let r;
    try {
      r = await api("approvals");
    } catch (e) {
      fill(status, errorText(e));
      return;
    }
    fill(status, "Updated " + when(Date.now(), true).slice(11, 19));
    const now = new Set(r.callbacks.map((t) => t.taskToken));
    for (const [token, card] of cards) {
      if (!now.has(token) && !card.answered) {
        card.remove();
        cards.delete(token);
      }
    }
    for (const t of r.callbacks) {
      if (!cards.has(t.taskToken)) {
        const c = card(t, () => cards.delete(t.taskToken));
        cards.set(t.taskToken, c);
        inbox.appendChild(c);
      }
    }
    const placeholder = inbox.querySelector(".empty");
    if (cards.size === 0 && !placeholder) inbox.appendChild(empty("Nothing is waiting for an answer."));
    if (cards.size > 0 && placeholder) placeholder.remove();
    fill(waiting, r.activities.length === 0
      ? empty("No activity task is waiting for a worker.")
      : table(r.activities, [
        ["Execution", (t) => link("/execution/" + encodeURIComponent(t.executionArn), t.executionArn.slice(t.executionArn.lastIndexOf(":") + 1))],
        ["State", (t) => t.stateName],
        ["Activity", (t) => t.resource.slice(t.resource.lastIndexOf(":") + 1)],
        ["Phase", (t) => t.phase === "WORKER_HAS_IT" ? "a worker has it" : "queued"],
        ["Since", (t) => h("span", { title: when(t.sinceMs, true) }, ago(t.sinceMs))],
        ["Input", (t) => h("code", { class: "clip" }, t.payload || "")],
      ]));
  };

  fill(box,
    h("div", { class: "page-head" }, h("h1", {}, "Approvals"), h("span", { class: "grow" }), status,
      h("button", { class: "btn", id: "refresh", onclick: load }, "Refresh")),
    h("p", { class: "muted" }, "Tasks waiting for a task token (.waitForTaskToken): approve with an output, or reject with an error and a cause."),
    inbox,
    h("h2", {}, "Activities waiting for workers"),
    waiting);
  await load();
  const timer = setInterval(load, EVERY_MS);
  return () => clearInterval(timer);
}

function card(t, gone) {
  const msg = h("div");
  const approve = h("button", { class: "btn primary approve", type: "button" }, "Approve");
  const output = jsonEditor("{}", { class: "json-editor approve-output", rows: 4, "aria-label": "Output (JSON)" },
    (ok) => { approve.disabled = !ok; });
  const error = h("input", { class: "reject-error", placeholder: "Error (e.g. Rejected)", maxlength: 256 });
  const cause = h("input", { class: "reject-cause", placeholder: "Cause", maxlength: 32768 });
  const reject = h("button", { class: "btn danger reject", type: "button" }, "Reject");
  const el = h("article", { class: "card approval", "data-state": t.stateName, "data-execution": t.executionArn },
    h("div", { class: "panel-head" },
      h("h3", {}, h("span", { class: "state-name" }, t.stateName)),
      h("span", { class: "muted" }, "in ",
        link("/execution/" + encodeURIComponent(t.executionArn),
          `${machineOf(t.executionArn)} / ${t.executionArn.slice(t.executionArn.lastIndexOf(":") + 1)}`)),
      h("span", { class: "grow" }),
      h("span", { class: "muted", title: when(t.sinceMs, true) }, "waiting since " + when(t.sinceMs, true).slice(0, 19))),
    h("div", { class: "muted small" }, t.resource),
    h("div", { class: "k" }, "Payload it sent"),
    code(t.payload || "", { class: "code payload" }),
    h("div", { class: "answer" },
      h("div", { class: "answer-col" }, h("div", { class: "k" }, "Output"), output, approve),
      h("div", { class: "answer-col" }, h("div", { class: "k" }, "Rejection"), error, cause, reject)),
    msg);
  const send = async (what, body, done) => {
    approve.disabled = reject.disabled = true;
    try {
      await act(what, Object.assign({ taskToken: t.taskToken }, body));
      el.answered = true;
      el.classList.add("answered");
      fill(msg, note("ok", done));
      setTimeout(() => { el.remove(); gone(); }, 4000);
    } catch (e) {
      fill(msg, note("error", errorText(e)));
      approve.disabled = reject.disabled = false;
    }
  };
  approve.addEventListener("click", () => {
    if (!output.check()) return;
    send("approve", { output: output.area.value }, "Approved: the execution goes on.");
  });
  reject.addEventListener("click", () =>
    send("reject", { error: error.value.trim(), cause: cause.value }, "Rejected: the task failed with your error."));
  return el;
}
