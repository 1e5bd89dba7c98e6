/**
 * The one rule behind "an engine named by `engine:voice` has its errors under the voice field"
 * (core/voices/reference.ts): resolveVoiceRef says when the engine came from the voice, and
 * engineErrorOfVoice re-names an engine error's field only then.
 */
import { describe, expect, it } from "vitest";
import { ChorusError } from "../../core/errors.ts";
import { engineErrorOfVoice, resolveVoiceRef } from "../../core/voices/reference.ts";

const registry = { get: (id: string) => (["flite", "espeak"].includes(id) ? {} : undefined), voicePrefix: (p: string) => p === "voiceset" };

describe("resolveVoiceRef: engineFromVoice", () => {
  it.each([
    ["flite:slt", undefined, { engine: "flite", voice: "slt", engineFromVoice: true }],
    ["flite:", "espeak", { engine: "flite", voice: undefined, engineFromVoice: true }],
    ["flite:slt", "flite", { engine: "flite", voice: "slt" }],
    ["slt", "flite", { engine: "flite", voice: "slt" }],
    ["voiceset:a", "espeak", { engine: "espeak", voice: "voiceset:a" }],
    ["", "flite", { engine: "flite", voice: undefined }],
  ] as const)("%s (request engine %s)", (voice, engine, expected) => {
    expect(resolveVoiceRef(registry, voice, engine)).toStrictEqual(expected);
  });
});

describe("engineErrorOfVoice", () => {
  const engineError = new ChorusError("CHORUS_ERR_ENGINE_UNAVAILABLE", "engine 'flite' cannot load", { field: "engine", retryAfter: 5 });
  it("re-names an engine error when the engine came from the voice, keeping code, message, retryAfter", () => {
    const out = engineErrorOfVoice(engineError, { engineFromVoice: true }, "speaker_wav") as ChorusError;
    expect(out).toBeInstanceOf(ChorusError);
    expect([out.code, out.message, out.field, out.retryAfter, out.cause]).toEqual([engineError.code, engineError.message, "speaker_wav", 5, engineError]);
  });
  it("passes the error through when the engine did not come from the voice, or the error is not about the engine", () => {
    expect(engineErrorOfVoice(engineError, { engineFromVoice: false }, "voice")).toBe(engineError);
    expect(engineErrorOfVoice(engineError, undefined, "voice")).toBe(engineError);
    const other = new ChorusError("CHORUS_ERR_REQUEST_INVALID", "text: empty", { field: "text" });
    expect(engineErrorOfVoice(other, { engineFromVoice: true }, "voice")).toBe(other);
    const plain = new Error("boom");
    expect(engineErrorOfVoice(plain, { engineFromVoice: true }, "voice")).toBe(plain);
  });
});
