/** The trainable models Chorus can plan for; another engine adds its description here. */
import type { TrainableModel } from "../model.ts";
import { xttsV2 } from "./xtts-v2.ts";

export const TRAINABLE_MODELS: Record<string, TrainableModel> = { [xttsV2.id]: xttsV2 };
export const DEFAULT_TRAINABLE_MODEL = xttsV2.id;

export function trainableModel(id: string = DEFAULT_TRAINABLE_MODEL): TrainableModel {
  const m = TRAINABLE_MODELS[id];
  if (!m) throw new Error(`no trainable model '${id}' (known: ${Object.keys(TRAINABLE_MODELS).join(", ")})`);
  return m;
}
