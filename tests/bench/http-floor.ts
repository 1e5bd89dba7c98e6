/**
 * The least a response over loopback HTTP can cost on this machine (host bench): a bare
 * node:http server in its own process (http-floor.child.mjs) answers the same request with a
 * prebuilt body of the same size, doing no work, read by the same lean client (raw-http.ts).
 * The request's trip in and the file's trip out are what any HTTP server pays beyond the
 * in-process engine; added to the in-process time it is the floor under the host-overhead ratio.
 */
import { fork, type ChildProcess } from "node:child_process";
import { RawHttpClient } from "./raw-http.ts";

export interface HttpFloor {
  /** One request with this JSON body; resolves with the body's length. */
  request(body: string): Promise<number>;
  close(): Promise<void>;
}

export async function startHttpFloor(bodyBytes: number): Promise<HttpFloor> {
  const child: ChildProcess = fork(new URL("./http-floor.child.mjs", import.meta.url), [String(bodyBytes)], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve(m as number));
    child.once("exit", (code) => reject(new Error(`http-floor server exited with ${code}`)));
  });
  const client = new RawHttpClient("127.0.0.1", port);
  return {
    async request(body) {
      const res = await client.request("POST", "/api/speech", { headers: { "content-type": "application/json" }, body });
      if (res.status !== 200 || res.bytes !== bodyBytes) throw new Error(`http-floor answered ${res.status} with ${res.bytes} bytes`);
      return res.bytes;
    },
    async close() {
      client.close();
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      await gone;
    },
  };
}
