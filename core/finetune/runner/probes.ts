/**
 * Probe results, filed per card and model (`<dataDir>/finetune/probes/<card>--<model>.json`):
 * what two real steps at a plan's settings, on a batch of the longest clips, measured next to
 * what the planner predicted. `chorus finetune plan` scales its predictions by the measured
 * ratio when a probe exists for the card and model.
 */
import fs from "node:fs";
import path from "node:path";
import { CUDA_CONTEXT_MB } from "../vram.ts";
import type { JobSpec } from "./store.ts";
import type { JobState } from "./state.ts";

export interface ProbeRecord {
  card: string;
  model: string;
  settings: JobSpec["planned"];
  /** The plan's predicted device peak (corrected by an earlier probe where there was one). */
  predictedMb: number;
  /** The model's own prediction, before any probe: what the ratio is over (absent in records filed before it was kept: predictedMb). */
  predictedRawMb?: number;
  peakAllocatedMb: number;
  peakReservedMb: number;
  /** probeRatio(): max(peak reserved, peak allocated) / the model's own predicted peak without the CUDA context. */
  ratio: number;
  job: string;
  at: string;
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/\(simulated\)/g, "")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "") || "card";

/**
 * Measured over predicted, like for like: PyTorch's counters (reserved, allocated) do not see
 * the CUDA context that the predicted device peak (nvidia-smi's figure) includes, so the context
 * is taken off the prediction. (Dividing by the device peak put a probe that confirmed the model
 * at about 0.95, and the planner then scaled its predictions down and planned over the card.)
 */
export function probeRatio(peakAllocatedMb: number, peakReservedMb: number, predictedDeviceMb: number): number {
  const measured = Math.max(peakReservedMb, peakAllocatedMb);
  return Math.round((measured / Math.max(1, predictedDeviceMb - CUDA_CONTEXT_MB)) * 1000) / 1000;
}

export function probeFile(dir: string, card: string, model: string): string {
  return path.join(dir, `${slug(card)}--${slug(model)}.json`);
}

export function saveProbe(dir: string, spec: JobSpec, probe: NonNullable<JobState["probe"]>): ProbeRecord {
  const record: ProbeRecord = {
    card: spec.card,
    model: spec.model,
    settings: spec.planned,
    predictedMb: probe.predictedMb,
    predictedRawMb: probe.predictedRawMb ?? probe.predictedMb,
    peakAllocatedMb: probe.peakAllocatedMb,
    peakReservedMb: probe.peakReservedMb,
    ratio: probe.ratio,
    job: spec.id,
    at: new Date().toISOString(),
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(probeFile(dir, spec.card, spec.model), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

export function loadProbe(dir: string, card: string, model: string): ProbeRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(probeFile(dir, card, model), "utf8")) as ProbeRecord;
    // recomputed from what was measured, so records filed with the old ratio (over the device peak) read right too;
    // over the uncorrected prediction (records filed before it was kept have only predictedMb)
    const ratio = probeRatio(r.peakAllocatedMb, r.peakReservedMb, r.predictedRawMb ?? r.predictedMb);
    return Number.isFinite(ratio) && ratio > 0 ? { ...r, ratio } : undefined;
  } catch {
    return undefined;
  }
}
