/**
 * Host benchmarks (issues 2, 15), measured side by side in one run:
 * - host overhead: a 10-sentence paragraph as a WAV file through POST /api/speech vs the same
 *   engine called directly in this process, making the same WAV (direct-engine.ts), on a thread
 *   at the host's engine priority; each round four back-to-back pairs of the two, the round's
 *   ratio their sums' ratio, the figure the median of the rounds' ratios (target <= 1.02).
 *   The response is read by a lean HTTP/1.1 client (raw-http.ts: one keep-alive connection, the
 *   body read into one preallocated buffer), so that the figure is the server's, not a client
 *   library's: node:http's client spends 2-4 ms more on a 1.5 MB body (its row is printed too).
 *   Also printed: the same engine on this process's main thread (normal priority), and the same
 *   file streamed (stream: true: chunked, the WAV header's sizes "unknown", the same length);
 *   and the floor under the ratio: a bare node:http server answering the same request with the
 *   same number of bytes, prebuilt, no work (http-floor.ts), added to the in-process time: what
 *   moving the request in and 1.5 MB out over loopback HTTP costs on this machine by itself;
 * - event loop: GET /health latency p99 while two long syntheses run (target <= 20 ms);
 * - the eSpeak NG engine (warm) vs the native `espeak-ng` program on the same paragraph.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startServer } from "../helpers/process.ts";
import { directInThread, directOnMainThread, loadEngine, speakDirect } from "./direct-engine.ts";
import { fmt, httpRequest, median, percentile, table } from "./stats.ts";
import { RawHttpClient } from "./raw-http.ts";
import { startHttpFloor } from "./http-floor.ts";
import { PARAGRAPH } from "../helpers/texts.ts";

function nativeEspeak(): string | undefined {
  const found = spawnSync("espeak-ng", ["--version"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Pairs of runs per round of the host-overhead figure (see 1. below). */
const PAIRS_PER_ROUND = 4;

