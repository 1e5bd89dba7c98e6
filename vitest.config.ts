import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "examples/**/*.test.ts"],
    // A plugin outside the repository, with its own tests (tests/host/external-plugin.test.ts runs them).
    exclude: ["**/node_modules/**", "tests/fixtures/external-plugin/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Test files spend most of their time waiting on processes they start (chorus, Python,
    // Chromium), not on the CPU: vitest's default of one worker fewer than the cores ran them
    // one at a time on a 2-core machine. At least two files at a time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // A test that asserts nothing (say, only inside a callback that never ran) fails.
    // expect.poll waits on a condition: its default ceiling (1 s) failed tests on a loaded
    // machine; 30 s as tests/helpers/wait.ts's CEILING_MS (a timeout, never a speed claim).
    expect: { requireAssertions: true, poll: { timeout: 30_000 } },
  },
});
