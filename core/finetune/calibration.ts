/**
 * Public data points the VRAM model is held to (docs/finetune.md, "Calibration"; the test in
 * tests/finetune/calibration.test.ts). `reportedMb` where the source gives a number (the model
 * must be within 15 %), `fits` where it only says whether training ran; `agrees: false` marks a
 * report the model does not reproduce, with the likely cause.
 */
import type { EstimateInput } from "./vram.ts";

export interface CalibrationPoint {
  id: string;
  source: string;
  gpu: string;
  /** nvidia-smi total of the card, MB, and what others held (as reported or typical). */
  totalMb: number;
  othersMb: number;
  settings: Omit<EstimateInput, "maxTextTokens"> & { maxTextTokens?: number };
  reported: string;
  /** A number the source reports, MB, compared with `compare` of the prediction. */
  reportedMb?: number;
  compare?: "deviceMb" | "allocatedMb";
  /** Whether the source says it ran. */
  fits?: boolean;
  /** false: the model disagrees; `note` says why that is likely. */
  agrees: boolean;
  note: string;
}

const fp32 = { precision: "fp32", optimizer: "adamw", fused: false } as const;
const GB = 1024;

export const CALIBRATION: CalibrationPoint[] = [
  {
    id: "alltalk-help",
    source: "AllTalk v1 finetune.py L1198-1204 (help text; erew123 trains on an RTX 4070 12 GB)",
    gpu: "12 GB, Windows",
    totalMb: 12282,
    othersMb: 500,
    settings: { batchSize: 4, gradAccumSteps: 1, maxClipSeconds: 11, attention: "eager", ...fp32 },
    reported: 'step 2 "will use around 14GB\'s of VRAM"; 12 GB cards need ~2 GB of system RAM on top',
    reportedMb: 14 * GB,
    compare: "deviceMb",
    fits: false,
    agrees: true,
    note: "the 12 GB card runs it only through Windows' system-memory fallback, as the text says",
  },
  {
    id: "alltalk-readme-16gb",
    source: "AllTalk v1 README L1016",
    gpu: "16 GB, Linux",
    totalMb: 16376,
    othersMb: 300,
    settings: { batchSize: 4, gradAccumSteps: 1, maxClipSeconds: 11, attention: "eager", ...fp32 },
    reported: '"Minimum 16GB VRAM on Linux" for the defaults',
    fits: true,
    agrees: true,
    note: "fits a 16 GB card, only just",
  },
  {
    id: "alltalk-241",
    source: "https://github.com/erew123/alltalk_tts/issues/241",
    gpu: "RTX 3060 12 GB, Linux",
    totalMb: 12288,
    othersMb: 300,
    settings: { batchSize: 1, gradAccumSteps: 16, maxClipSeconds: 15, attention: "eager", ...fp32 },
    reported: "batch 1, accumulation 16, max audio 20 s: fits, 10.9 GB used",
    reportedMb: 10.9 * GB,
    compare: "deviceMb",
    fits: true,
    agrees: true,
    note: "batches are padded to the longest clip they hold, not to the 20 s cap: AllTalk v1 cuts one clip per sentence, so the longest clip is taken as 15 s. With a full 20 s clip the model predicts about 12.5 GB, over the card",
  },
  {
    id: "coqui-colab-t4",
    source: "idiap coqui-ai-TTS XTTS_finetune_colab.ipynb (--batch_size 2, free T4)",
    gpu: "T4 15 GB, Linux",
    totalMb: 15360,
    othersMb: 0,
    settings: { batchSize: 2, gradAccumSteps: 1, maxClipSeconds: 11, attention: "eager", ...fp32 },
    reported: "designed to run on the free T4",
    fits: true,
    agrees: true,
    note: "batch 4 (the demo's default) would not fit the T4: that explains the notebook's batch 2",
  },
  {
    id: "coqui-colab-t4-b4",
    source: "same notebook: why not the demo's batch 4",
    gpu: "T4 15 GB, Linux",
    totalMb: 15360,
    othersMb: 0,
    settings: { batchSize: 4, gradAccumSteps: 1, maxClipSeconds: 11, attention: "eager", ...fp32 },
    reported: "the notebook lowers the demo's batch 4 to 2",
    fits: false,
    agrees: true,
    note: "predicted just over the T4",
  },
  {
    id: "daswer-41-fail",
    source: "https://github.com/daswer123/xtts-finetune-webui/issues/41",
    gpu: "RTX 4070 12 GB",
    totalMb: 12282,
    othersMb: 500,
    settings: { batchSize: 8, gradAccumSteps: 2, maxClipSeconds: 11, attention: "sdpa", ...fp32 },
    reported: "batch 8 with accumulation 2 or 4 fails",
    fits: false,
    agrees: true,
    note: "",
  },
  {
    id: "daswer-41-4x2",
    source: "https://github.com/daswer123/xtts-finetune-webui/issues/41",
    gpu: "RTX 4070 12 GB, OS not stated",
    totalMb: 12282,
    othersMb: 500,
    settings: { batchSize: 4, gradAccumSteps: 2, maxClipSeconds: 11, attention: "sdpa", ...fp32 },
    reported: 'batch 4, accumulation 2 "works but slower"',
    fits: true,
    agrees: false,
    note: 'the model predicts it over 12 GB; "slower" fits Windows\' system-memory fallback (spilling into RAM), or a dataset of short clips',
  },
  {
    id: "daswer-70-12gb",
    source: "https://github.com/daswer123/xtts-finetune-webui/issues/70 (zono50)",
    gpu: "12 GB, Linux",
    totalMb: 12288,
    othersMb: 300,
    settings: { batchSize: 2, gradAccumSteps: 2, maxClipSeconds: 7, attention: "sdpa", ...fp32 },
    reported: '"35-40%" for two epochs, then 100 % and out of memory',
    fits: false,
    agrees: false,
    note: "the model says it fits; 35-40 % is below the static weights + optimizer states, so that reading is not this process's memory. A late OOM suggests allocator growth from random clip lengths or another process",
  },
  {
    id: "daswer-70-8gb",
    source: "https://github.com/daswer123/xtts-finetune-webui/issues/70 (Mycohl)",
    gpu: "8 GB, Linux",
    totalMb: 8192,
    othersMb: 300,
    settings: { batchSize: 2, gradAccumSteps: 1, maxClipSeconds: 11, attention: "sdpa", ...fp32 },
    reported: "immediate out of memory",
    fits: false,
    agrees: true,
    note: "the optimizer-step floor alone is over 8 GB",
  },
  {
    id: "alltalk-189",
    source: "https://github.com/erew123/alltalk_tts/issues/189",
    gpu: "RTX 4090 24 GB, Windows (~1 GB desktop)",
    totalMb: 24564,
    othersMb: 1024,
    settings: { batchSize: 12, gradAccumSteps: 1, maxClipSeconds: 11, attention: "eager", ...fp32 },
    reported: "out of memory at every batch size of 12 and up",
    fits: false,
    agrees: true,
    note: "",
  },
  {
    id: "alltalk-195",
    source: "https://github.com/erew123/alltalk_tts/issues/195",
    gpu: "RTX 4070 Super 12 GB, Windows",
    totalMb: 12282,
    othersMb: 500,
    settings: { batchSize: 1, gradAccumSteps: 1, maxClipSeconds: 4, attention: "eager", ...fp32 },
    reported: "OOM even at batch 1 with 4 s clips; 11.99 GiB total, 4.93 GiB free, 5.69 GiB allocated by PyTorch",
    fits: false,
    agrees: false,
    note: "not a capacity OOM by its own numbers: PyTorch held 5.69 GiB and 4.93 GiB were free, so ~1.4 GiB was held elsewhere and the allocation that failed was 14 MiB; another process or the driver",
  },
  {
    id: "alltalk-177-555",
    source: "https://github.com/erew123/alltalk_tts/issues/177, https://github.com/erew123/alltalk_tts/issues/555",
    gpu: "12 GB, Linux",
    totalMb: 12288,
    othersMb: 300,
    settings: { batchSize: 4, gradAccumSteps: 1, maxClipSeconds: 11, attention: "eager", ...fp32 },
    reported: '"requires 14GB"; 12 GB on Linux is not enough for the defaults',
    fits: false,
    agrees: true,
    note: "",
  },
];
