/** One thing the dataset check found. */
export interface Finding {
  /** `error`: the trainer will fail, drop the clip, or the clip is unusable; `warning`: it trains, but worse; `info`: for the record. */
  severity: "error" | "warning" | "info";
  /** Stable identifier, e.g. `clip-too-long` (docs/finetune.md lists them). */
  code: string;
  /** The clip (as named in the metadata) or file it concerns; absent for dataset-wide findings. */
  clip?: string;
  message: string;
  /** What to do about it. */
  fix: string;
}

export const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;
