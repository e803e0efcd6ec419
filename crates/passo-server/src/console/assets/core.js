// The console's shared pieces: building elements (text only: user data never becomes
// markup), calling the console's JSON endpoints, formatting, the graph.

// ---- elements ---------------------------------------------------------------------------

/// An element. `attrs`: `class`, `on<event>` (a function), anything else an attribute.
/// Children: strings and numbers become text nodes, null/false are skipped, arrays flatten.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/// Replaces an element's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/// A link inside the console.
export function link(route, text, attrs) {
  return h("a", Object.assign({ href: "#" + route }, attrs || {}), text);
}

// ---- the endpoints ----------------------------------------------------------------------

export const session = { csrf: "", signInRequired: false, signedIn: false, accessKeyId: null };

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

async function answer(r) {
  let body = null;
  try {
    body = await r.json();
  } catch (_) {
    body = null;
  }
  if (!r.ok) {
    const code = (body && body.error) || "HTTP " + r.status;
    const err = new ApiError(r.status, code, body && body.message);
    if (code === "SignInRequired") window.dispatchEvent(new CustomEvent("passo:signin"));
    throw err;
  }
  return body;
}

/// A read: GET /console/api/PATH?params.
export async function api(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") q.set(k, v);
  }
  const qs = q.toString();
  const r = await fetch("/console/api/" + path + (qs ? "?" + qs : ""), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  return answer(r);
}

/// An action: POST /console/api/PATH with a JSON body and the CSRF token.
export async function act(path, body) {
  const r = await fetch("/console/api/" + path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Passo-Csrf": session.csrf },
    body: JSON.stringify(body || {}),
  });
  return answer(r);
}

// ---- formatting -------------------------------------------------------------------------

