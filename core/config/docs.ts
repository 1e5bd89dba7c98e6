/**
 * docs/configuration.md, generated from the configuration schema so that it cannot drift:
 * `npm run docs:config` writes it; tests/host/config-docs.test.ts fails when it is stale.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { NOT_SETTINGS, listEnvVariables } from "./env.ts";

export const CONFIG_DOC = fileURLToPath(new URL("../../docs/configuration.md", import.meta.url));

function formatDefault(value: unknown): string {
  if (value === undefined) return "(none)";
  const json = JSON.stringify(value);
  return json.length > 60 ? "(see the schema)" : `\`${json.replace(/\|/g, "\\|")}\``;
}

export function configurationDoc(): string {
  const rows = listEnvVariables().map((v) => `| \`${v.name}\` | \`${v.key}\` | ${v.type.replace(/\|/g, "\\|")} | ${formatDefault(v.defaultValue)} |`);
  return `<!-- Generated from core/config/schema.ts by \`npm run docs:config\`; do not edit by hand. -->
# Configuration

Chorus reads, in this order, each overriding the one before:

1. \`config/default.json\` (every setting has a default in the schema, \`core/config/schema.ts\`),
2. the file given with \`--config FILE\` (or \`CHORUS_CONFIG=FILE\`), merged key by key,
3. environment variables \`CHORUS_*\`, listed below,
4. command-line flags: \`--host\` and \`--port\` (\`chorus serve --port 8000\`, \`npm start -- --port 8000\`).

Commands that talk to a running server (\`chorus engine ...\`) read the same configuration to
find it: \`server.host\`, \`server.port\` and \`compat.apiKey\` (\`--url\` overrides the address).

## Environment variables

The rule: \`CHORUS_\` + the key path, with \`__\` (two underscores) between sections. Each part
matches a key ignoring case and single underscores, so \`CHORUS_COMPAT__API_KEY\`,
\`CHORUS_COMPAT__APIKEY\` and \`CHORUS_COMPAT__apiKey\` all set \`compat.apiKey\`. Values are read
as JSON when they parse (numbers, booleans, \`null\`, arrays, objects) and as text otherwise;
string settings always take the text as typed. Where a section has free keys (engine ids,
model names: \`<ENGINE>\` below), the part is lower-cased with \`_\` read as \`-\`
(\`CHORUS_SCHEDULER__ENGINES__MY_ENGINE__PINNED=true\` -> \`scheduler.engines.my-engine.pinned\`);
inside engine settings it becomes camelCase (\`CHORUS_ENGINES__SETTINGS__PIPER__VOICES_DIR\` ->
\`engines.settings.piper.voicesDir\`). A variable that names no setting stops start-up with exit
code 2 and the key it named; these are not settings and are left alone: ${NOT_SETTINGS.map((n) => `\`${n}\``).join(", ")}
(the configuration file, the audio encoders' switches in docs/compat.md, the engine protocol's
descriptor, the text-generation-webui extension's server address).

\`\`\`sh
CHORUS_SERVER__PORT=8000 CHORUS_COMPAT__APIKEY=s3cret CHORUS_LOG__LEVEL=debug npm start
\`\`\`

| variable | key | type | default |
| --- | --- | --- | --- |
${rows.join("\n")}
`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(CONFIG_DOC, configurationDoc());
  process.stdout.write(`wrote ${path.relative(process.cwd(), CONFIG_DOC)}\n`);
}
