/**
 * The live dashboard, fed by GET /api/scheduler/events (server-sent events; nothing polls):
 * per device a memory bar (other processes, reserve, each engine's resident and per-request
 * memory, free), the loaded engines with their controls, the queue, the decisions as they
 * happen, and the plugins with their state, errors and reload. This module holds the stream,
 * the state and the controls; the views are drawn by dashboard-render.js.
 */
import { ApiError, authHeaders, json, postJson } from "./api.js";
import { renderCountdowns, renderDevices, renderLoaded, renderPlugins, renderQueue } from "./dashboard-render.js";
import { $, h } from "./dom.js";
import { openStream } from "./sse.js";

const MAX_DECISIONS = 80;
const state = { snapshot: null, seen: new Set(), plugins: [], close: undefined, onPlugins: () => {}, pluginKey: "" };

export function initDashboard({ onLive, onPlugins, askForKey, onDecision = () => {} }) {
  state.onDecision = onDecision;
  state.onPlugins = onPlugins;
  state.onLive = onLive;
  state.askForKey = askForKey;
  connect();
  // The unload countdowns tick here; the data itself only changes when the server says so.
  setInterval(() => state.snapshot && renderCountdowns(), 1000);
}

export function connect() {
  state.close?.();
  state.close = openStream((signal) => fetch("/api/scheduler/events", { headers: authHeaders({ Accept: "text/event-stream" }), signal }), {
    onMessage,
    onState: (s, detail) => {
      state.onLive(s, detail);
      $("dash-status").textContent =
        s === "open"
          ? "Live from the server (server-sent events)."
          : s === "unauthorized"
            ? "The server needs an API key."
            : `Disconnected (${detail}); reconnecting…`;
      if (s === "unauthorized") {
        $("dash-error").replaceChildren(
          "The dashboard needs the API key. ",
          h(
            "button",
            { type: "button", onclick: () => void state.askForKey("the dashboard needs the API key").then((ok) => ok && connect()) },
            "Enter the API key",
          ),
        );
      } else $("dash-error").replaceChildren();
    },
  });
}

function onMessage({ event, data }) {
  const body = JSON.parse(data);
  if (event === "snapshot") {
    state.snapshot = body.scheduler;
    for (const d of body.scheduler.decisions) addDecision(d, false);
    state.plugins = body.plugins;
    render();
    const key = JSON.stringify(body.plugins.map((p) => [p.id, p.state === "failed", p.generation, p.default]));
    if (key !== state.pluginKey) {
      const first = state.pluginKey === "";
      state.pluginKey = key;
      if (!first) state.onPlugins();
    }
  } else if (event === "decision") {
    addDecision(body, true);
    state.onDecision(body);
    if (["load", "evict", "fallback", "oom", "refuse"].includes(body.action))
      $("dash-announcer").textContent = `${body.action} ${body.engine}: ${body.summary ?? body.reason}`;
  }
}

/** Adds a decision to the list, newest first, once; `fresh` ones are highlighted as they arrive. */
function addDecision(d, fresh) {
  if (state.seen.has(d.seq)) return;
  state.seen.add(d.seq);
  const list = $("decisions");
  const where = `${d.engine}${d.profile ? `:${d.profile}` : ""}${d.device ? ` on ${d.device}` : ""}`;
  const li = h(
    "li",
    { class: fresh ? "fresh" : "", dataset: { action: d.action, reason: d.reason, seq: String(d.seq) } },
    h("time", { datetime: d.at }, new Date(d.at).toLocaleTimeString()),
    h("span", { class: `badge ${d.action}` }, d.action),
    " ",
    h("strong", {}, where),
    d.requested ? ` (asked for ${d.requested})` : "",
    `: ${d.summary ?? d.reason}`,
    d.detail ? h("span", { class: "detail" }, d.detail) : null,
  );
  const after = [...list.children].find((el) => Number(el.dataset.seq) < d.seq);
  list.insertBefore(li, after ?? null);
  while (list.children.length > MAX_DECISIONS) {
    state.seen.delete(Number(list.lastElementChild.dataset.seq));
    list.lastElementChild.remove();
  }
}

/**
 * Redraws only the parts whose data changed, so that a heartbeat does not take the focus
 * away from a keyboard user's checkbox or button.
 */
const drawn = new Map();
function changed(part, data) {
  const key = JSON.stringify(data);
  if (drawn.get(part) === key) return false;
  drawn.set(part, key);
  return true;
}

/** Runs a redraw and puts the focus back on the control (same `data-key`) that had it. */
function keepFocus(draw) {
  const key = document.activeElement?.dataset?.key;
  draw();
  if (key) document.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

function render() {
  const snap = state.snapshot;
  if (changed("devices", snap.devices)) renderDevices(snap.devices);
  if (changed("loaded", snap.engines)) keepFocus(() => renderLoaded(snap.engines, control));
  if (changed("queue", [snap.queue, snap.cooldowns, snap.gpu])) renderQueue(snap);
  if (changed("plugins", state.plugins)) keepFocus(() => renderPlugins(state.plugins, control));
}

/** Runs a control, then shows its effect at once (pins and toggles make no decision to push). */
async function control(path, body) {
  try {
    await postJson(path, body);
    $("dash-error").replaceChildren();
    const snap = await json("/api/scheduler?decisions=0");
    state.snapshot = { ...snap, decisions: [] };
    render();
  } catch (err) {
    $("dash-error").textContent = err instanceof ApiError ? `${err.message} [${err.code}]` : String(err);
  }
}