/// A date from epoch seconds (the API's timestamps) or milliseconds (`ms` true).
export function when(t, ms) {
  if (t === null || t === undefined || t === "") return "";
  const d = new Date(ms ? t : t * 1000);
  if (isNaN(d)) return String(t);
  const p = (n, w) => String(n).padStart(w || 2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/// A duration in milliseconds, short.
export function duration(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return ms + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  const m = Math.floor(ms / 60000);
  if (m < 60) return `${m} min ${Math.round((ms % 60000) / 1000)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/// How long ago, from epoch milliseconds.
export function ago(ms) {
  if (!ms) return "";
  return duration(Math.max(0, Date.now() - ms)) + " ago";
}

/// A JSON text pretty-printed (or as is when it is not JSON).
export function pretty(text) {
  if (text === null || text === undefined) return "";
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (_) {
    return text;
  }
}

/// A block of code (JSON) as text.
export function code(text, attrs) {
  return h("pre", Object.assign({ class: "code" }, attrs || {}), pretty(text));
}

/// The status of an execution or a state as a coloured badge.
export function badge(status) {
  const s = String(status || "").toLowerCase();
  const text = s ? s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, " ") : "—";
  return h("span", { class: "badge st-" + s }, text);
}

/// The last part of an ARN (after the last ':').
export function tail(arn) {
  const s = String(arn || "");
  return s.slice(s.lastIndexOf(":") + 1);
}

/// The machine's name in an execution ARN (`...:execution:MACHINE:NAME`).
export function machineOf(arn) {
  const parts = String(arn || "").split(":");
  return parts.length >= 8 ? parts[6] : "";
}

/// A message line: `kind` is "error", "ok" or "info".
export function note(kind, text) {
  return h("div", { class: "note note-" + kind, role: kind === "error" ? "alert" : "status" }, text);
}

export function errorText(e) {
  if (e instanceof ApiError) return `${e.code}: ${e.message}`;
  return String((e && e.message) || e);
}

/// Copies text to the clipboard (falling back to a selected text field).
export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    const t = h("textarea", { class: "offscreen" });
    t.value = text;
    document.body.appendChild(t);
    t.select();
    const done = document.execCommand && document.execCommand("copy");
    t.remove();
    return !!done;
  }
}

/// A download of `text` as FILE.
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type: type || "application/json" }));
  const a = h("a", { href: url, download: name, class: "offscreen" });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- a JSON editor ----------------------------------------------------------------------

/// A text area checked as JSON while typing. `onvalid(ok)` is told each time it changes.
export function jsonEditor(initial, attrs, onvalid) {
  const area = h("textarea", Object.assign({ class: "json-editor", spellcheck: "false", rows: 8 }, attrs || {}));
  area.value = initial;
  const msg = h("div", { class: "json-check", "aria-live": "polite" });
  const check = () => {
    let ok = true;
    try {
      JSON.parse(area.value);
      fill(msg, "Valid JSON");
      msg.className = "json-check ok";
    } catch (e) {
      ok = false;
      fill(msg, "Not JSON: " + e.message);
      msg.className = "json-check bad";
    }
    if (onvalid) onvalid(ok);
    return ok;
  };
  area.addEventListener("input", check);
  const box = h("div", { class: "json-box" }, area, msg);
  box.area = area;
  box.check = check;
  queueMicrotask(check);
  return box;
}

// ---- the graph --------------------------------------------------------------------------

// What the server's SVG may hold (svg.rs writes only these); anything else is dropped, so
// even a renderer bug could not put script or a link in the page.
const SVG_TAGS = new Set(["svg", "defs", "marker", "path", "style", "g", "title", "rect", "text", "polyline"]);
const SVG_ATTRS = new Set(["xmlns", "class", "viewBox", "width", "height", "role", "id", "refX", "refY",
  "markerWidth", "markerHeight", "orient", "d", "points", "marker-end", "data-id", "data-name",
  "x", "y", "rx", "text-anchor"]);

function clean(node) {
  for (const child of Array.from(node.children)) {
    if (!SVG_TAGS.has(child.localName) || child.localName === "style") {
      child.remove();
      continue;
    }
    for (const a of Array.from(child.attributes)) {
      if (!SVG_ATTRS.has(a.name)) child.removeAttribute(a.name);
    }
    if (child.getAttribute("marker-end") && child.getAttribute("marker-end") !== "url(#arrow)") {
      child.removeAttribute("marker-end");
    }
    clean(child);
  }
}

/// The server's SVG text as a DOM element (parsed as XML, never as HTML), or a message.
export function graph(g, onselect) {
  if (!g) return note("info", "No graph.");
  if (g.error) return note("error", "The definition cannot be drawn: " + g.error);
  const doc = new DOMParser().parseFromString(g.svg, "image/svg+xml");
  const root = doc.documentElement;
  if (root.localName !== "svg" || doc.getElementsByTagName("parsererror").length) {
    return note("error", "The graph could not be read.");
  }
  clean(root);
  const svg = document.importNode(root, true);
  const wrap = h("div", { class: "graph-wrap" }, svg);
  if (onselect) {
    svg.addEventListener("click", (ev) => {
      const n = ev.target.closest("g.node");
      if (n && !n.classList.contains("shape-terminal")) onselect(n.getAttribute("data-name"));
    });
  }
  return wrap;
}

/// Colours a graph's nodes by state name (`statuses`: name -> progress.rs's status).
export function colour(wrap, statuses, selected) {
  for (const n of wrap.querySelectorAll("g.node")) {
    const name = n.getAttribute("data-name");
    for (const c of Array.from(n.classList)) if (c.startsWith("st-")) n.classList.remove(c);
    if (n.classList.contains("shape-terminal") || n.classList.contains("shape-lane")) continue;
    n.classList.add("st-" + ((statuses && statuses[name]) || "not_reached"));
    n.classList.toggle("selected", selected !== undefined && name === selected);
  }
}

/// The legend of the state colours.
export function legend() {
  const all = ["not_reached", "running", "succeeded", "failed", "caught", "retried"];
  return h("div", { class: "legend" },
    all.map((s) => h("span", { class: "legend-item" }, h("span", { class: "swatch st-" + s }), s.replace("_", " "))));
}

// ---- tables -----------------------------------------------------------------------------

/// A table: `cols` are [heading, row => cell] pairs.
export function table(rows, cols, attrs) {
  return h("table", Object.assign({ class: "list" }, attrs || {}),
    h("thead", {}, h("tr", {}, cols.map(([t]) => h("th", {}, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, cols.map(([, f]) => h("td", {}, f(r)))))));
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}
