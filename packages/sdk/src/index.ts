/**
 * The Chorus plugin SDK (`@chorus-tts/sdk`, also importable as `chorus/sdk` inside a Chorus
 * host): what an engine plugin needs, and nothing of the host. See docs/plugins.md.
 */
export * from "./manifest.ts";
export * from "./engine.ts";
export * from "./errors.ts";
export * from "./pcm.ts";
export * from "./command.ts";
export { normalizeWhitespace, splitSentences } from "./text.ts";
export { validateOptions } from "./options.ts";
export { manifestWithDefaults, settingsWithDefaults } from "./defaults.ts";
export { checkChunk, testEngine, type SpeakRequest, type SpeakResult, type TestEngine, type TestEngineOptions } from "./harness.ts";
