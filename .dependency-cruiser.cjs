/**
 * The import-graph check (`npm run lint:imports`, part of `npm test`); docs/architecture.md.
 * Type-only imports count too: a circle of types is still a circle to read.
 */
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", comment: "No import circles anywhere.", from: {}, to: { circular: true } },
    {
      name: "engines-only-sdk",
      severity: "error",
      comment: "Engines import only the SDK (packages/sdk or chorus/sdk), never the host.",
      from: { path: "^engines/" },
      to: { path: "^(core|plugins|examples|tests)/" },
    },
    {
      name: "core-not-upward",
      severity: "error",
      comment: "The core never imports an engine, a plugin, an example or a test.",
      from: { path: "^core/" },
      to: { path: "^(engines|plugins|examples|tests)/" },
    },
    {
      name: "sdk-self-contained",
      severity: "error",
      comment: "The SDK package imports nothing from the host (it is published on its own).",
      from: { path: "^packages/sdk/" },
      to: { path: "^(core|engines|plugins|examples|tests)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist)/" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".mts", ".js", ".mjs", ".cjs", ".json"], exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
  },
};
