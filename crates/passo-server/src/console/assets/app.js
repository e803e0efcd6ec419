// The console's entry: the session, the navigation bar and the hash router.
// Routes: #/machines, #/machine/ARN, #/executions?FILTERS, #/execution/ARN, #/map-run/ARN,
// #/approvals, #/activities, #/functions, #/signin.

import { h, fill, act, api, session, note, errorText } from "./core.js";
import { machinesPage, machinePage } from "./machines.js";
import { executionsPage } from "./executions.js";
import { executionPage } from "./execution.js";
import { approvalsPage } from "./approvals.js";
import { activitiesPage, functionsPage, mapRunPage } from "./lists.js";

const main = document.getElementById("app");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

const PAGES = {
  machines: machinesPage,
  machine: machinePage,
  executions: executionsPage,
  execution: executionPage,
  "map-run": mapRunPage,
  approvals: approvalsPage,
  activities: activitiesPage,
  functions: functionsPage,
  signin: signInPage,
};

// What the page being shown wants done when it is left (close its live stream, timers).
let leave = null;
let wantedRoute = null;

/// The route in the hash: [page, argument, query].
function parse() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, qs] = raw.split("?");
  const slash = path.indexOf("/");
  const page = slash < 0 ? path : path.slice(0, slash);
  const arg = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));
  return [page || "machines", arg, new URLSearchParams(qs || "")];
}

async function route() {
  if (leave) {
    try {
      leave();
    } catch (_) {
      /* the old page is gone anyway */
    }
    leave = null;
  }
  const [page, arg, q] = parse();
  const show = PAGES[page];
  for (const a of nav.querySelectorAll("a")) {
    a.classList.toggle("active", a.dataset.page === page ||
      (a.dataset.page === "machines" && page === "machine") ||
      (a.dataset.page === "executions" && (page === "execution" || page === "map-run")));
  }
  if (!show) {
    fill(main, note("error", "There is no page " + page + "."));
    return;
  }
  if (page !== "signin" && session.signInRequired && !session.signedIn) {
    wantedRoute = location.hash;
    location.hash = "#/signin";
    return;
  }
  const box = h("div", { class: "page" });
  fill(main, box);
  window.scrollTo(0, 0);
  try {
    const done = await show(box, arg, q);
    if (typeof done === "function") leave = done;
  } catch (e) {
    if (e && e.code === "SignInRequired") return;
    fill(box, note("error", errorText(e)));
  }
}

function drawWho() {
  if (!session.signInRequired) {
    fill(who, h("span", { class: "muted" }, session.region ? `${session.region} · ${session.account}` : ""));
    return;
  }
  if (!session.signedIn) {
    fill(who);
    return;
  }
  fill(who,
    h("span", { class: "muted" }, "Signed in as "), h("code", {}, session.accessKeyId || ""), " ",
    h("button", {
      class: "btn small", id: "sign-out",
      onclick: async () => {
        try {
          await act("logout", {});
        } finally {
          session.signedIn = false;
          session.csrf = "";
          drawWho();
          location.hash = "#/signin";
        }
      },
    }, "Sign out"));
}

async function loadSession() {
  try {
    const s = await api("session");
    Object.assign(session, s);
  } catch (e) {
    if (e.code === "SignInRequired") {
      session.signInRequired = true;
      session.signedIn = false;
    } else {
      throw e;
    }
  }
  drawWho();
}

function signInPage(box) {
  if (!session.signInRequired || session.signedIn) {
    location.hash = "#/machines";
    return;
  }
  const id = h("input", { id: "access-key-id", name: "accessKeyId", autocomplete: "username", required: true });
  const secret = h("input", { id: "secret-access-key", name: "secretAccessKey", type: "password", autocomplete: "current-password", required: true });
  const msg = h("div");
  const form = h("form", {
    class: "signin card",
    onsubmit: async (ev) => {
      ev.preventDefault();
      fill(msg);
      try {
        const r = await fetch("/console/api/login", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ accessKeyId: id.value, secretAccessKey: secret.value }),
        });
        const body = await r.json();
        if (!r.ok) throw new Error(body.message || body.error);
        await loadSession();
        const to = wantedRoute && wantedRoute !== "#/signin" ? wantedRoute : "#/machines";
        wantedRoute = null;
        location.hash = to;
      } catch (e) {
        fill(msg, note("error", "Sign-in failed: " + e.message));
      }
    },
  },
  h("h1", {}, "Sign in"),
  h("p", { class: "muted" }, "This server requires an access key. Sign in with one of the keys it was started with (--access-key ID:SECRET)."),
  h("label", {}, "Access key ID", id),
  h("label", {}, "Secret access key", secret),
  msg,
  h("button", { class: "btn primary", type: "submit", id: "sign-in" }, "Sign in"));
  fill(box, form);
  id.focus();
}

window.addEventListener("passo:signin", () => {
  session.signedIn = false;
  session.signInRequired = true;
  drawWho();
  if (!location.hash.startsWith("#/signin")) {
    wantedRoute = location.hash;
    location.hash = "#/signin";
  }
});
window.addEventListener("hashchange", route);

(async () => {
  try {
    await loadSession();
  } catch (e) {
    fill(main, note("error", "The console cannot reach the server: " + errorText(e)));
    return;
  }
  if (!location.hash) location.hash = "#/machines";
  else route();
})();
