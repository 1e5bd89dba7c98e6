/**
 * The fine-tune page: pick a dataset folder (from finetune.datasetDirs), check it
 * (POST /api/finetune/check: clip-length histogram, each finding) and plan the run
 * (POST /api/finetune/plan: the predicted peak memory as a bar against the card).
 * Correcting transcripts and starting runs wait for the API that does them.
 */
import { ApiError, json, postJson } from "./api.js";
import { $, h } from "./dom.js";
import { engineHue, formatMb } from "./memory.js";

let started = false;

export async function initFinetune() {
  if (started) return;
  started = true;
  $("ft-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void run("check");
  });
  $("ft-plan").addEventListener("click", () => void run("plan"));
  try {
    const { folders, datasetDirs } = await json("/api/web/datasets");
    $("ft-dataset").replaceChildren(...folders.map((f) => new Option(f, f)));
    $("ft-dataset-hint").textContent = folders.length ? `${folders.length} folders in ${datasetDirs.join(", ")}` : "no dataset folders: set finetune.datasetDirs in the configuration";
    for (const id of ["ft-check", "ft-plan"]) $(id).disabled = !folders.length;
  } catch (err) {
    started = false;
    showError(err);
  }
}

function showError(err) {
  $("ft-error").textContent = err instanceof ApiError ? `${err.message}${err.field ? ` (field: ${err.field})` : ""} [${err.code}]` : String(err?.message ?? err);
}

async function run(kind) {
  const dataset = $("ft-dataset").value;
  $("ft-error").textContent = "";
  $("ft-info").textContent = kind === "check" ? "checking (every clip is decoded)…" : "planning…";
  for (const id of ["ft-check", "ft-plan"]) $(id).disabled = true;
  try {
    const result = await (await postJson(`/api/finetune/${kind}`, { dataset })).json();
    if (kind === "check") showReport(result);
    else showPlan(result);
    $("ft-info").textContent = "";
  } catch (err) {
    $("ft-info").textContent = "";
    showError(err);
  } finally {
    for (const id of ["ft-check", "ft-plan"]) $(id).disabled = false;
  }
}

function showReport(report) {
  $("ft-report").hidden = false;
  const t = report.totals;
  $("ft-summary").textContent = `${report.summary} · ${t.clips} clips, ${Math.round(t.seconds)} s (${report.format} format, language ${report.language})`;
  const lengths = report.clips.map((c) => c.seconds).filter((s) => typeof s === "number");
  const top = Math.max(1, Math.ceil(Math.max(0, ...lengths)));
  const bins = Array.from({ length: top }, (_, i) => ({ from: i, to: i + 1, count: 0 }));
  for (const s of lengths) bins[Math.min(top - 1, Math.floor(s))].count++;
  const most = Math.max(1, ...bins.map((b) => b.count));
  $("ft-histogram").replaceChildren(...bins.map((b) => {
    const over = b.to > report.maxClipSeconds;
    const outside = !over && (b.from < 2 || b.to > 11);
    const bar = h("span", { class: "hbar", "aria-hidden": "true" });
    bar.style.width = `${(100 * b.count) / most}%`;
    const note = b.count && over ? " (over the trainer's maximum: dropped)" : b.count && outside ? " (outside 2-11 s)" : "";
    return h("li", { class: over ? "over" : outside ? "outside" : "", dataset: { from: String(b.from) }, "aria-label": `${b.from} to ${b.to} s: ${b.count} clips${note}` }, h("span", {}, `${b.from}-${b.to} s`), bar, h("span", {}, String(b.count)));
  }));
  $("ft-findings").replaceChildren(...(report.findings.length ? report.findings.map((f) => h("li", { dataset: { code: f.code, severity: f.severity } },
    h("span", { class: `badge ${f.severity === "error" ? "failed" : f.severity === "warning" ? "fallback" : ""}` }, f.severity), " ",
    f.clip ? h("strong", {}, `${f.clip}: `) : null, f.message, f.fix ? h("div", { class: "hint" }, f.fix) : null)) : [h("li", {}, "No findings.")]));
}

function showPlan(plan) {
  $("ft-plan-out").hidden = false;
  const p = plan.predicted;
  $("ft-plan-summary").textContent = `${plan.fits ? "Fits" : "Does not fit"} on ${plan.gpu.name} (${formatMb(plan.gpu.totalMb)}): peak ${formatMb(p.deviceMb)} (${p.peak}) against ${formatMb(plan.budgetMb)} free to use · batch ${plan.batchSize} × ${plan.gradAccumSteps} steps, ${plan.precision}, clips up to ${plan.maxClipSeconds} s`;
  const total = plan.gpu.totalMb;
  const parts = [
    { label: "other processes", mb: plan.gpu.othersMb, kind: "others" },
    { label: "Chorus engines", mb: plan.gpu.chorusMb, kind: "others" },
    ...Object.entries(p.terms).map(([label, mb]) => ({ label, mb, kind: "resident" })),
  ];
  const used = parts.reduce((n, x) => n + x.mb, 0);
  if (used < total) parts.push({ label: "free", mb: total - used, kind: "free" });
  parts.splice(0, parts.length, ...parts.filter((x) => x.mb > 0));
  const scale = Math.max(total, used);
  const bar = h("div", { class: "bar", role: "img", "aria-label": `Predicted memory on ${plan.gpu.name}: ${parts.map((x) => `${x.label} ${formatMb(x.mb)}`).join(", ")}` });
  for (const x of parts) {
    const seg = h("span", { class: `seg ${x.kind}`, title: `${x.label}: ${formatMb(x.mb)}`, dataset: { kind: x.kind } });
    seg.style.width = `${(100 * x.mb) / scale}%`;
    if (x.kind === "resident") seg.style.background = `hsl(${engineHue(x.label)} 60% 50%)`;
    bar.append(seg);
  }
  const legend = h("ul", { class: "legend" }, ...parts.map((x) => h("li", {}, `${x.label} ${formatMb(x.mb)}`)));
  $("ft-plan-bar").replaceChildren(bar, legend, ...(used > total ? [h("p", { class: "error" }, `${formatMb(used - total)} more than the card has`)] : []));
  $("ft-plan-notes").replaceChildren(...[...plan.warnings, ...plan.alternatives].map((w) => h("li", {}, w)));
}
