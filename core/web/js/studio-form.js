/**
 * The studio's form: the server's settings (text limits, formats), the engine list, the voice
 * list of the selected engine (search, language filter, the engine's default preselected),
 * speed and pitch where the engine has them, the text count, and errors shown next to the
 * field they name. Its state is shared with studio.js, which makes and plays the speech.
 */
import { ApiError, json } from "./api.js";
import { $, h } from "./dom.js";
import { filterVoices, languageName, languagesOf, pickVoice, voiceLabel } from "./voices.js";

export const state = { limit: 5000, textLimit: 5000, openaiLimit: 4096, engines: [], voices: [], engineDefault: "", chosen: new Map(), busy: undefined };

/** Server settings and engines; the voices of the selected engine. */
export async function loadSettings() {
  try {
    const [settings, engines] = await Promise.all([json("/api/web/config"), json("/api/engines")]);
    state.textLimit = settings.textMaxLength;
    state.openaiLimit = settings.openaiMaxInput ?? settings.textMaxLength;
    const format = $("format");
    const previous = format.value;
    format.replaceChildren(...settings.formats.map((f) => new Option(f.toUpperCase(), f)));
    format.value = settings.formats.includes(previous) ? previous : "wav";
    fillEngines(engines);
    updateCount();
    updateFormat();
    await loadVoices();
  } catch (err) {
    showError(err);
  }
}

/** Re-reads the engine list (after a plugin change); keeps the selection where it can. */
export function fillEngines(data) {
  state.engines = data.engines;
  const select = $("engine");
  const previous = select.value;
  const usable = data.engines.filter((e) => e.state !== "failed");
  select.replaceChildren(...usable.map((e) => h("option", { value: e.id, title: e.description || e.name }, `${e.name}${e.default ? " (default)" : ""}`)));
  select.value = usable.some((e) => e.id === previous) ? previous : data.default;
  return select.value !== previous;
}

function currentEngine() {
  return state.engines.find((e) => e.id === $("engine").value);
}

export function updateCount() {
  const n = $("text").value.length;
  const over = n > state.limit;
  const count = $("text-count");
  count.textContent = over ? `${n} / ${state.limit} characters: ${n - state.limit} over the limit` : `${n} / ${state.limit} characters`;
  const wasOver = count.classList.contains("over");
  count.classList.toggle("over", over);
  // Only the limit's own mark is cleared here: a refusal naming `text` stays marked until the next try.
  if (over) $("text").setAttribute("aria-invalid", "true");
  else if (wasOver) $("text").removeAttribute("aria-invalid");
  $("speak-button").disabled = over || n === 0 || Boolean(state.busy);
}

export async function loadVoices() {
  const engine = $("engine").value;
  const voice = $("voice");
  delete voice.dataset.engine; // set again once this engine's voices are in
  voice.replaceChildren(new Option("loading voices…", ""));
  updateCapabilities();
  try {
    const data = await json(`/api/voices?engine=${encodeURIComponent(engine)}`);
    if ($("engine").value !== engine) return; // switched again meanwhile
    state.voices = data.details;
    state.engineDefault = data.default ?? currentEngine()?.defaultVoice ?? "";
    const language = $("voice-language");
    const before = language.value;
    language.replaceChildren(
      new Option("All languages", ""),
      ...languagesOf(state.voices).map((l) => new Option(`${languageName(l.code)} (${l.count})`, l.code)),
    );
    language.value = [...language.options].some((o) => o.value === before) ? before : "";
    renderVoices();
    clearError();
  } catch (err) {
    if ($("engine").value !== engine) return;
    state.voices = [];
    voice.replaceChildren(new Option("(the engine's default voice)", ""));
    $("voice-count").textContent = "the voices could not be listed";
    showError(err);
  }
  voice.dataset.engine = engine;
}

