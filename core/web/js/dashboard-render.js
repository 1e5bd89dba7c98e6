/**
 * The dashboard's views, drawn from the scheduler's snapshot: per device a memory bar (other
 * processes, reserve, each engine's resident and per-request memory, free), the loaded engines
 * with their controls, the queue, and the plugins with their state, errors and reload. Each
 * view gets its data and, where it has buttons, `control(path, body)` (dashboard.js) to run them.
 */
import { $, h } from "./dom.js";
import { engineHue, formatMb, memorySegments, timeUntil } from "./memory.js";

function colour(kind, engine) {
  if (kind === "resident" || kind === "transient") return `hsl(${engineHue(engine)} 65% 50%)`;
  return "";
}

export function renderDevices(devices) {
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

export function renderLoaded(engines, control) {
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

/** Ticks the unload countdowns of the loaded-engines table in place. */
export function renderCountdowns() {
  for (const cell of document.querySelectorAll("#loaded td[data-unload-at]")) {
    if (cell.dataset.pinned === "true" || !cell.dataset.unloadAt) continue;
    cell.textContent = timeUntil(cell.dataset.unloadAt);
  }
}

export function renderQueue({ queue: q, cooldowns = [], gpu }) {
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

export function renderPlugins(plugins, control) {
  $("plugins").tBodies[0].replaceChildren(
    ...plugins.map((p) =>
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
            p.default || p.state === "failed" || p.state === "needs setup"
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
