/**
 * The dashboard's event feed (core/server/routes/events.ts) with stand-in responses: the first
 * snapshot, decisions as they are made, coalesced snapshots, subscriptions only while clients
 * are connected, and the bound on a client that does not read (it is cut off, not buffered).
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { ServerResponse } from "node:http";
import type { Host } from "../../core/host.ts";
import { DecisionLog } from "../../core/scheduler/decisions.ts";
import { Feed } from "../../core/server/routes/events.ts";

function fakeHost() {
  const decisions = new DecisionLog(100);
  const registry = Object.assign(new EventEmitter(), { selection: { current: () => "a" }, list: () => [], problems: () => [] });
  const scheduler = {
    decisions,
    isLoaded: () => false,
    snapshot: (n: number) => ({ devices: [], engines: [], queue: { length: 0, max: 1, byEngine: {} }, decisions: decisions.list(n) }),
  };
  return { host: { registry, scheduler } as unknown as Host, decisions, registry };
}

class FakeResponse extends EventEmitter {
  text = "";
  destroyed = false;
  writableLength = 0;
  stalled = false;
  write(chunk: string) {
    if (this.stalled) this.writableLength += chunk.length;
    else this.text += chunk;
    return !this.stalled;
  }
  destroy() {
    this.destroyed = true;
    this.emit("close");
  }
  end() {
    this.emit("close");
  }
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setImmediate(r));
};

describe("scheduler event feed", () => {
  it("sends a snapshot, each decision, then a coalesced snapshot; unsubscribes when the last client goes", async () => {
    const { host, decisions, registry } = fakeHost();
    decisions.add({ at: "t", action: "load", reason: "fits", engine: "old" });
    const feed = new Feed(host);
    const res = new FakeResponse();
    feed.add(res as unknown as ServerResponse);
    expect(res.text).toMatch(/^retry: 2000\n\nevent: snapshot\ndata: .*"engine":"old"/);
    expect(registry.listenerCount("change")).toBe(1);
    decisions.add({ at: "t", action: "load", reason: "fits", engine: "x" });
    decisions.add({ at: "t", action: "evict", reason: "evicted", engine: "y" });
    expect(res.text).toContain('event: decision\nid: 2\ndata: {"seq":2,"at":"t","action":"load","reason":"fits","engine":"x","summary":"fits in free memory"}');
    expect(res.text).toContain("event: decision\nid: 3\n");
    await until(() => res.text.split("event: snapshot").length === 3); // one more, for both
    res.emit("close");
    expect(registry.listenerCount("change")).toBe(0);
    decisions.add({ at: "t", action: "load", reason: "fits", engine: "z" });
    expect(res.text).not.toContain('"engine":"z"');
    feed.close();
  });

  it("cuts off a client that does not read instead of buffering for it", () => {
    const { host, decisions } = fakeHost();
    const feed = new Feed(host);
    const slow = new FakeResponse();
    const fast = new FakeResponse();
    feed.add(slow as unknown as ServerResponse);
    feed.add(fast as unknown as ServerResponse);
    slow.stalled = true;
    for (let i = 0; i < 5000 && !slow.destroyed; i++)
      decisions.add({ at: "t", action: "queue", reason: "wait_capacity", engine: "e", detail: "x".repeat(200) });
    expect(slow.destroyed).toBe(true);
    expect(slow.writableLength).toBeLessThan(600 * 1024);
    expect(fast.destroyed).toBe(false);
    feed.close();
  });
});
