/** What the planner (plan.ts) plans from: the clips the trainer would see, the card, the settings' bounds. */
import type { Attention, TrainableModel } from "./model.ts";
import type { GpuInfo } from "./gpu.ts";

export interface PlanClip {
  seconds: number;
  tokens: number;
  split: "train" | "eval";
}

export interface PlanInput {
  model: TrainableModel;
  clips: PlanClip[];
  gpu: GpuInfo;
  os: "linux" | "windows";
  attention: Attention | "auto";
  effectiveBatch: number;
  /** Largest batch tried (default 8). */
  maxBatch?: number;
  /** The clip-length cap to plan up to (default: the trainer's; AllTalk's slider allows up to 20 s). */
  maxClipSeconds?: number;
  /**
   * The share of the card the trainer's PyTorch may reserve (finetune.runner.memoryFraction: 0.95
   * on Windows by default, so that it runs out of memory instead of spilling into system RAM).
   */
  memoryFraction?: number | null;
  /** A probe on this card and model (runner/probes.ts): predictions are scaled by measured / predicted. */
  probe?: { ratio: number; at: string; predictedMb: number; predictedRawMb?: number; peakReservedMb: number };
}
