/**
 * HTTP(S) download to a file with progress and resume: the bytes go to `DEST.part`; an
 * interrupted download (network error, or a `.part` left by an earlier run) continues with an
 * HTTP Range request where the server supports it (206), and starts over where it does not.
 */
import fs from "node:fs";
import type { CommandOutput } from "chorus/sdk";

export interface DownloadProgress {
  file: string;
  /** Bytes on disk so far, including bytes resumed from an earlier attempt. */
  received: number;
  /** Total size when the server says it; undefined otherwise. */
  total?: number;
  /** Bytes that were already there when this attempt started. */
  resumedFrom: number;
}

export interface DownloadOptions {
  onProgress?: (progress: DownloadProgress) => void;
  /** Attempts in all (network errors and truncated bodies are retried from where they stopped). */
  attempts?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "DownloadError";
  }
}

/** Downloads `url` to `dest` (through `dest.part`); returns the number of bytes. */
export async function download(url: string, dest: string, options: DownloadOptions = {}): Promise<number> {
  const part = `${dest}.part`;
  const attempts = options.attempts ?? 4;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const size = await attemptDownload(url, part, options);
      fs.renameSync(part, dest);
      return size;
    } catch (err) {
      if (err instanceof DownloadError && err.status !== undefined && err.status < 500) throw err;
      if (options.signal?.aborted) throw err;
      lastError = err;
      if (attempt < attempts) await new Promise((r) => setTimeout(r, Math.min(2000, 200 * attempt)));
    }
  }
  throw new DownloadError(`download of ${url} failed after ${attempts} attempts: ${(lastError as Error)?.message ?? lastError}`);
}

async function attemptDownload(url: string, part: string, options: DownloadOptions): Promise<number> {
  const doFetch = options.fetch ?? fetch;
  const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const headers: Record<string, string> = {};
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await doFetch(url, { headers, redirect: "follow", signal: options.signal });
  let resumedFrom = 0;
  let total: number | undefined;
  if (res.status === 206 && have > 0) {
    const range = /bytes (\d+)-\d+\/(\d+|\*)/.exec(res.headers.get("content-range") ?? "");
    if (!range || Number(range[1]) !== have) {
      await res.body?.cancel();
      fs.rmSync(part, { force: true });
      throw new Error(`server resumed at the wrong offset (${res.headers.get("content-range")})`);
    }
    resumedFrom = have;
    total = range[2] === "*" ? undefined : Number(range[2]);
  } else if (res.status === 416 && have > 0) {
    // Nothing left to fetch when the part is already the whole file.
    const whole = /bytes \*\/(\d+)/.exec(res.headers.get("content-range") ?? "");
    await res.body?.cancel();
    if (whole && Number(whole[1]) === have) return have;
    fs.rmSync(part, { force: true });
    throw new Error("stale partial download discarded");
  } else if (res.ok) {
    const length = res.headers.get("content-length");
    total = length !== null ? Number(length) : undefined;
  } else {
    await res.body?.cancel();
    throw new DownloadError(`GET ${url}: HTTP ${res.status} ${res.statusText}`, res.status);
  }
  if (!res.body) throw new DownloadError(`GET ${url}: empty response`);
  let received = resumedFrom;
  const report = () => options.onProgress?.({ file: url, received, total, resumedFrom });
  report();
  // Each chunk is on disk before the next is read, so when the body breaks off, the part
  // holds every byte received and the resume asks for exactly the rest. (A stream pipeline
  // dropped the bytes still buffered for a write stream that was not open yet.)
  const reader = res.body.getReader();
  const file = await fs.promises.open(part, resumedFrom > 0 ? "a" : "w");
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      await file.write(next.value);
      received += next.value.length;
      report();
    }
  } catch (err) {
    void reader.cancel().catch(() => {}); // e.g. the disk is full: stop the transfer too
    throw err;
  } finally {
    await file.close();
  }
  if (total !== undefined && received !== total) throw new Error(`body ended at ${received} of ${total} bytes`);
  return received;
}

/** A one-line progress bar on a TTY (a line per 10% otherwise). */
export function progressBar(stream: CommandOutput = process.stderr): (p: DownloadProgress) => void {
  let lastTenth = -1;
  let lastDraw = 0;
  return (p) => {
    const name = p.file.split("/").pop()?.split("?")[0] ?? p.file;
    const mb = (n: number) => (n / 1048576).toFixed(1);
    const fraction = p.total ? p.received / p.total : undefined;
    if (stream.isTTY) {
      const now = Date.now();
      if (now - lastDraw < 100 && p.received !== p.total) return;
      lastDraw = now;
      const width = 30;
      const filled = fraction === undefined ? 0 : Math.round(fraction * width);
      const bar = fraction === undefined ? "" : `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
      stream.write(`\r${name} ${bar}${mb(p.received)}${p.total ? `/${mb(p.total)}` : ""} MB${p.resumedFrom ? " (resumed)" : ""}`);
      if (p.total !== undefined && p.received >= p.total) stream.write("\n");
    } else if (fraction !== undefined) {
      const tenth = Math.floor(fraction * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        stream.write(`${name}: ${tenth * 10}% (${mb(p.received)}/${mb(p.total!)} MB)${p.resumedFrom ? " resumed" : ""}\n`);
      }
    }
  };
}
