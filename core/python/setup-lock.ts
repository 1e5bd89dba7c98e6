/**
 * One setup of an environment at a time, across processes: `<envDir>.lock` holds the pid of
 * the process building it. Another `chorus plugin setup`, the server or a test run that wants
 * the same environment waits for it (saying so once) and then uses what it built, instead of
 * running a second `python -m venv` and pip into the same folder (ensurepip then fails).
 * A lock whose process is gone is taken over.
 */
import fs from "node:fs";
import path from "node:path";

const POLL_MS = 250;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs `work` holding the lock of the environment in `dir`. `waitedSince` is when this process
 * began waiting for another's setup (undefined when it did not wait), so that `work` can tell
 * whether that setup finished the environment meanwhile.
 */
export async function withSetupLock<T>(dir: string, say: (line: string) => void, work: (waitedSince: number | undefined) => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  let waitedSince: number | undefined;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder = 0;
    try {
      holder = Number(fs.readFileSync(lock, "utf8")) || 0; // 0: just created, its pid not written yet
    } catch {
      continue; // released meanwhile
    }
    if (holder > 0 && holder !== process.pid && !alive(holder)) {
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (waitedSince === undefined) {
      waitedSince = Date.now();
      say(`waiting for another setup of ${path.basename(dir)} (process ${holder || "?"}, ${lock}) to finish`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await work(waitedSince);
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
