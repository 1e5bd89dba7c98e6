/**
 * Replicas (core/registry/engine-host.ts) through the real server: the fault fixture, declared
 * `parallelism: "replicas"` with two copies (`engines.cpuReplicas` 2). A request holds one copy
 * ("Hold": busy until the test releases it) while a second request runs on the other copy
 * and loses that copy's worker mid-sentence (the fixture ends its thread). The second request
 * is resumed (on the restarted copy, or the free one) and its audio is whole; the first, on
 * the copy that did not die, is not disturbed: every sentence, no resumption of its own.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { tempDir } from "../helpers/temp.ts";
import { FAULT_PLUGINS, readBody, SECONDS_PER_SENTENCE, SENTENCES, startFaultServer, until, type FaultServer } from "./helpers.ts";

let chorus: FaultServer;
beforeAll(async () => {
  // the thread fixture, with two copies per instance
  const root = tempDir("replica-faults");
  const dir = path.join(root, "fault-thread");
  fs.cpSync(path.join(FAULT_PLUGINS, "fault-thread"), dir, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "plugin.json"), "utf8")) as { resources: { profiles: Record<string, unknown>[] } };
  Object.assign(manifest.resources.profiles[0]!, { maxParallel: 2, parallelism: "replicas" });
  fs.writeFileSync(path.join(dir, "plugin.json"), JSON.stringify(manifest));
  chorus = await startFaultServer({}, { dirs: ["engines", root], cpuReplicas: 2 });
});
afterAll(async () => {
  await chorus?.close();
});

const speech = (text: string) =>
  fetch(`${chorus.url}/api/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text, engine: "fault-thread", format: "pcm", stream: true, fallback: false }),
  });

it("a copy lost mid-stream: its request is resumed whole; the request on the other copy goes on untouched", async () => {
  const holder = ["Hold this one.", ...SENTENCES.filter((s) => !s.includes("Crash"))];
  const first = speech(holder.join(" "));
  await until("the first request to hold its copy", () => fs.existsSync(path.join(chorus.faultDir, "holding")) || undefined);
  chorus.arm("arm", "self-exit");
  const second = await readBody(await speech(SENTENCES.join(" ")));
  expect(second.ok, second.error).toBe(true);
  const full = SENTENCES.length * SECONDS_PER_SENTENCE;
  expect(Math.abs(second.bytes.length / 2 / 16000 - full) / full).toBeLessThan(0.1);
  chorus.arm("release");
  const firstBody = await readBody(await first);
  expect(firstBody.ok, firstBody.error).toBe(true);
  expect(firstBody.bytes.length / 2 / 16000).toBeCloseTo(holder.length * SECONDS_PER_SENTENCE, 5); // exactly every sentence
  const snap = (await (await fetch(`${chorus.url}/api/scheduler?decisions=200`)).json()) as {
    engines: { engine: string; replicas: number }[];
    decisions: { reason: string; engine: string }[];
  };
  expect(snap.engines).toContainEqual(expect.objectContaining({ engine: "fault-thread", replicas: 2 }));
  expect(snap.decisions.filter((d) => d.reason === "resumed_after_crash" && d.engine === "fault-thread")).toHaveLength(1); // the second's only
});
