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
