/**
 * The studio: text (counted against the server's limit), engine, voice (search, language
 * filter, the engine's default preselected), speed and pitch where the engine has them,
 * format, streaming playback, narrator mode, download and the visit's history.
 */
import { ApiError, json } from "./api.js";
import { $, announce, h } from "./dom.js";
import { addClip } from "./history.js";
import { segmentNarration } from "./narrator.js";
import { StreamPlayer } from "./player.js";
import { speakFile, speakParts, summarize } from "./speak.js";
import { filterVoices, languageName, languagesOf, pickVoice, voiceLabel } from "./voices.js";

const state = { limit: 5000, textLimit: 5000, openaiLimit: 4096, engines: [], voices: [], engineDefault: "", chosen: new Map(), busy: undefined };
const player = new StreamPlayer();

export async function initStudio({ askForKey }) {
  state.askForKey = askForKey;
  $("text").addEventListener("input", updateCount);
  $("text").addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    event.preventDefault(); // Ctrl+Enter speaks, as the button does
    if (!$("speak-button").disabled) void speak();
  });
  $("engine").addEventListener("change", () => void loadVoices());
  $("voice").addEventListener("change", () => {
    state.chosen.set($("engine").value, $("voice").value);
    updateVoiceTitle();
  });
  $("voice-search").addEventListener("input", renderVoices);
  $("voice-language").addEventListener("change", renderVoices);
  for (const id of ["speed", "pitch"]) $(id).addEventListener("input", () => ($(`${id}-value`).textContent = `${Number($(id).value).toFixed(2)}×`));
  $("format").addEventListener("change", updateFormat);
  $("narrator").addEventListener("change", () => ($("narrator-options").hidden = !$("narrator").checked));
  $("speak-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void speak();
  });
  $("stop-button").addEventListener("click", () => state.busy?.abort());
  await loadSettings();
}

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

function updateCount() {
  const n = $("text").value.length;
  const over = n > state.limit;
  const count = $("text-count");
  count.textContent = over ? `${n} / ${state.limit} characters: ${n - state.limit} over the limit` : `${n} / ${state.limit} characters`;
  count.classList.toggle("over", over);
  $("text").setAttribute("aria-invalid", String(over));
  $("speak-button").disabled = over || n === 0 || Boolean(state.busy);
}

