/**
 * The plugin watcher's debounce on a fake clock (vitest's fake timers): a burst of changes in
 * one plugin folder is one report, made only after `debounceMs` of quiet; folders are debounced
 * separately; paths outside a plugin folder are not reported. (The chokidar side is covered by
 * watch.test.ts against real files.)
 */
import path from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { PluginWatcher } from "../../core/registry/watcher.ts";

const root = path.resolve("/plugins-root");
let reports: string[];
let watcher: PluginWatcher;
/** What chokidar calls for each changed path. */
const touch = (rel: string) => watcher["touched"](path.join(root, rel));

beforeEach(() => {
  vi.useFakeTimers();
  reports = [];
  watcher = new PluginWatcher({
    roots: [root],
    debounceMs: 100,
    onFolder: (dir) => reports.push(dir),
    onError: (err) => {
      throw err;
    },
  });
});
afterEach(async () => {
  await watcher.close();
  vi.useRealTimers();
});

it("turns a burst of changes into one report, after debounceMs of quiet", () => {
  for (let i = 0; i < 20; i++) {
    touch(`tone/part-${i}.txt`);
    vi.advanceTimersByTime(99); // each change comes before the quiet period ends
  }
  expect(reports).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(reports).toEqual([path.join(root, "tone")]);
  vi.advanceTimersByTime(10_000);
  expect(reports).toHaveLength(1);
});

it("reports again for a change after the quiet period", () => {
  touch("tone/index.ts");
  vi.advanceTimersByTime(100);
  touch("tone/plugin.json");
  vi.advanceTimersByTime(100);
  expect(reports).toEqual([path.join(root, "tone"), path.join(root, "tone")]);
});

it("debounces each plugin folder on its own, and ignores paths outside plugin folders", () => {
  touch("a/index.ts");
  vi.advanceTimersByTime(60);
  touch("b/index.ts");
  touch(".hidden/x");
  touch("../elsewhere/x");
  vi.advanceTimersByTime(40);
  expect(reports).toEqual([path.join(root, "a")]);
  vi.advanceTimersByTime(60);
  expect(reports).toEqual([path.join(root, "a"), path.join(root, "b")]);
});

it("close() cancels a pending report", async () => {
  touch("tone/index.ts");
  await watcher.close();
  vi.advanceTimersByTime(1000);
  expect(reports).toEqual([]);
});
