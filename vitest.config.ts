import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "examples/**/*.test.ts"],
    // A plugin outside the repository, with its own tests (tests/host/external-plugin.test.ts runs them).
    exclude: ["**/node_modules/**", "tests/fixtures/external-plugin/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // A test that asserts nothing (say, only inside a callback that never ran) fails.
    expect: { requireAssertions: true },
  },
});
