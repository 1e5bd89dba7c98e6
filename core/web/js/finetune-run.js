/**
 * The fine-tune page's run panel: start a job with the plan shown (POST /api/finetune/jobs),
 * follow it (GET /api/finetune/jobs/:id/events, server-sent events read with the API key),
 * its loss and memory curves drawn as inline SVG, stop it (DELETE) and resume it.
 */
import { api, json, postJson, ApiError } from "./api.js";
import { $ } from "./dom.js";
import { formatMb } from "./memory.js";
import { SseParser } from "./sse.js";

const TERMINAL = new Set(["stopped", "finished", "failed"]);
const MAX_POINTS = 2000;
const run = { plan: null, dataset: "", id: "", controller: null, loss: [], evalLoss: [], allocated: [], reserved: [], totalMb: null, state: null };

export function initRun() {
  $("ft-run-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void start();
  });
  $("ft-stop").addEventListener("click", () => void act(() => api(`/api/finetune/jobs/${encodeURIComponent(run.id)}`, { method: "DELETE" })));
  $("ft-resume").addEventListener("click", () => void act(async () => follow((await (await postJson("/api/finetune/jobs", { resume: run.id })).json()).id)));
  $("ft-pause").addEventListener(
    "click",
    () =>
      void act(async () =>
        showState(
          await (await postJson(`/api/finetune/jobs/${encodeURIComponent(run.id)}/${run.state?.status === "paused" ? "continue" : "pause"}`, {})).json(),
        ),
      ),
  );
  $("ft-follow").addEventListener("click", () => $("ft-jobs").value && follow($("ft-jobs").value));
}

/** Called when a plan is shown: the run starts with exactly that plan. */
export function setPlan(plan, dataset) {
  run.plan = plan;
  run.dataset = dataset;
  $("ft-start").disabled = false;
  $("ft-run-plan").textContent =
    `Plan: batch ${plan.batchSize} × ${plan.gradAccumSteps} steps, ${plan.precision}, clips up to ${plan.maxClipSeconds} s, peak ${formatMb(plan.predicted.deviceMb)} on ${plan.gpu.name}${plan.fits ? "" : " (does not fit: the run will likely fail)"}.`;
}

/** The run form's inputs by the request field a refusal names. */
const INPUTS = { baseModel: "ft-base", epochs: "ft-epochs", out: "ft-out" };

/** Shows a refusal; the input it names is marked invalid and gets the focus. */
function showError(err) {
  $("ft-run-error").textContent =
    err instanceof ApiError ? `${err.message}${err.field ? ` (field: ${err.field})` : ""} [${err.code}]` : String(err?.message ?? err);
  const input = err instanceof ApiError && INPUTS[String(err.field).split(".")[0]];
  if (input) {
    $(input).setAttribute("aria-invalid", "true");
    $(input).setAttribute("aria-errormessage", "ft-run-error");
    $(input).focus();
  }
}

async function act(fn) {
  $("ft-run-error").textContent = "";
  for (const id of Object.values(INPUTS)) $(id).removeAttribute("aria-invalid");
  try {
    await fn();
  } catch (err) {
    showError(err);
  }
}

/** Fills the job list (after the page's first call, so a missing API key is asked for once). */
export async function listJobs() {
  try {
    const { jobs } = await json("/api/finetune/jobs");
    $("ft-jobs").replaceChildren(...jobs.map((j) => new Option(`${j.id} (${j.status})`, j.id)));
    $("ft-follow").disabled = !jobs.length;
  } catch {
    $("ft-jobs").replaceChildren();
  }
}

async function start() {
  const baseModel = $("ft-base").value.trim();
  if (!baseModel) {
    $("ft-base").setAttribute("aria-invalid", "true");
    $("ft-run-error").textContent = "name the base model folder (field: baseModel)";
    $("ft-base").focus();
    return;
  }
  $("ft-base").removeAttribute("aria-invalid");
  const body = { dataset: run.dataset, baseModel, plan: run.plan };
  const epochs = Number($("ft-epochs").value);
  if (epochs) body.epochs = epochs;
  if ($("ft-out").value.trim()) body.out = $("ft-out").value.trim();
  await act(async () => {
    const state = await (await postJson("/api/finetune/jobs", body)).json();
    await listJobs();
    follow(state.id);
  });
}

function reset(id) {
  run.controller?.abort();
  Object.assign(run, { id, loss: [], evalLoss: [], allocated: [], reserved: [], totalMb: null, state: null, controller: new AbortController() });
  $("ft-job").hidden = false;
}

function push(list, point) {
  list.push(point);
  if (list.length > MAX_POINTS) list.splice(0, list.length - MAX_POINTS);
}

function onWorkerMessage(m) {
  if (m.type === "progress") {
    if (typeof m.loss === "number") push(run.loss, [m.globalStep, m.loss]);
    push(run.allocated, [m.globalStep, m.maxAllocatedMb]);
    if (typeof m.reservedMb === "number") push(run.reserved, [m.globalStep, m.reservedMb]);
    if (m.totalMb) run.totalMb = m.totalMb;
  } else if (m.type === "eval" && typeof m.loss === "number") push(run.evalLoss, [m.globalStep, m.loss]);
}

