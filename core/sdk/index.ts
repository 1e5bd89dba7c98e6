/**
 * The Chorus plugin SDK: the only module engines import from the host.
 * Import it as `chorus/sdk` from a plugin outside this repository.
 */
export * from "./manifest.ts";
export * from "./engine.ts";
export * from "./errors.ts";
export * from "./pcm.ts";
export * from "./text.ts";
export * from "./command.ts";
