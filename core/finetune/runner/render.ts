/** The terminal view of a job's state: one progress line, and one line per event worth a line. */
import type { JobState } from "./state.ts";

const gb = (mb: number | null | undefined) => (mb === null || mb === undefined ? "?" : (mb / 1024).toFixed(1));

export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/** e.g. `epoch 2/10 step 14/40 [######------] 35% loss 0.8123 lr 5e-6 mem 9.8/12.0 GB (peak 10.2) 4.1 samples/s left 12m30s` */
export function progressLine(s: JobState, width = 24): string {
  const total = s.totalSteps || 1;
  const done = Math.min(1, s.globalStep / total);
  const filled = Math.round(done * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const parts = [
    s.status === "running" ? "" : `${s.status}`,
    `epoch ${Math.min(s.epoch + 1, s.epochs)}/${s.epochs}`,
    `step ${s.step}/${s.stepsPerEpoch || "?"}`,
    bar,
    `${Math.floor(done * 100)}%`,
    s.loss !== null ? `loss ${s.loss.toFixed(4)}` : "",
    s.learningRate !== null ? `lr ${s.learningRate.toExponential(1)}` : "",
    `mem ${gb(s.memory.reservedMb ?? s.memory.maxReservedMb)}/${gb(s.memory.totalMb)} GB (peak ${gb(s.memory.maxReservedMb)})`,
    s.samplesPerSecond !== null ? `${s.samplesPerSecond.toFixed(1)} samples/s` : "",
    `left ${duration(s.etaSeconds)}`,
    `batch ${s.settings.batchSize}x${s.settings.gradAccumSteps}`,
  ];
  return parts.filter(Boolean).join(" ");
}

/** The closing summary. */
export function summaryText(s: JobState, resumeHint: string): string {
  const lines = [`job ${s.id}: ${s.status}${s.error ? `: ${s.error}` : ""}`];
  lines.push(
    `  settings: batch ${s.settings.batchSize} x accumulation ${s.settings.gradAccumSteps} (effective ${s.settings.batchSize * s.settings.gradAccumSteps}), clips up to ${s.settings.maxClipSeconds} s, lr ${s.settings.learningRate}`,
  );
  if (s.replans.length) for (const r of s.replans) lines.push(`  re-planned: ${r.message}`);
  lines.push(
    `  memory: peak ${Math.round(s.memory.maxAllocatedMb)} MB allocated, ${Math.round(s.memory.maxReservedMb)} MB reserved; predicted ${s.predictedMb} MB`,
  );
  if (s.lastCheckpoint) lines.push(`  last checkpoint: step ${s.lastCheckpoint.globalStep} (${s.lastCheckpoint.path})`);
  if (s.probe)
    lines.push(
      `  probe: measured ${Math.round(Math.max(s.probe.peakReservedMb, s.probe.peakAllocatedMb))} MB, predicted ${s.probe.predictedRawMb ?? s.probe.predictedMb} MB by the model${s.probe.predictedRawMb !== undefined && s.probe.predictedRawMb !== s.probe.predictedMb ? ` (${s.probe.predictedMb} MB with the earlier probe's correction)` : ""} (ratio ${s.probe.ratio}); chorus finetune plan now uses it for this card`,
    );
  if (s.result) lines.push(`  model: ${s.result.modelDir} (reference clips: ${s.result.referenceClips.length}, ${s.result.referenceSeconds} s)`);
  for (const w of s.warnings.filter((w) => !s.replans.some((r) => r.message === w))) lines.push(`  warning: ${w}`);
  if (s.status === "stopped" || (s.status === "failed" && s.lastCheckpoint)) lines.push(`  resume with: ${resumeHint}`);
  return lines.join("\n");
}
