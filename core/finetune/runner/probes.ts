/**
 * Probe results, filed per card and model (`<dataDir>/finetune/probes/<card>--<model>.json`):
 * what two real steps at a plan's settings, on a batch of the longest clips, measured next to
 * what the planner predicted. `chorus finetune plan` scales its predictions by the measured
 * ratio when a probe exists for the card and model.
 */
import fs from "node:fs";
import path from "node:path";
import type { JobSpec } from "./store.ts";
import type { JobState } from "./state.ts";

export interface ProbeRecord {
  card: string;
  model: string;
  settings: JobSpec["planned"];
  predictedMb: number;
  peakAllocatedMb: number;
  peakReservedMb: number;
  /** max(peak reserved, peak allocated) / predicted device peak. */
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

export function probeFile(dir: string, card: string, model: string): string {
  return path.join(dir, `${slug(card)}--${slug(model)}.json`);
}

export function saveProbe(dir: string, spec: JobSpec, probe: NonNullable<JobState["probe"]>): ProbeRecord {
  const record: ProbeRecord = {
    card: spec.card,
    model: spec.model,
    settings: spec.planned,
    predictedMb: probe.predictedMb,
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
    return Number.isFinite(r.ratio) && r.ratio > 0 ? r : undefined;
  } catch {
    return undefined;
  }
}
