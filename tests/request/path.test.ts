/**
 * The request path in one pass: a validated request, a lease that carries what the pipeline
 * needs to know of the engine (manifest, device), chunks at the engine's rate for the output
 * stage. The pipeline holds no registry: a request consults it through nothing but the
 * scheduler's placement.
 */
import { afterAll, expect, it, vi } from "vitest";
import { speechRequest, testHost } from "../helpers/host.ts";

const host = testHost();
afterAll(() => host.close());

it("a lease names the manifest and the device of the instance that serves it", async () => {
  const lease = await host.scheduler.acquire({ engineId: "espeak", fallback: false });
  lease.release();
  expect(lease.manifest).toBe(host.registry.manifest("espeak"));
  expect(lease.device).toEqual({ kind: "cpu", index: 0, simulated: false });
});

it("a request's synthesis reads the manifest from its lease, not from the registry", async () => {
  // Registry calls whose caller is the pipeline's code (the scheduler reads the catalogue: its job).
  const fromPipeline: string[] = [];
  // The first frame past this file and the spy: who called the registry.
  const caller = () =>
    (new Error().stack ?? "")
      .split("\n")
      .slice(1)
      .find((frame) => !frame.includes("@vitest/spy") && !frame.includes("path.test.ts")) ?? "";
  const manifest = host.registry.manifest.bind(host.registry);
  const get = host.registry.get.bind(host.registry);
  const seen: string[] = [];
  vi.spyOn(host.registry, "manifest").mockImplementation((id) => {
    seen.push(caller());
    if (/core\/synth\//.test(caller())) fromPipeline.push(`manifest(${id})`);
    return manifest(id);
  });
  vi.spyOn(host.registry, "get").mockImplementation((id) => {
    seen.push(caller());
    if (/core\/synth\//.test(caller())) fromPipeline.push(`get(${id})`);
    return get(id);
  });
  try {
    const speech = await host.pipeline.start(speechRequest({ text: "One. Two.", engine: "flite", options: {} }), new AbortController().signal);
    let samples = 0;
    for await (const chunk of speech.chunks) {
      expect(chunk.sampleRate).toBe(speech.sampleRate);
      samples += chunk.samples.length;
    }
    expect(samples).toBeGreaterThan(0);
    // The spies do see the scheduler's reads (so the check below could fail)...
    expect(seen.some((frame) => /core\/scheduler\//.test(frame))).toBe(true);
    // ...and none by the pipeline.
    expect(fromPipeline).toEqual([]);
  } finally {
    vi.restoreAllMocks();
  }
});
