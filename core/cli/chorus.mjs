#!/usr/bin/env node
// The `chorus` command. Chorus runs from its TypeScript sources through tsx (no build step),
// from any working directory; plugin commands resolve `chorus/sdk` as engine workers do.
import { registerChorusLoaders } from "../registry/loaders.mjs";

registerChorusLoaders();
// `chorus voices | head` closes the pipe early: that is not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