/** Follows job `id`: its logged progress first, then the live stream until the job ends. */
async function follow(id) {
  reset(id);
  const { signal } = run.controller;
  try {
    const past = await json(`/api/finetune/jobs/${encodeURIComponent(id)}?log=1000`, { signal });
    for (const entry of past.log ?? []) onWorkerMessage(entry);
    showState(past);
    for (let drops = 0; !signal.aborted && !TERMINAL.has(run.state?.status); drops++) {
      if (drops === 5) throw new Error(`the job's event stream ended ${drops} times while the job is ${run.state.status}; press Follow to try again`);
      const res = await api(`/api/finetune/jobs/${encodeURIComponent(id)}/events`, { headers: { Accept: "text/event-stream" }, signal });
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const { event, data } of parser.push(value)) {
          const d = JSON.parse(data);
          if (event === "state") showState(d);
          else if (event === "message") {
            onWorkerMessage(d);
            drops = 0; // live: the worker is talking
          }
        }
        draw();
      }
      if (!TERMINAL.has(run.state?.status)) await new Promise((r) => setTimeout(r, 1000)); // the stream dropped: reconnect
    }
    await listJobs();
  } catch (err) {
    if (!signal.aborted) showError(err);
  }
}

function showState(s) {
  run.state = s;
  if (s.memory?.totalMb) run.totalMb = s.memory.totalMb;
  const eta = s.etaSeconds ? `, about ${Math.ceil(s.etaSeconds / 60)} min left` : "";
  const loss = typeof s.loss === "number" ? `, loss ${s.loss.toFixed(3)}` : "";
  $("ft-job-status").textContent =
    `Job ${s.id}: ${s.status} · epoch ${Math.min(s.epoch + 1, s.epochs)}/${s.epochs}, step ${s.globalStep}/${s.totalSteps}${loss}${eta}${s.lastCheckpoint ? ` · checkpoint at step ${s.lastCheckpoint.globalStep}` : ""}${s.resumedFrom ? ` · resumed from step ${s.resumedFrom.globalStep}` : ""}${s.error ? ` · ${s.error}` : ""}${s.slowdown ? ` · ${s.slowdown}` : ""}`;
  $("ft-job-progress").max = Math.max(1, s.totalSteps);
  $("ft-job-progress").value = s.globalStep;
  $("ft-stop").disabled = TERMINAL.has(s.status) || s.status === "stopping";
  $("ft-resume").disabled = !(s.status === "stopped" || s.status === "failed");
  $("ft-pause").textContent = s.status === "paused" ? "Continue" : "Pause";
  $("ft-pause").disabled = !(s.status === "running" || s.status === "paused");
  draw();
}

function draw() {
  $("ft-loss").replaceChildren(
    chart(
      [
        { label: "training loss", points: run.loss, cls: "c1" },
        { label: "eval loss", points: run.evalLoss, cls: "c2" },
      ],
      (v) => v.toFixed(2),
    ),
  );
  const mem = [
    { label: "peak allocated", points: run.allocated, cls: "c1" },
    { label: "reserved", points: run.reserved, cls: "c2" },
  ];
  $("ft-memory").replaceChildren(chart(mem, formatMb, run.totalMb));
}

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, text) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
};

/** A line chart of `series` against the global step (inline SVG); `ceiling` draws a limit line (the card). */
function chart(series, format, ceiling) {
  const W = 320,
    H = 130,
    L = 44,
    B = 16;
  const all = series.flatMap((s) => s.points);
  const describe = series
    .filter((s) => s.points.length)
    .map((s) => `${s.label}: ${s.points.length} points, last ${format(s.points.at(-1)[1])} at step ${s.points.at(-1)[0]}`)
    .join("; ");
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "curve", role: "img", "aria-label": describe || "no data yet" });
  if (!all.length) {
    root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "axis" }, "no data yet"));
    return root;
  }
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).concat(ceiling ? [ceiling] : []);
  const x0 = Math.min(...xs),
    x1 = Math.max(x0 + 1, ...xs);
  const y0 = Math.min(0, ...ys),
    y1 = Math.max(y0 + 1e-9, ...ys) * 1.05;
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - 4);
  const Y = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - B - 6);
  root.append(svg("line", { x1: L, y1: H - B, x2: W - 4, y2: H - B, class: "axis-line" }), svg("line", { x1: L, y1: 6, x2: L, y2: H - B, class: "axis-line" }));
  root.append(
    svg("text", { x: L - 3, y: 12, "text-anchor": "end", class: "axis" }, format(y1)),
    svg("text", { x: L - 3, y: H - B, "text-anchor": "end", class: "axis" }, format(y0)),
  );
  root.append(
    svg("text", { x: L, y: H - 3, class: "axis" }, `step ${x0}`),
    svg("text", { x: W - 4, y: H - 3, "text-anchor": "end", class: "axis" }, `step ${x1}`),
  );
  if (ceiling)
    root.append(
      svg("line", { x1: L, y1: Y(ceiling), x2: W - 4, y2: Y(ceiling), class: "limit" }),
      svg("text", { x: W - 6, y: Y(ceiling) - 2, "text-anchor": "end", class: "axis" }, `card ${format(ceiling)}`),
    );
  for (const s of series) {
    if (!s.points.length) continue;
    root.append(
      svg("polyline", { points: s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(" "), class: `line ${s.cls}`, "data-series": s.label }),
    );
  }
  return root;
}
