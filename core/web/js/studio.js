/**
 * The studio: text (counted against the server's limit), engine, voice (search, language
 * filter, the engine's default preselected), speed and pitch where the engine has them,
 * format, streaming playback, narrator mode, download and the visit's history. The form's
 * settings, lists and errors are kept by studio-form.js; this module speaks and plays.
 */
import { ApiError } from "./api.js";
import { $, announce } from "./dom.js";
import { addClip } from "./history.js";
import { segmentNarration } from "./narrator.js";
import { StreamPlayer } from "./player.js";
import { speakFile, speakParts, summarize } from "./speak.js";
import { clearError, loadSettings, loadVoices, renderVoices, showError, state, updateCount, updateFormat, updateVoiceTitle } from "./studio-form.js";

export { fillEngines, loadSettings } from "./studio-form.js";

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

function clearClip() {
  const audio = $("audio");
  audio.pause();
  audio.removeAttribute("src");
  audio.load();
  $("download").hidden = true;
  $("download").removeAttribute("href");
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
  if (!text || text.length > state.limit) return;
  // Text with nothing to speak goes to the server as it is: its refusal names the field.
  const parts = text.trim() ? partsOf(text) : [{ text, voice: $("voice").value || undefined }];
  if (!parts.length) {
    // Refused here, but like any refusal: the old clip and its line go.
    clearError();
    clearClip();
    $("speak-info").textContent = "";
    return showError(
      new ApiError(400, { code: "CHORUS_ERR_REQUEST_INVALID", message: "nothing to speak: with these narrator settings every part is silent", field: "text" }),
      { focus: true },
    );
  }
  const controller = new AbortController();
  state.busy = controller;
  clearError();
  clearClip();
  // A keyboard user on Speak (disabled while speaking) is moved to Stop, not dropped on the page.
  const fromButton = document.activeElement === $("speak-button");
  $("speak-button").disabled = true;
  $("stop-button").disabled = false;
  if (fromButton) $("stop-button").focus();
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
    showError(err, { focus: true });
  } finally {
    state.busy = undefined;
    const onStop = document.activeElement === $("stop-button");
    $("stop-button").disabled = true;
    updateCount();
    if (onStop || document.activeElement === document.body) $("speak-button").focus();
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