export function renderVoices() {
  const select = $("voice");
  const shown = filterVoices(state.voices, { query: $("voice-search").value, language: $("voice-language").value });
  const engine = $("engine").value;
  const wanted = pickVoice(shown, { previous: state.chosen.get(engine), engineDefault: state.engineDefault });
  const option = (v) =>
    h("option", { value: v.id, title: `${v.name} [${v.id}] ${v.languages.join(", ")}` }, `${voiceLabel(v)}${v.id === state.engineDefault ? " · default" : ""}`);
  const none = state.voices.length ? "no voice matches" : "no voices installed for this engine";
  select.replaceChildren(...(shown.length ? shown.map(option) : [new Option(none, "")]));
  select.value = wanted;
  const narrator = $("narrator-voice");
  const before = narrator.value;
  narrator.replaceChildren(...state.voices.map(option));
  narrator.value = pickVoice(state.voices, { previous: before, engineDefault: state.engineDefault });
  $("voice-count").textContent = shown.length === state.voices.length ? `${state.voices.length} voices` : `${shown.length} of ${state.voices.length} voices`;
  updateVoiceTitle();
}

export function updateVoiceTitle() {
  const v = state.voices.find((x) => x.id === $("voice").value);
  $("voice").title = v ? `${v.name} [${v.id}]` : "";
}

function updateCapabilities() {
  const caps = currentEngine()?.capabilities ?? {};
  const compressed = $("format").value !== "wav";
  for (const [id, supported, why] of [
    ["speed", caps.speed, "this engine has no speed control"],
    ["pitch", caps.pitch && !compressed, caps.pitch ? "pitch needs the WAV format" : "this engine has no pitch control"],
  ]) {
    $(id).disabled = !supported;
    $(`${id}-hint`).textContent = supported ? "" : why;
  }
  const engine = currentEngine();
  $("engine-info").textContent = engine
    ? `${engine.state}${engine.capabilities?.streaming ? " · streams" : ""}${engine.languages?.length ? ` · ${engine.languages.length} languages` : ""}`
    : "";
}

export function updateFormat() {
  const compressed = $("format").value !== "wav";
  // compressed formats come from the OpenAI route, which has its own input limit
  state.limit = compressed ? Math.min(state.textLimit, state.openaiLimit) : state.textLimit;
  updateCount();
  for (const id of ["stream", "narrator"]) $(id).disabled = compressed;
  if (compressed) $("narrator-options").hidden = true;
  else $("narrator-options").hidden = !$("narrator").checked;
  $("format-hint").textContent = compressed ? "made whole by the OpenAI-compatible route; streaming and narrator need WAV" : "";
  updateCapabilities();
}

export function clearError() {
  $("speak-error").replaceChildren();
  for (const id of ["text", "voice", "engine", "narrator-voice"])
    if (id !== "text" || $("text").value.length <= state.limit) $(id).removeAttribute("aria-invalid");
  $("key-button").classList.remove("needs-key");
}

/** Shows an error next to the field it names (marked invalid); with `focus`, moves the focus there. */
export function showError(err, { focus = false } = {}) {
  if (err?.name === "AbortError") return;
  const box = $("speak-error");
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError && err.status === 401) {
    $("key-button").classList.add("needs-key");
    box.replaceChildren(
      `The server needs an API key: ${message}. `,
      h("button", { type: "button", onclick: () => void state.askForKey(message).then((saved) => saved && loadSettings()) }, "Enter the API key"),
    );
    return;
  }
  const field = err instanceof ApiError ? { text: "text", input: "text", voice: "voice", engine: "engine", model: "engine" }[err.field] : undefined;
  box.textContent = err instanceof ApiError ? `${message}${err.field ? ` (field: ${err.field})` : ""} [${err.code}]` : message;
  if (field) {
    $(field).setAttribute("aria-invalid", "true");
    $(field).setAttribute("aria-errormessage", "speak-error");
    if (focus) $(field).focus();
  }
}
