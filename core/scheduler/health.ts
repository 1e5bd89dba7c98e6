/**
 * Loaded instances asked how they are (`Engine.health()` through the engine protocol), for
 * GET /api/engines. An answer that does not come within the time limit, or an error, reads as
 * not ok; the instances are asked at once.
 */
import type { Instance } from "./types.ts";

export interface InstanceHealth {
  profile: string;
  ok: boolean;
  detail?: string;
}

export function instanceHealth(instances: Instance[], timeoutMs: number): Promise<InstanceHealth[]> {
  const ready = instances.filter((i) => i.state === "ready" && i.host);
  return Promise.all(
    ready.map(async (inst) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<{ ok: boolean; detail: string }>((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
      });
      try {
        const answer = await Promise.race([inst.host!.health(), late]);
        return { profile: inst.profile, ok: answer.ok === true, ...(answer.detail ? { detail: String(answer.detail) } : {}) };
      } catch (err) {
        return { profile: inst.profile, ok: false, detail: (err as Error).message };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
