// Module loading hooks for engine worker threads: `.ts` files are transpiled by the host's
// main thread (transpiler.ts), over the MessagePort passed in `data`, so that no esbuild
// process is started from (and orphaned by) the worker.
import fs from "node:fs/promises";
import { fileURLToPath } from "node:url";

let port;
let nextId = 1;
const waiting = new Map();

export function initialize(data) {
  port = data.port;
  port.on("message", (m) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (!waiting.size) port.unref();
    if ("error" in m) w?.reject(new Error(m.error));
    else w?.resolve(m.code);
  });
  port.unref();
}

function transpile(file, source) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    port.ref();
    port.postMessage({ id, file, source });
  });
}

export async function load(url, context, next) {
  if (port && url.startsWith("file:") && /\.m?tsx?$/.test(new URL(url).pathname)) {
    const file = fileURLToPath(url);
    const source = await fs.readFile(file, "utf8");
    return { format: "module", source: await transpile(file, source), shortCircuit: true };
  }
  // tsx let TypeScript import JSON without `with { type: "json" }`; plugins rely on that
  if (port && url.startsWith("file:") && new URL(url).pathname.endsWith(".json") && !context.importAttributes?.type) {
    return { format: "json", source: await fs.readFile(fileURLToPath(url), "utf8"), shortCircuit: true };
  }
  return next(url, context);
}
