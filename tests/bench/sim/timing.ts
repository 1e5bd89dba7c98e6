/**
 * Decision time with 1,000 queued requests: every engine is busy, so the waiters stay queued;
 * measured are (a) placing one new request (served by an idle engine) and (b) one pass that
 * re-decides the whole queue (as after every release), each waiter distinct.
 */
import { ManualClock } from "../../helpers/clock.ts";
import type { Lease } from "../../../core/scheduler/lease.ts";
import { chorusScheduler } from "./run.ts";
import { SIM_ENGINES, SimGpu, SimLoader } from "./world.ts";

export async function decisionTiming(queued = 1000): Promise<{ queued: number; distinct: number; acquireUs: number; passUs: number }> {
  const clock = new ManualClock();
  const card = { name: "24 GB", totalMb: 24576, othersMb: 512 };
  const loader = new SimLoader(clock, new SimGpu(card.totalMb, card.othersMb), SIM_ENGINES);
  const s = chorusScheduler(clock, loader, card, SIM_ENGINES, { queueSize: queued + 10, maxLoaded: 8 });
  const grab = async (engineId: string) => {
    let done = false;
    const p = s.acquire({ engineId }).finally(() => (done = true));
    await clock.advance(0);
    while (!done && clock.next() !== undefined) await clock.advanceTo(clock.next()!);
    return p;
  };
  const held: Lease[] = [];
  for (const id of ["xtts", "mid", "piper"]) held.push(await grab(id));
  (await grab("espeak")).release();
  const waiting: Promise<unknown>[] = [];
  for (let i = 0; i < queued; i++) {
    const engineId = ["xtts", "mid", "piper"][i % 3]!;
    waiting.push(s.acquire({ engineId, fallback: false, avoid: [`none:${i}`] }).catch(() => {}));
  }
  await clock.advance(0);
  if (s.queued !== queued) throw new Error(`expected ${queued} queued, got ${s.queued}`);
  const rounds = 200;
  let t = performance.now();
  for (let i = 0; i < rounds; i++) (await s.acquire({ engineId: "espeak" })).release();
  const acquireUs = ((performance.now() - t) * 1000) / rounds;
  t = performance.now();
  for (let i = 0; i < rounds; i++) s.changed();
  const passUs = ((performance.now() - t) * 1000) / rounds;
  held.forEach((l) => l.release());
  await s.close();
  await Promise.all(waiting);
  return { queued, distinct: queued, acquireUs, passUs };
}
