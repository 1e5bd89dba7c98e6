/**
 * The live dashboard, fed by GET /api/scheduler/events (server-sent events; nothing polls):
 * per device a memory bar (other processes, reserve, each engine's resident and per-request
 * memory, free), the loaded engines with their controls, the queue, the decisions as they
 * happen, and the plugins with their state, errors and reload.
 */
import { ApiError, authHeaders, json, postJson } from "./api.js";
import { $, h } from "./dom.js";
import { engineHue, formatMb, memorySegments, timeUntil } from "./memory.js";
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
  setInterval(renderCountdowns, 1000);
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
  if (changed("devices", snap.devices)) renderDevices();
  if (changed("loaded", snap.engines)) keepFocus(renderLoaded);
  if (changed("queue", [snap.queue, snap.cooldowns, snap.gpu])) renderQueue();
  if (changed("plugins", state.plugins)) keepFocus(renderPlugins);
}

function colour(kind, engine) {
  if (kind === "resident" || kind === "transient") return `hsl(${engineHue(engine)} 65% 50%)`;
  return "";
}

function renderDevices() {
  const devices = state.snapshot.devices;
  $("devices").replaceChildren(
    ...devices.map((d) => {
      const segs = memorySegments(d);
      const free = segs.find((s) => s.kind === "free")?.mb ?? 0;
      const title =
        d.kind === "cpu" ? "CPU memory (RAM engines may hold)" : `${d.id} · ${d.name}${d.simulated && !/simulated/i.test(d.name) ? " (simulated)" : ""}`;
      const bar = h("div", { class: "bar", role: "img", "aria-label": `${title}: ${segs.map((s) => `${s.label} ${formatMb(s.mb)}`).join(", ")}` });
      for (const s of segs) {
        const seg = h("span", { class: `seg ${s.kind}`, title: `${s.label}: ${formatMb(s.mb)}`, dataset: { kind: s.kind, engine: s.engine ?? "" } });
        seg.style.width = `${s.percent}%`;
        if (colour(s.kind, s.engine)) seg.style.background = colour(s.kind, s.engine);
        bar.append(seg);
      }
      const legend = h(
        "ul",
        { class: "legend" },
        ...segs.map((s) => {
          const swatch = h("span", { class: `swatch ${s.kind}`, "aria-hidden": "true" });
          if (colour(s.kind, s.engine)) swatch.style.background = colour(s.kind, s.engine);
          return h("li", {}, swatch, `${s.label} ${formatMb(s.mb)}`);
        }),
      );
      return h(
        "article",
        { class: "device", dataset: { device: d.id } },
        h("h3", {}, title),
        h("div", { class: "hint" }, `total ${formatMb(d.totalMb)} · free ${formatMb(free)}`),
        bar,
        legend,
      );
    }),
  );
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

function renderLoaded() {
  const engines = state.snapshot.engines;
  $("loaded-empty").hidden = engines.length > 0;
  $("loaded").hidden = engines.length === 0;
  $("loaded").tBodies[0].replaceChildren(
    ...engines.map((e) => {
      const id = encodeURIComponent(e.engine);
      const pin = h("input", {
        type: "checkbox",
        checked: e.pinned,
        dataset: { key: `pin:${e.engine}` },
        "aria-label": `Pin ${e.engine} (never unloaded when idle)`,
        onchange: (ev) => void control(`/api/scheduler/engines/${id}/${ev.target.checked ? "pin" : "unpin"}`),
      });
      const low = h("input", {
        type: "checkbox",
        checked: e.lowVram,
        dataset: { key: `lowvram:${e.engine}` },
        "aria-label": `Low-VRAM mode for ${e.engine}`,
        onchange: (ev) => void control(`/api/scheduler/engines/${id}/lowvram`, { enabled: ev.target.checked }),
      });
      return h(
        "tr",
        { dataset: { engine: e.engine } },
        h("td", {}, h("strong", {}, e.engine), h("div", { class: "hint" }, e.profile)),
        h("td", { "data-label": "Device" }, e.device),
        h("td", { "data-label": "State" }, h("span", { class: `badge ${e.state}` }, e.state), e.stale ? h("div", { class: "hint" }, "old generation") : null),
        h("td", { class: "num", "data-label": "Busy" }, `${e.inFlight} running`, h("div", { class: "hint" }, `${e.queued} queued`)),
        h("td", { "data-label": "Pin" }, pin),
        h("td", { "data-label": "Low VRAM" }, low),
        h("td", { class: "num unload-in", "data-label": "Unloads in", dataset: { unloadAt: e.unloadAt ?? "", pinned: String(e.pinned) } }, countdown(e)),
        h(
          "td",
          {},
          h(
            "button",
            {
              type: "button",
              dataset: { key: `unload:${e.engine}` },
              onclick: () => void control(`/api/scheduler/engines/${id}/unload`),
              "aria-label": `Unload ${e.engine}`,
            },
            "Unload",
          ),
        ),
      );
    }),
  );
}

function countdown(e) {
  if (e.pinned) return "pinned";
  if (e.inFlight) return "busy";
  return timeUntil(e.unloadAt) ?? (e.keepAliveSeconds < 0 ? "never" : "–");
}

function renderCountdowns() {
  if (!state.snapshot) return;
  for (const cell of document.querySelectorAll("#loaded td[data-unload-at]")) {
    if (cell.dataset.pinned === "true" || !cell.dataset.unloadAt) continue;
    cell.textContent = timeUntil(cell.dataset.unloadAt);
  }
}

function renderQueue() {
  const { queue: q, cooldowns = [], gpu } = state.snapshot;
  const by = Object.entries(q.byEngine)
    .map(([e, n]) => `${e}: ${n}`)
    .join(", ");
  const parts = [
    q.length ? `${q.length} waiting of at most ${q.max} (${by})` : `empty (at most ${q.max} may wait)`,
    ...cooldowns.map((c) => h("div", { class: "hint" }, `${c.key} is skipped for ${Math.ceil(c.remainingMs / 1000)} s after a failed load: ${c.error}`)),
    gpu && !gpu.ok ? h("div", { class: "error" }, `No usable GPU: ${gpu.reason ?? "unknown"}`) : null,
  ];
  $("queue").replaceChildren(...parts.filter(Boolean));
}

function renderPlugins() {
  $("plugins").tBodies[0].replaceChildren(
    ...state.plugins.map((p) =>
      h(
        "tr",
        { dataset: { plugin: p.id } },
        h(
          "td",
          {},
          h("strong", {}, p.name),
          h("div", { class: "hint" }, `${p.id}${p.default ? " · default" : ""}`),
          ...p.errors.map((e) => h("div", { class: "error" }, e)),
        ),
        h("td", { "data-label": "State" }, h("span", { class: `badge ${p.state}` }, p.state)),
        h("td", { "data-label": "Version" }, p.version ?? "–", h("div", { class: "hint" }, `generation ${p.generation}`)),
        h(
          "td",
          {},
          h(
            "div",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                dataset: { key: `reload:${p.id}` },
                "aria-label": `Reload ${p.name}`,
                onclick: () => void control(`/api/engines/${encodeURIComponent(p.id)}/reload`),
              },
              "Reload",
            ),
            p.default || p.state === "failed"
              ? null
              : h(
                  "button",
                  {
                    type: "button",
                    dataset: { key: `default:${p.id}` },
                    "aria-label": `Make ${p.name} the default engine`,
                    onclick: () => void control(`/api/engines/${encodeURIComponent(p.id)}/activate?load=true`),
                  },
                  "Make default",
                ),
          ),
        ),
      ),
    ),
  );
}
