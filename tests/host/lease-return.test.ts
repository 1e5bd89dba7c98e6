import { afterAll, expect, it } from "vitest";
import { testHost } from "../helpers/host.ts";

const host = testHost();
afterAll(() => host.close());

it("closing the chunks before reading them gives the lease back", async () => {
  const speech = await host.pipeline.start({ text: "First. Second sentence here." }, new AbortController().signal);
  await speech.chunks.return(undefined);
  expect(host.scheduler.residents().find((r) => r.engineId === "espeak")?.inFlight).toBe(0);
});

it("rejects speed and pitch out of range on every path, naming the field", async () => {
  await expect(host.pipeline.start({ text: "Hi.", speed: 0 }, new AbortController().signal)).rejects.toMatchObject({ code: "CHORUS_ERR_REQUEST_INVALID", field: "speed" });
  await expect(host.pipeline.start({ text: "Hi.", pitch: 9 }, new AbortController().signal)).rejects.toMatchObject({ field: "pitch" });
});

it("a speech stopped part way ends with a cancellation, not as if the text were done", async () => {
  const controller = new AbortController();
  const speech = await host.pipeline.start({ text: "First. Second. Third. Fourth. Fifth." }, controller.signal);
  const first = await speech.chunks.next();
  expect(first.done).toBe(false);
  controller.abort(new Error("stopped by the test"));
  const drain = async () => {
    for await (const _ of speech.chunks) void _;
  };
  await expect(drain()).rejects.toMatchObject({ name: "AbortError" });
  expect(host.scheduler.residents().find((r) => r.engineId === "espeak")?.inFlight).toBe(0);
});
