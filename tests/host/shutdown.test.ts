/**
 * SIGTERM with a client that has stopped reading a long stream: the server waits
 * `server.shutdownGraceSeconds`, then cuts the connection and exits (it used to wait forever).
 */
import http from "node:http";
import { expect, it } from "vitest";
import { startServer } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

it("exits after the grace period even while a client stalls a stream", async () => {
  const server = await startServer({ CHORUS_DATA_DIR: tempDir("shutdown"), CHORUS_SERVER__SHUTDOWN_GRACE_SECONDS: "1" });
  const text = Array.from({ length: 60 }, (_, i) => `This is sentence number ${i + 1} of a long text.`).join(" ");
  let firstBytes!: () => void;
  const underWay = new Promise<void>((resolve) => (firstBytes = resolve));
  const req = http.request(`${server.url}/api/speech`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
    res.once("data", () => {
      res.pause(); // read the first bytes, then never again
      firstBytes();
    });
  });
  req.on("error", () => undefined);
  req.end(JSON.stringify({ text, engine: "flite", stream: true }));
  await underWay; // the stream is under way
  const code = await server.stop(); // it used to never return: the stalled response kept the server up
  req.destroy();
  expect(code).toBe(0);
  expect(server.output()).toMatch(/cutting off the requests still running/);
}, 40_000);
