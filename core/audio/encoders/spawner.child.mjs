// The launcher (spawner.ts): a small Node process that starts the host's encoder processes
// (ffmpeg) and hands their stdin and stdout to the host over the IPC channel. A process
// started by the host itself is forked from the host, and the host's event loop waits while
// its page tables are copied: 6-15 ms for a fresh host, 25-47 ms once Piper is loaded, 70-80
// ms at 1 GB (measured, issue 15) — on every request's path. Forked from this process it
// costs the host one message. Plain JavaScript, so it starts without the TypeScript loader.
// In: {op:"spawn", id, cmd, args} | {op:"kill", id}.
// Out: {op:"stdout", id, pid} + handle, {op:"stdin", id} + handle, {op:"exit", id, code,
// signal, stderr} | {op:"error", id, message} (the process could not be started).
import { spawn } from "node:child_process";

const children = new Map();

function start({ id, cmd, args }) {
  let child;
  try {
    child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  } catch (err) {
    process.send({ op: "error", id, message: err instanceof Error ? err.message : String(err) });
    return;
  }
  children.set(id, child);
  let stderr = "";
  let stderrEnded = false;
  let status;
  const report = () => {
    if (!status || !stderrEnded || !children.has(id)) return;
    children.delete(id);
    process.send({ op: "exit", id, ...status, stderr });
  };
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  child.stderr.on("close", () => {
    stderrEnded = true;
    report();
  });
  child.on("error", (err) => {
    if (!children.has(id)) return;
    children.delete(id);
    process.send({ op: "error", id, message: err.message });
  });
  // Node starts reading a child's stdout at once: a process that ends at once (bad arguments)
  // would then have its stdout read to the end and closed here before the handle is sent (a
  // handle is taken from its socket only when its turn in the channel comes). Nothing reads
  // it here: the host does.
  child.stdout._handle?.readStop?.();
  child.on("spawn", () => {
    // One handle per message; the channel keeps their order. Sending closes them here. If one
    // is gone anyway, the message comes without it and the host reads that stream as ended.
    process.send({ op: "stdout", id, pid: child.pid }, child.stdout);
    process.send({ op: "stdin", id }, child.stdin);
  });
  // Not "close": the stdio handed over never close here, so it would never come.
  child.on("exit", (code, signal) => {
    status = { code, signal };
    report();
  });
}

process.on("message", (m) => {
  if (m.op === "spawn") start(m);
  else if (m.op === "kill") children.get(m.id)?.kill("SIGKILL");
});

// The host went away: so do its encoders (their stdin is gone too, but a spare may be idle).
process.on("disconnect", () => {
  for (const child of children.values()) child.kill("SIGKILL");
  process.exit(0);
});
