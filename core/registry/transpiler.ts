/**
 * TypeScript for engine worker threads, transpiled here, on the host's main thread.
 * tsx in a worker thread starts its own esbuild process from that thread; when the thread
 * ends, the process exits but nobody is left to reap it: one `[esbuild] <defunct>` per worker
 * (per load, per hot swap). Instead each worker gets a MessagePort to this service, which
 * uses the host's one long-lived esbuild (a child of the main thread, reaped normally).
 * Child processes (isolation "process") keep tsx: their esbuild is their own child.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { transform } from "esbuild";

export interface TranspileRequest {
  id: number;
  file: string;
  source: string;
}

export type TranspileAnswer = { id: number; code: string } | { id: number; error: string };

/** Transpiles one TypeScript module to an ES module (inline source map, for stack traces). */
export async function transpileModule(file: string, source: string): Promise<string> {
  const result = await transform(source, {
    loader: file.endsWith(".tsx") ? "tsx" : "ts",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    sourcefile: file,
    tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
  });
  return result.code;
}

/** A port for one worker thread: it posts TranspileRequests and gets TranspileAnswers. */
export function transpilerPort(): MessagePort {
  const { port1, port2 } = new MessageChannel();
  port1.on("message", (m: TranspileRequest) => {
    transpileModule(m.file, m.source).then(
      (code) => port1.postMessage({ id: m.id, code } satisfies TranspileAnswer),
      (err: Error) => port1.postMessage({ id: m.id, error: err.message } satisfies TranspileAnswer),
    );
  });
  port1.on("close", () => port1.close());
  port1.unref();
  return port2;
}
