// Module resolution and loading hooks for plugin code, in engine workers and child processes.
// - `chorus/sdk` resolves to this host's SDK wherever the plugin folder lives (a plugin
//   outside the Chorus folder has no package scope that could self-reference it).
// - A bare import the plugin's own node_modules cannot satisfy is retried from the Chorus
//   folder, so plugins may use packages the host installs.
// - A `.ts` file outside any package that declares a "type" is an ES module (plugins are
//   written as ESM; Node would otherwise take such a file for CommonJS).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let sdkUrl = "";
let rootUrl = "";

export function initialize(data) {
  sdkUrl = data.sdkUrl;
  rootUrl = data.rootUrl;
}

const bare = (s) => !s.startsWith(".") && !s.startsWith("/") && !/^[a-z][a-z0-9+.-]*:/i.test(s);

export async function resolve(specifier, context, next) {
  if (specifier === "chorus/sdk" || specifier === "@chorus-tts/sdk") return next(sdkUrl, context);
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== "ERR_MODULE_NOT_FOUND" || !bare(specifier) || !context.parentURL || context.parentURL.startsWith(rootUrl)) throw err;
    return next(specifier, { ...context, parentURL: new URL("package.json", rootUrl).href });
  }
}

const typed = new Map();

/** Whether the nearest package.json above `dir` declares a module "type". */
function scopeHasType(dir) {
  if (typed.has(dir)) return typed.get(dir);
  let result = false;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    result = typeof pkg.type === "string";
  } catch (err) {
    const parent = path.dirname(dir);
    if (err?.code === "ENOENT" && parent !== dir) result = scopeHasType(parent);
  }
  typed.set(dir, result);
  return result;
}

export async function load(url, context, next) {
  if (url.startsWith("file:") && /\.tsx?$/.test(new URL(url).pathname) && !scopeHasType(path.dirname(fileURLToPath(url)))) {
    return next(url, { ...context, format: "module-typescript" });
  }
  return next(url, context);
}