async function loadVoices() {
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

function renderVoices() {
  const select = $("voice");
  const shown = filterVoices(state.voices, { query: $("voice-search").value, language: $("voice-language").value });
  const engine = $("engine").value;
  const wanted = pickVoice(shown, { previous: state.chosen.get(engine), engineDefault: state.engineDefault });
  const option = (v) =>
    h("option", { value: v.id, title: `${v.name} [${v.id}] ${v.languages.join(", ")}` }, `${voiceLabel(v)}${v.id === state.engineDefault ? " · default" : ""}`);
  select.replaceChildren(...(shown.length ? shown.map(option) : [new Option("no voice matches", "")]));
  select.value = wanted;
  const narrator = $("narrator-voice");
  const before = narrator.value;
  narrator.replaceChildren(...state.voices.map(option));
  narrator.value = pickVoice(state.voices, { previous: before, engineDefault: state.engineDefault });
  $("voice-count").textContent = shown.length === state.voices.length ? `${state.voices.length} voices` : `${shown.length} of ${state.voices.length} voices`;
  updateVoiceTitle();
}

function updateVoiceTitle() {
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

function updateFormat() {
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

function clearClip() {
  const audio = $("audio");
  audio.pause();
  audio.removeAttribute("src");
  audio.load();
  $("download").hidden = true;
  $("download").removeAttribute("href");
}

function clearError() {
  $("speak-error").replaceChildren();
  for (const id of ["text", "voice", "engine", "narrator-voice"])
    if (id !== "text" || $("text").value.length <= state.limit) $(id).removeAttribute("aria-invalid");
  $("key-button").classList.remove("needs-key");
}

/** Shows an error next to the field it names, and moves the focus there. */
function showError(err) {
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
  }
}

function settingsOf() {
  const speed = $("speed").disabled ? undefined : Number($("speed").value);
  const pitch = $("pitch").disabled ? undefined : Number($("pitch").value);
  return { engine: $("engine").value, voice: $("voice").value || undefined, speed, pitch, stream: $("stream").checked && !$("stream").disabled };
}

function partsOf(text) {
  const voice = $("voice").value || undefined;
  if (!$("narrator").checked || $("narrator").disabled) return [{ text, voice }];
  const narratorVoice = $("narrator-voice").value || voice;
  return segmentNarration(text, { narrator: true, textNotInside: $("not-inside").value }).map((p) => ({
    text: p.text,
    voice: p.role === "narrator" ? narratorVoice : voice,
  }));
}

async function speak() {
  const text = $("text").value;
  if (!text.trim() || text.length > state.limit) return;
  const parts = partsOf(text);
  if (!parts.length)
    return showError(
      new ApiError(400, { code: "CHORUS_ERR_REQUEST_INVALID", message: "nothing to speak: with these narrator settings every part is silent", field: "text" }),
    );
  const controller = new AbortController();
  state.busy = controller;
  clearError();
  clearClip();
  $("speak-button").disabled = true;
  $("stop-button").disabled = false;
  const info = $("speak-info");
  info.textContent = "speaking…";
  delete info.dataset.firstAudioMs;
  delete info.dataset.doneMs;
  const settings = settingsOf();
  const format = $("format").value;
  const started = performance.now();
  if (settings.stream) player.begin();
  try {
    const onSamples = (samples, rate) => {
      if (!settings.stream) return;
      if (info.dataset.firstAudioMs === undefined) {
        info.dataset.firstAudioMs = String(Math.round(performance.now() - started));
        info.textContent = `playing after ${info.dataset.firstAudioMs} ms, still speaking…`;
      }
      player.push(samples, rate);
    };
    const clip =
      format === "wav"
        ? await speakParts(parts, settings, { signal: controller.signal, onSamples })
        : await speakFile(text, settings, format, { signal: controller.signal });
    info.dataset.doneMs = String(Math.round(performance.now() - started));
    const who = summarize(clip.served);
    const url = URL.createObjectURL(clip.blob);
    const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
    const entry = { url, fileName: `chorus-${who.engine}-${stamp}.${format}`, text, ...who, seconds: clip.seconds, format, at: Date.now() };
    load(entry, !settings.stream);
    addClip(entry, { play: (c) => load(c, true) });
    const first = info.dataset.firstAudioMs ? `first audio after ${info.dataset.firstAudioMs} ms, ` : "";
    info.textContent = `${who.engine} · ${who.profile} · ${who.voice} · ${first}done in ${info.dataset.doneMs} ms${who.fallback ? ` · fallback: ${who.fallback}` : ""}`;
    announce(`Clip ready: ${who.engine}, ${who.voice}${who.fallback ? ", served by a fallback" : ""}`);
  } catch (err) {
    player.stop();
    clearClip();
    info.textContent = err?.name === "AbortError" ? "stopped" : "";
    showError(err);
  } finally {
    state.busy = undefined;
    $("stop-button").disabled = true;
    updateCount();
  }
}

/**
 * Scheduler decisions while a clip is being made (from the dashboard's stream): says what the
 * wait is for (a load, a queue, a fallback), so a slow first sentence is explained.
 */
export function noteDecision(d) {
  const speaking = state.busy && $("speak-info").dataset.firstAudioMs === undefined;
  const listing = !$("voice").dataset.engine; // this engine's voices are being fetched
  if (!speaking && !listing) return;
  const target = speaking ? $("speak-info") : $("voice-count");
  const engine = $("engine").value;
  if (d.engine !== engine && d.requested !== engine) return;
  const where = `${d.engine}${d.profile ? `:${d.profile}` : ""}${d.device ? ` on ${d.device}` : ""}`;
  if (d.action === "load" && d.reason !== "loaded") target.textContent = `loading ${where}… (${d.detail ?? d.summary})`;
  else if (d.action === "queue") target.textContent = `waiting: ${d.summary}…`;
  else if (d.action === "fallback") target.textContent = `${engine} cannot be placed: ${where} serves instead…`;
}

/** Puts a clip in the player (and plays it). */
function load(clip, play) {
  const audio = $("audio");
  audio.src = clip.url;
  const link = $("download");
  link.href = clip.url;
  link.download = clip.fileName;
  link.hidden = false;
  link.textContent = `Download ${clip.format.toUpperCase()}`;
  if (play) void audio.play().catch(() => undefined);
}
