/** Readable output of the fine-tuning commands: the check report, a clip-length histogram (text and SVG), a plan. */
import type { CheckReport } from "./check.ts";
import { SEVERITY_ORDER } from "./dataset/findings.ts";
import type { Prediction } from "./vram.ts";
import type { Plan } from "./plan.ts";

export interface Bin {
  from: number;
  to: number;
  count: number;
}

/** One-second bins of clip lengths, up to the longest clip. */
export function histogram(report: CheckReport): Bin[] {
  const lengths = report.clips.map((c) => c.seconds).filter((s): s is number => s !== undefined);
  // a loop, not Math.max(...lengths): a spread of 100k+ clips overflows the call stack
  const top = Math.max(1, Math.ceil(lengths.reduce((m, s) => Math.max(m, s), 0)));
  const bins: Bin[] = Array.from({ length: top }, (_, i) => ({ from: i, to: i + 1, count: 0 }));
  for (const s of lengths) bins[Math.min(top - 1, Math.floor(s))]!.count++;
  return bins;
}

/**
 * The histogram as text. A bin's note says what the check found for its clips: how many the
 * trainer drops, with their error findings' codes (clip-too-short, clip-too-long...), and
 * whether kept ones are outside the recommended 2-11 s. A bin is never called dropped for its
 * place alone: the 0-1 s bin holds kept 0.6 s clips, the bin of the maximum kept clips under it.
 */
export function histogramText(report: CheckReport, width = 40): string {
  const bins = histogram(report);
  const most = bins.reduce((m, b) => Math.max(m, b.count), 1);
  // One pass over the findings and one over the clips (a dataset may hold 100k+ of each).
  const errors = new Map<string, Set<string>>();
  for (const f of report.findings) if (f.severity === "error" && f.clip) errors.set(f.clip, (errors.get(f.clip) ?? new Set()).add(f.code));
  const seen = bins.map(() => ({ dropped: 0, reasons: new Set<string>(), outside: false }));
  for (const c of report.clips) {
    if (c.seconds === undefined) continue;
    const bin = seen[Math.min(bins.length - 1, Math.floor(c.seconds))]!;
    if (!c.kept) {
      bin.dropped++;
      for (const code of errors.get(c.clip) ?? []) bin.reasons.add(code);
    } else if (c.seconds < 2 || c.seconds > 11) bin.outside = true;
  }
  const lines = bins.map((b, i) => {
    const { dropped, reasons, outside } = seen[i]!;
    const notes = [...(dropped ? [`${dropped} dropped${reasons.size ? `: ${[...reasons].join(", ")}` : ""}`] : []), ...(outside ? ["outside 2-11 s"] : [])];
    return `${String(b.from).padStart(3)}-${String(b.to).padEnd(3)} s |${"#".repeat(Math.round((b.count / most) * width)).padEnd(width)}| ${b.count}${notes.length ? ` (${notes.join("; ")})` : ""}`;
  });
  return `Clip lengths:\n${lines.join("\n")}`;
}

export function histogramSvg(report: CheckReport): string {
  const bins = histogram(report);
  const most = Math.max(1, ...bins.map((b) => b.count));
  const w = 40;
  const height = 200;
  const left = 40;
  const bars = bins
    .map((b, i) => {
      const h = (b.count / most) * height;
      const color = b.to > report.maxClipSeconds ? "#c0392b" : b.from < 2 || b.to > 11 ? "#e67e22" : "#2e86c1";
      return `<rect x="${left + i * w + 2}" y="${20 + height - h}" width="${w - 4}" height="${h}" fill="${color}"><title>${b.from}-${b.to} s: ${b.count}</title></rect><text x="${left + i * w + w / 2}" y="${height + 36}" font-size="11" text-anchor="middle">${b.from}</text><text x="${left + i * w + w / 2}" y="${16 + height - h}" font-size="11" text-anchor="middle">${b.count || ""}</text>`;
    })
    .join("");
  const total = left + bins.length * w + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${total}" height="${height + 60}" font-family="sans-serif"><text x="${left}" y="12" font-size="12">Clip lengths (s), ${report.clips.length} clips; red: over the trainer's ${report.maxClipSeconds.toFixed(1)} s</text><line x1="${left}" y1="${20 + height}" x2="${total - 20}" y2="${20 + height}" stroke="#333"/>${bars}<text x="${total / 2}" y="${height + 54}" font-size="11" text-anchor="middle">seconds</text></svg>\n`;
}

export function checkText(report: CheckReport): string {
  const out = [
    `Dataset ${report.dir} (${report.format}, language ${report.language}, ${report.clips.length} clips, ${(report.totals.seconds / 60).toFixed(1)} min; tokens ${report.tokenizer === "exact" ? "from vocab.json" : "estimated"})`,
    "",
  ];
  const sorted = [...report.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  for (const f of sorted) out.push(`${f.severity.toUpperCase().padEnd(7)} ${f.code}: ${f.message}\n        -> ${f.fix}`);
  if (!sorted.length) out.push("No findings.");
  out.push("", histogramText(report), "", report.summary);
  return out.join("\n");
}

export function predictionText(p: Prediction): string {
  const rows = Object.entries(p.terms).map(([k, v]) => `  ${k.padEnd(22)} ${v.toFixed(0).padStart(7)} MB`);
  return [
    `Predicted peak: ${p.allocatedMb.toFixed(0)} MB allocated (torch.cuda.max_memory_allocated), about ${p.deviceMb.toFixed(0)} MB as nvidia-smi shows it`,
    `  set by the ${p.peak} (forward/backward ${p.forwardBackwardMb.toFixed(0)} MB, optimizer step ${p.optimizerStepMb.toFixed(0)} MB); sequence length ${p.sequenceLength}, activations ${p.activationPerSampleMb.toFixed(0)} MB per sample`,
    ...rows,
  ].join("\n");
}

export function planText(plan: Plan): string {
  const out = [
    `${plan.gpu.name}: ${plan.gpu.totalMb} MB total, ${plan.gpu.othersMb} MB held by others${plan.gpu.chorusMb ? `, ${plan.gpu.chorusMb} MB by Chorus's engines` : ""} (${plan.gpu.source}); budget ${plan.budgetMb} MB`,
    plan.fits
      ? `FITS: batch ${plan.batchSize} x accumulation ${plan.gradAccumSteps} (effective ${plan.effectiveBatch}), ${plan.precision}, ${plan.optimizer}${plan.fused ? " fused" : ""}, clips up to ${plan.maxClipSeconds} s, text up to ${plan.maxTextTokens} tokens, learning rate ${plan.learningRate}`
      : plan.updatesPerEpoch === 0
        ? "NO PLAN: the trainer would keep no training clip from this dataset (see the notes)."
        : "DOES NOT FIT: full fine-tuning needs more memory than this card has free.",
    predictionText(plan.predicted),
    `Training data: ${plan.minutesTrained} min (${plan.clipsDropped} clip(s) dropped), ${plan.updatesPerEpoch} optimizer update(s) per epoch`,
  ];
  if (plan.warnings.length) out.push("Notes:", ...plan.warnings.map((w) => `  - ${w}`));
  if (plan.alternatives.length) out.push("What would work:", ...plan.alternatives.map((a) => `  - ${a}`));
  out.push("Trainer settings:", JSON.stringify(plan.trainerConfig, null, 2));
  return out.join("\n");
}
