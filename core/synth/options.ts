/**
 * A request's engine-specific `options`, checked against the manifest's option specs with
 * the SDK's `validateOptions` (the one the plugin harness uses too), defaults applied.
 */
import { BadOptionError, validateOptions as sdkValidate, type Manifest } from "../../packages/sdk/src/index.ts";
import type { Logger } from "pino";
import { ChorusError } from "../errors.ts";

/** Returns the options with defaults applied, or throws a 400 naming `options.<name>`. */
export function validateOptions(manifest: Manifest, options: Record<string, unknown> | undefined): Record<string, unknown> {
  try {
    return sdkValidate(manifest, options);
  } catch (err) {
    if (!(err instanceof BadOptionError)) throw err;
    throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", err.message, { field: err.option ? `options.${err.option}` : "options" });
  }
}

/**
 * Options for an engine that serves a request meant for another one (a fallback, or the
 * re-placement after an out-of-memory): the requested options this engine declares too, when
 * valid for it, with its defaults for the rest. Returns what was dropped, for the log.
 */
export function carriedOptions(manifest: Manifest, options: Record<string, unknown> | undefined): { options: Record<string, unknown>; dropped: string[] } {
  const kept: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(options ?? {})) {
    if (!Object.hasOwn(manifest.options, key)) {
      dropped.push(key);
      continue;
    }
    try {
      sdkValidate({ id: manifest.id, options: { [key]: manifest.options[key]! } }, { [key]: value });
      kept[key] = value;
    } catch {
      dropped.push(key);
    }
  }
  return { options: sdkValidate(manifest, kept), dropped };
}

/** `carriedOptions` for a fallback engine, with what was dropped logged (`options_dropped`). */
export function fallbackOptions(manifest: Manifest, options: Record<string, unknown> | undefined, log: Logger): Record<string, unknown> {
  const carried = carriedOptions(manifest, options);
  if (carried.dropped.length)
    log.info(
      { engine: manifest.id, dropped: carried.dropped, reason: "options_dropped" },
      `options not applicable to fallback engine ${manifest.id}: ${carried.dropped.join(", ")}`,
    );
  return carried.options;
}
