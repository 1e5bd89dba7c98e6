/**
 * The fine-tune page: pick a dataset folder (from finetune.datasetDirs), check it
 * (POST /api/finetune/check: clip-length histogram, each finding) and plan the run
 * (POST /api/finetune/plan: the predicted peak memory as a bar against the card). Each
 * finding that names a clip gets a player (GET /api/finetune/clip, fetched with the API key
 * and played from a blob) and a transcript field (POST /api/finetune/transcript: the
 * metadata is rewritten, a backup kept, and the re-run check shown).
 */
import { api, ApiError, json, postJson } from "./api.js";
import { $, h } from "./dom.js";
import { engineHue, formatMb } from "./memory.js";
import { initRun, listJobs, setPlan } from "./finetune-run.js";

let started = false;

export async function initFinetune() {
  if (started) return;
  started = true;
  $("ft-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void run("check");
  });
  $("ft-plan").addEventListener("click", () => void run("plan"));
  initRun();
  try {
    const { folders, datasetDirs } = await json("/api/web/datasets");
    $("ft-dataset").replaceChildren(...folders.map((f) => new Option(f, f)));
    $("ft-dataset-hint").textContent = folders.length
      ? `${folders.length} folders in ${datasetDirs.join(", ")}`
      : "no dataset folders: set finetune.datasetDirs in the configuration";
    for (const id of ["ft-check", "ft-plan"]) $(id).disabled = !folders.length;
    void listJobs();
  } catch (err) {
    started = false;
    showError(err);
  }
}

function showError(err) {
  $("ft-error").textContent =
    err instanceof ApiError ? `${err.message}${err.field ? ` (field: ${err.field})` : ""} [${err.code}]` : String(err?.message ?? err);
}

async function run(kind) {
  const dataset = $("ft-dataset").value;
  $("ft-error").textContent = "";
  $("ft-info").textContent = kind === "check" ? "checking (every clip is decoded)…" : "planning…";
  for (const id of ["ft-check", "ft-plan"]) $(id).disabled = true;
  try {
    const result = await (await postJson(`/api/finetune/${kind}`, { dataset })).json();
    if (kind === "check") {
      $("ft-saved").textContent = "";
      showReport(result);
    } else {
      showPlan(result);
      setPlan(result, dataset);
    }
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
  $("ft-histogram").replaceChildren(
    ...bins.map((b) => {
      const over = b.to > report.maxClipSeconds;
      const outside = !over && (b.from < 2 || b.to > 11);
      const bar = h("span", { class: "hbar", "aria-hidden": "true" });
      bar.style.width = `${(100 * b.count) / most}%`;
      const note = b.count && over ? " (over the trainer's maximum: dropped)" : b.count && outside ? " (outside 2-11 s)" : "";
      return h(
        "li",
        { class: over ? "over" : outside ? "outside" : "", dataset: { from: String(b.from) }, "aria-label": `${b.from} to ${b.to} s: ${b.count} clips${note}` },
        h("span", {}, `${b.from}-${b.to} s`),
        bar,
        h("span", {}, String(b.count)),
      );
    }),
  );
  const clips = new Map(report.clips.map((c) => [c.clip, c]));
  let n = 0;
  $("ft-findings").replaceChildren(
    ...(report.findings.length
      ? report.findings.map((f) =>
          h(
            "li",
            { dataset: { code: f.code, severity: f.severity, clip: f.clip ?? "" } },
            h("span", { class: `badge ${f.severity === "error" ? "failed" : f.severity === "warning" ? "fallback" : ""}` }, f.severity),
            " ",
            f.clip ? h("strong", {}, `${f.clip}: `) : null,
            f.message,
            f.fix ? h("div", { class: "hint" }, f.fix) : null,
            clips.has(f.clip) ? clipTools(report.dir, clips.get(f.clip), `ft-f${n++}`) : null,
          ),
        )
      : [h("li", {}, "No findings.")]),
  );
}

/** Listen to a clip and correct its transcript. */
function clipTools(dataset, clip, id) {
  const audio = h("audio", { controls: true, preload: "none", "aria-label": `Audio of ${clip.clip}`, hidden: true });
  const listen = h("button", { type: "button", class: "listen", "aria-label": `Listen to ${clip.clip}` }, "Listen");
  listen.addEventListener("click", async () => {
    listen.disabled = true;
    try {
      if (!audio.src) {
        const query = new URLSearchParams({ dataset, clip: clip.clip, split: clip.split });
        const blob = await (await api(`/api/finetune/clip?${query}`)).blob();
        audio.src = URL.createObjectURL(blob);
      }
      audio.hidden = false;
      await audio.play();
    } catch (err) {
      showError(err);
    } finally {
      listen.disabled = false;
    }
  });
  const input = h("input", { id, type: "text", value: clip.text, maxlength: "2000", required: true, autocomplete: "off", spellcheck: "true" });
  const save = h("button", { type: "submit" }, "Save transcript");
  const form = h("form", { class: "transcript", novalidate: true }, h("label", { for: id }, `Transcript of ${clip.clip}`), input, save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    const problem = !text ? "the transcript is empty" : text.includes("|") ? "the transcript contains '|', the metadata's column separator" : "";
    if (problem) {
      input.setAttribute("aria-invalid", "true");
      $("ft-error").textContent = `${problem} (field: text)`;
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    $("ft-error").textContent = "";
    $("ft-info").textContent = "saving the transcript and checking again…";
    save.disabled = true;
    try {
      const { change, report } = await (await postJson("/api/finetune/transcript", { dataset, clip: clip.clip, split: clip.split, text })).json();
      showReport(report);
      $("ft-saved").textContent =
        `Saved the transcript of ${clip.clip} in ${change.file}${change.line ? ` (line ${change.line})` : ""}${change.backup ? `; the old file is kept as ${change.backup}` : ""}. The check was run again.`;
      $("ft-saved").focus();
    } catch (err) {
      showError(err);
    } finally {
      $("ft-info").textContent = "";
      save.disabled = false;
    }
  });
  return h("div", { class: "clip-tools" }, listen, audio, form);
}

function showPlan(plan) {
  $("ft-plan-out").hidden = false;
  const p = plan.predicted;
  $("ft-plan-summary").textContent =
    `${plan.fits ? "Fits" : "Does not fit"} on ${plan.gpu.name} (${formatMb(plan.gpu.totalMb)}): peak ${formatMb(p.deviceMb)} (${p.peak}) against ${formatMb(plan.budgetMb)} free to use · batch ${plan.batchSize} × ${plan.gradAccumSteps} steps, ${plan.precision}, clips up to ${plan.maxClipSeconds} s`;
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
  const bar = h("div", {
    class: "bar",
    role: "img",
    "aria-label": `Predicted memory on ${plan.gpu.name}: ${parts.map((x) => `${x.label} ${formatMb(x.mb)}`).join(", ")}`,
  });
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
