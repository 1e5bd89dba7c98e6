/**
 * Field names in the client's vocabulary. Each surface hands `validateSpeech` a map from the
 * request's fields to its own (OpenAI: text -> `input`, format -> `response_format`; AllTalk:
 * text -> `text_input`, ...), so that an error names the field the client sent. A field whose
 * client value is in other units (AllTalk's pitch in semitones) carries the conversion, so the
 * range is said in those units too.
 */
export interface FieldView {
  name: string;
  /** The client's value for a request value (e.g. a pitch factor as semitones). */
  toClient(value: number): number;
  /** The client's unit, for messages (" semitones"). */
  unit: string;
}

/** Request field (`text`, `speed`, ...) -> the client's name for it. */
export type FieldNames = Readonly<Record<string, string | FieldView | undefined>>;

/** The client's name of a request field (the field itself when the surface uses the same word). */
export function clientName(names: FieldNames, field: string): string {
  const view = names[field];
  return view === undefined ? field : typeof view === "string" ? view : view.name;
}

/** "must be between 0.25 and 4, got 9", in the client's units where they differ. */
export function describeRange(names: FieldNames, field: string, min: number, max: number, value: unknown): string {
  const view = names[field];
  const convert = (v: number) => (typeof view === "object" ? Number(view.toClient(v).toFixed(3)) : v);
  const unit = typeof view === "object" ? view.unit : "";
  const got = typeof value === "number" && Number.isFinite(value) && value > 0 ? convert(value) : value;
  return `must be between ${convert(min)} and ${convert(max)}${unit}, got ${String(got)}`;
}

/** AllTalk's pitch: semitones, the request's factor being 2^(st/12) (-24..24 -> 0.25..4). */
export const SEMITONES: Omit<FieldView, "name"> = { toClient: (factor) => 12 * Math.log2(factor), unit: " semitones" };