export async function benchHost(rounds = 41, nativeRounds = 15, otherRounds = 15): Promise<Record<string, number>> {
  // The server runs as users run it: its own `chorus serve` process.
  const server = await startServer({ CHORUS_DATA_DIR: path.join(os.tmpdir(), "chorus-bench"), CHORUS_LOG__LEVEL: "warn" });
  const url = server.url;
  const body = (text: string) => JSON.stringify({ text });
  // The measured client reads into one preallocated buffer (raw-http.ts); node:http's client beside it.
  const lean = RawHttpClient.forUrl(url);
  const speech = async (text: string) => {
    const res = await lean.request("POST", "/api/speech", { headers: { "content-type": "application/json" }, body: body(text) });
    if (res.status !== 200) throw new Error(`speech failed: ${res.status} ${res.body.toString()}`);
    return res.bytes;
  };
  // The same file streamed (stream: true): sent as it is made, chunked, its header's sizes "unknown".
  const speechStreamed = async (text: string) => {
    const res = await lean.request("POST", "/api/speech", { headers: { "content-type": "application/json" }, body: JSON.stringify({ text, stream: true }) });
    if (res.status !== 200 || res.headers["transfer-encoding"] !== "chunked") throw new Error(`streamed speech failed: ${res.status} ${res.body.toString()}`);
    return res.bytes;
  };
  const speechNodeHttp = async (text: string) => {
    const res = await httpRequest(`${url}/api/speech`, { method: "POST", headers: { "content-type": "application/json" }, body: body(text), countOnly: true });
    if (res.status !== 200) throw new Error(`speech failed: ${res.status} ${res.body.toString()}`);
    return res.bytes;
  };
  const inThread = await directInThread();
  const onMain = await directOnMainThread();

  // Warm all paths; each must make the same file.
  const sizes = [
    await speech(PARAGRAPH),
    await speechNodeHttp(PARAGRAPH),
    await speechStreamed(PARAGRAPH),
    await inThread.speak(PARAGRAPH),
    await onMain.speak(PARAGRAPH),
  ];
  if (new Set(sizes).size !== 1) throw new Error(`the paths made different WAV files: ${sizes.join(" / ")} bytes`);
  const floor = await startHttpFloor(sizes[0]!);
  await floor.request(body(PARAGRAPH));
  for (let i = 0; i < 2; i++)
    await Promise.all([speech(PARAGRAPH), inThread.speak(PARAGRAPH), onMain.speak(PARAGRAPH)])
      .then(() => speechNodeHttp(PARAGRAPH))
      .then(() => speechStreamed(PARAGRAPH));

  // 1. Host overhead. A round is PAIRS_PER_ROUND back-to-back pairs of the two measured paths
  // (POST /api/speech, the in-process engine; which goes first alternates) with the HTTP floor
  // beside each pair; the round's ratio is its HTTP time over its in-process time (sums). Single
  // runs of each path taken ~0.35 s apart (the method before) gave rounds' ratios with a p25-p75
  // of 0.83-1.18 here: other tenants' noise, which adjacent runs share and a sum of four evens out.
  const viaHttp: number[] = [];
  const direct: number[] = [];
  const ratios: number[] = [];
  const floorMs: number[] = [];
  const floorRatios: number[] = [];
  const beyondFloorMs: number[] = [];
  const timed = async (run: () => Promise<number>) => {
    const t = performance.now();
    await run();
    return performance.now() - t;
  };
  for (let i = 0; i < rounds; i++) {
    let http = 0;
    let inProcess = 0;
    let bare = 0;
    for (let p = 0; p < PAIRS_PER_ROUND; p++) {
      if ((i + p) % 2 === 0) {
        http += await timed(() => speech(PARAGRAPH));
        inProcess += await timed(() => inThread.speak(PARAGRAPH));
      } else {
        inProcess += await timed(() => inThread.speak(PARAGRAPH));
        http += await timed(() => speech(PARAGRAPH));
      }
      bare += await timed(() => floor.request(body(PARAGRAPH)));
    }
    viaHttp.push(http / PAIRS_PER_ROUND);
    direct.push(inProcess / PAIRS_PER_ROUND);
    floorMs.push(bare / PAIRS_PER_ROUND);
    ratios.push(http / inProcess);
    floorRatios.push((inProcess + bare) / inProcess);
    beyondFloorMs.push((http - inProcess - bare) / PAIRS_PER_ROUND);
  }

  // The other paths, for comparison (fewer rounds; each round rotates the order): the engine on
  // this process's main thread, node:http's client, and the same file streamed.
  const main: number[] = [];
  const viaNodeHttp: number[] = [];
  const viaStream: number[] = [];
  const mainRatios: number[] = [];
  const nodeHttpRatios: number[] = [];
  const streamRatios: number[] = [];
  const others: [() => Promise<number>, number[]][] = [
    [() => speech(PARAGRAPH), []],
    [() => inThread.speak(PARAGRAPH), []],
    [() => onMain.speak(PARAGRAPH), main],
    [() => speechNodeHttp(PARAGRAPH), viaNodeHttp],
    [() => speechStreamed(PARAGRAPH), viaStream],
  ];
  for (let i = 0; i < otherRounds; i++) {
    const round: number[] = [];
    for (let k = 0; k < others.length; k++) {
      const at = (i + k) % others.length;
      const [run, into] = others[at]!;
      round[at] = await timed(run);
      into.push(round[at]!);
    }
    const [http, inProcess, onMainMs, nodeHttp, streamed] = round as [number, number, number, number, number];
    mainRatios.push(http / onMainMs);
    nodeHttpRatios.push(nodeHttp / inProcess);
    streamRatios.push(streamed / inProcess);
  }
  const overhead = median(ratios);

  // 2. Event loop: /health while two long syntheses run. The long requests come from curl
  // processes, so that receiving their audio does not delay this process's own timing.
  const long = Array.from({ length: 4 }, () => PARAGRAPH).join(" ");
  const healthMs: number[] = [];
  let running = true;
  const curl = () =>
    new Promise<void>((resolve, reject) =>
      execFile("curl", ["-sf", "-o", "/dev/null", "-H", "content-type: application/json", "-d", JSON.stringify({ text: long }), `${url}/api/speech`], (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  // Three pairs one after the other: ~150 samples, so that the p99 is not simply the slowest of ~50.
  for (let pair = 0; pair < 3; pair++) {
    running = true;
    const syntheses = Promise.all([curl(), curl()]).finally(() => (running = false));
    while (running) {
      const t = performance.now();
      await httpRequest(`${url}/health`);
      healthMs.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
    await syntheses;
  }

  // 3. Warm engine vs the native program on the same paragraph.
  const native = nativeEspeak();
  const engine = await loadEngine();
  let nativeRatio = NaN;
  let nativeMs = NaN;
  if (native) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chorus-bench-"));
    const textFile = path.join(dir, "p.txt");
    fs.writeFileSync(textFile, PARAGRAPH);
    const nativeRuns: number[] = [];
    const engineRuns: number[] = [];
    for (let i = 0; i < nativeRounds; i++) {
      let t = performance.now();
      execFileSync("espeak-ng", ["-v", "en-us", "-w", path.join(dir, "o.wav"), "-f", textFile]);
      nativeRuns.push(performance.now() - t);
      t = performance.now();
      await speakDirect(engine, PARAGRAPH);
      engineRuns.push(performance.now() - t);
    }
    nativeMs = median(nativeRuns);
    nativeRatio = median(engineRuns) / nativeMs;
  }

  await engine.unload();
  await inThread.close();
  await onMain.close();
  await floor.close();
  lean.close();
  await server.stop();

  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  console.log(
    `\n== Host (issues 2, 15): eSpeak NG, 10-sentence paragraph as a WAV file; method: same text, same engine, same file: POST /api/speech to a \`chorus serve\` process, read by a lean HTTP/1.1 client (one keep-alive connection, the body read into one preallocated buffer and counted by its Content-Length: raw-http.ts; node:http's client printed beside it; and the same file streamed, stream: true, chunked), vs the engine called in this process (on a thread at the host's engine priority; and on the main thread), ${rounds} rounds of ${PAIRS_PER_ROUND} back-to-back pairs (which path goes first alternates), a round's ratio = its HTTP time / its in-process time, median of the rounds' ratios; the HTTP floor (a bare node:http server sending the same bytes, no work) beside each pair; the other paths in ${otherRounds} rounds of rotating order; load average ${load} on ${os.availableParallelism()} CPUs ==`,
  );
  console.log(
    table([
      ["figure", "value", "target"],
      ["POST /api/speech median ms (lean client)", fmt(median(viaHttp), 1), ""],
      ["POST /api/speech median ms (node:http client)", fmt(median(viaNodeHttp), 1), ""],
      ["in-process engine (engine thread, engine priority) median ms", fmt(median(direct), 1), ""],
      ["in-process engine (main thread, normal priority) median ms", fmt(median(main), 1), ""],
      ["host overhead ratio (HTTP / in-process, median of rounds)", fmt(overhead, 3), `<= 1.02 ${overhead <= 1.02 ? "OK" : "MISSED"}`],
      ["  same, ratio of the medians", fmt(median(viaHttp) / median(direct), 3), ""],
      ["  same, the rounds' ratios p25 / p75 (the machine's noise)", `${fmt(percentile(ratios, 25), 3)} / ${fmt(percentile(ratios, 75), 3)}`, ""],
      ["HTTP floor: a bare node:http server, the same request and bytes, no work, median ms", fmt(median(floorMs), 2), ""],
      [
        "  floor ratio ((in-process + HTTP floor) / in-process, median of rounds)",
        fmt(median(floorRatios), 3),
        median(floorRatios) > 1.02 ? "above 1.02: unreachable by any HTTP server here" : "",
      ],
      ["  Chorus beyond the floor (HTTP - in-process - floor, median of rounds) ms", fmt(median(beyondFloorMs), 2), ""],
      ["  same, vs the main thread (median of the other rounds)", fmt(median(mainRatios), 3), ""],
      ["  same, read by node:http's client (median of the other rounds)", fmt(median(nodeHttpRatios), 3), ""],
      ["POST /api/speech stream:true (chunked, same length) median ms", fmt(median(viaStream), 1), ""],
      ["  streamed / in-process (median of the other rounds)", fmt(median(streamRatios), 3), ""],
      ["/health p99 ms during 2 long syntheses (3 pairs)", fmt(percentile(healthMs, 99), 2), `<= 20 ${percentile(healthMs, 99) <= 20 ? "OK" : "MISSED"}`],
      [`/health samples`, String(healthMs.length), ""],
      [
        native ? `warm engine / native (${native.split(" ").slice(0, 3).join(" ")}), native median ${fmt(nativeMs, 1)} ms` : "warm engine / native espeak-ng",
        native ? fmt(nativeRatio, 3) : "not installed (npm run bench:setup)",
        native ? `<= 1.10 ${nativeRatio <= 1.1 ? "OK" : "MISSED"}` : "<= 1.10",
      ],
    ]),
  );
  return {
    overhead,
    overheadMainThread: median(mainRatios),
    overheadNodeHttp: median(nodeHttpRatios),
    overheadStreamed: median(streamRatios),
    floorRatio: median(floorRatios),
    beyondFloorMs: median(beyondFloorMs),
    healthP99Ms: percentile(healthMs, 99),
    nativeRatio,
  };
}
