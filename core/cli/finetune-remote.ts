/**
 * `chorus finetune run` against a running Chorus: the job is created with POST
 * /api/finetune/jobs (so the server's scheduler moves its engines aside), progress comes from
 * the job's SSE stream, Ctrl-C sends DELETE (the job stops at a checkpoint).
 */
import type { Config } from "../config/schema.ts";
import { runningChorusSnapshot } from "../finetune/gpu.ts";
import type { JobRequest } from "../finetune/runner/spec.ts";
import type { JobState } from "../finetune/runner/state.ts";
import type { terminalView } from "./finetune-view.ts";

export async function remoteBase(server: string, config: Config): Promise<string | undefined> {
  if (server === "off") return undefined;
  if (server !== "auto") return server.replace(/\/$/, "");
  if (!(await runningChorusSnapshot(config))) return undefined;
  const host = config.server.host === "0.0.0.0" ? "127.0.0.1" : config.server.host;
  return `http://${host}:${config.server.port}`;
}

const FINAL = new Set(["finished", "failed", "stopped"]);

export async function followRemote(
  base: string,
  request: JobRequest | undefined,
  resume: string | undefined,
  epochs: number | undefined,
  view: ReturnType<typeof terminalView>,
): Promise<number> {
  const body = resume
    ? { resume, epochs }
    : {
        mode: request!.mode,
        dataset: request!.datasetDir,
        baseModel: request!.baseModelDir,
        out: request!.outDir,
        plan: request!.plan,
        gpu: request!.gpu,
        epochs: request!.epochs,
        language: request!.language,
        ...request!.planOptions,
      };
  const res = await fetch(`${base}/api/finetune/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const answer = (await res.json()) as JobState & { error?: { message: string; field?: string } };
  if (!res.ok) throw new Error(`${base} refused the job: ${answer.error?.message ?? res.status}${answer.error?.field ? ` (${answer.error.field})` : ""}`);
  const id = answer.id;
  process.stderr.write(`job ${id} running in the Chorus at ${base} (GET ${base}/api/finetune/jobs/${id})\n`);
  const onSigint = () => {
    process.stderr.write("\nstopping: the trainer writes a checkpoint first\n");
    void fetch(`${base}/api/finetune/jobs/${id}`, { method: "DELETE" });
  };
  process.on("SIGINT", onSigint);
  let state: JobState = answer;
  try {
    const stream = await fetch(`${base}/api/finetune/jobs/${id}/events`);
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      const frames = rest.split("\n\n");
      rest = frames.pop()!;
      for (const frame of frames) {
        const kind = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (!data) continue;
        const value = JSON.parse(data) as Record<string, unknown>;
        if (kind === "state") {
          state = value as unknown as JobState;
          view.state(state);
        } else if (kind === "message") view.message(value as { type: string });
        else if (kind === "event") view.event(value as { event: string });
      }
      if (FINAL.has(state.status) && !state.lease) break;
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
  view.end(state);
  return state.status === "finished" ? 0 : state.status === "stopped" ? 130 : 1;
}
