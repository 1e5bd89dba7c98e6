// throwaway: CPU time per request, server process vs in-process path
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startServer } from "../helpers/process.ts";
import { directInThread } from "./direct-engine.ts";
import { RawHttpClient } from "./raw-http.ts";
import { PARAGRAPH } from "../helpers/texts.ts";
import { spawn } from "node:child_process";
import { CHORUS_BIN, freePort } from "../helpers/process.ts";
const server = process.env.GC ? await (async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ["--trace-gc", ...(process.env.NODEFLAGS ? process.env.NODEFLAGS.split(" ") : []), CHORUS_BIN, "serve", "--port", String(port)], { env: { ...process.env, CHORUS_DATA_DIR: path.join(os.tmpdir(), "chorus-bench"), CHORUS_LOG__LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = ""; child.stdout!.on("data", (d) => (output += d)); child.stderr!.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  for (;;) { try { if ((await fetch(`${url}/health`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
  return { url, process: child, output: () => output, stop: () => new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); }) };
})() : await startServer({ CHORUS_DATA_DIR: path.join(os.tmpdir(), "chorus-bench"), CHORUS_LOG__LEVEL: "warn" });
const pid = server.process.pid!;
const tick = 1000 / 100;
const serverCpu = () => { const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" "); return (Number(f[11]) + Number(f[12])) * tick; };
const lean = RawHttpClient.forUrl(server.url);
const body = JSON.stringify({ text: PARAGRAPH });
const inThread = await directInThread();
const N = Number(process.env.N ?? 40);
for (let i = 0; i < 5; i++) { await lean.request("POST", "/api/speech", { headers: { "content-type": "application/json" }, body }); await inThread.speak(PARAGRAPH); }
const selfCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const idle0 = serverCpu(); await new Promise((r) => setTimeout(r, 3000)); console.log("server idle cpu ms/s", ((serverCpu() - idle0) / 3).toFixed(2));
const rounds: { s: number; c: number; d: number }[] = [];
for (let r = 0; r < 3; r++) {
  let s0 = serverCpu(); let c0 = selfCpu();
  for (let i = 0; i < N; i++) await lean.request("POST", "/api/speech", { headers: { "content-type": "application/json" }, body });
  const s = (serverCpu() - s0) / N; const c = (selfCpu() - c0) / N;
  c0 = selfCpu();
  for (let i = 0; i < N; i++) await inThread.speak(PARAGRAPH);
  const d = (selfCpu() - c0) / N;
  rounds.push({ s, c, d });
}
for (const r of rounds) console.log(`server cpu/req ${r.s.toFixed(2)} ms (+client ${r.c.toFixed(2)})  in-process cpu/call ${r.d.toFixed(2)} ms  ratio ${((r.s + r.c) / r.d).toFixed(3)} server-only ${(r.s / r.d).toFixed(3)}`);
if (process.env.GC) { const lines = server.output().split("\n").filter((l) => l.includes("ms: ")); const main = lines.filter((l) => !/0x7f/.test(l)); console.log("main GCs", main.length, "of", lines.length); const kinds: Record<string, [number, number]> = {}; for (const l of main) { const m = /ms: (\S+) .*?MB, ([\d.]+) \/ [\d.]+ ms.*?\) (.*)$/.exec(l); if (!m) continue; const k = m[1] + " " + m[3].replace(/\(.*?\)/g, "").trim(); kinds[k] ??= [0, 0]; kinds[k][0]++; kinds[k][1] += Number(m[2]); } console.log(kinds); console.log(main.slice(-8).join("\n")); }
console.log("load", os.loadavg().map((l) => l.toFixed(2)).join(" "));
lean.close(); await inThread.close(); await server.stop();
