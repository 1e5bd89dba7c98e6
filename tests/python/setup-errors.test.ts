/**
 * How `chorus plugin setup` fails and reports progress, as a user meets it. A step silent for
 * a while (pip shows no progress while it downloads torch's CUDA wheel and its NVIDIA libraries, gigabytes) is said to be
 * still working, with its last line. A Python outside the plugin's range:
 * one line naming the version and the range, nothing created (it was a stack trace). The
 * package index out of reach (offline, a firewall, a dead
 * mirror): real pip, pointed at a port nothing listens on. pip's own last words are "No
 * matching distribution found", which reads like a version problem; the setup error first says
 * the index could not be reached, which one, and how to use a mirror, then what pip said.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import { failureReason, makePlan, runSetup } from "../../core/python/index.ts";
import { freePort, runChorusAsync } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

const PIP_ENV = ["PIP_CONFIG_FILE", "PIP_FIND_LINKS", "PIP_RETRIES", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_DEFAULT_TIMEOUT"] as const;
const saved: Partial<Record<(typeof PIP_ENV)[number], string>> = {};

beforeAll(() => {
  for (const name of PIP_ENV) saved[name] = process.env[name];
  // No pip configuration, wheel folder or extra index of this machine: only the unreachable index.
  Object.assign(process.env, { PIP_CONFIG_FILE: "/dev/null", PIP_FIND_LINKS: "", PIP_EXTRA_INDEX_URL: "", PIP_RETRIES: "0", PIP_DEFAULT_TIMEOUT: "5" });
});
afterAll(() => {
  for (const name of PIP_ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe("Python environment setup without a reachable package index", () => {
  it("says the torch index could not be reached, names it and the settings for a mirror", { timeout: 180_000 }, async () => {
    const root = tempDir("py-offline");
    const port = await freePort();
    const indexUrl = `http://127.0.0.1:${port}/whl`;
    const plan = makePlan(
      {
        id: "offline-probe",
        baseDir: root,
        python: { version: ">=3.9", requirements: ["numpy"], torch: { build: "cpu", cuda: "cu128", version: ">=2.1", packages: ["torch"] } },
      },
      { root, installer: "pip", torchIndexUrl: indexUrl },
    );
    const progress: string[] = [];
    const failure = await runSetup(plan, (line) => progress.push(line)).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failure, progress.join("\n")).toBeInstanceOf(Error);
    expect(failure!.message).toContain("step 2/3 failed (install torch (cpu build; the plugin asks for cpu), exit code 1)");
    expect(failure!.message).toContain(`the package index ${indexUrl}/cpu could not be reached (ECONNREFUSED)`);
    expect(failure!.message).toContain("python.torchIndexUrl");
    expect(failure!.message).toContain("(pip: ERROR: Could not find a version that satisfies the requirement torch>=2.1 (from versions: none)");
    // Progress was shown while it ran: the step, then pip's own lines.
    expect(progress).toContain("[2/3] install torch (cpu build; the plugin asks for cpu)");
    expect(path.basename(plan.dir)).toBe("offline-probe");
  });

  it("refuses a Python outside the plugin's range in one line, creating nothing", async () => {
    const dir = tempDir("py-old");
    const python = path.join(dir, "python3.9");
    // An interpreter that answers the version probe as Python 3.9 would.
    fs.writeFileSync(python, `#!/bin/sh\necho '{"version": "3.9.18", "executable": "${python}"}'\n`, { mode: 0o755 });
    const envs = path.join(dir, "envs");
    const res = await runChorusAsync(["plugin", "setup", "xtts", "--python", python], { env: { CHORUS_PYTHON__ENVS_DIR: envs } });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe(
      `chorus: cannot set up xtts: Python 3.9.18 at ${python} does not satisfy the plugin's '>=3.10,<3.14'\nnothing was changed; the plugin stays 'needs setup'\n`,
    );
    expect(fs.existsSync(envs)).toBe(false);
  });

  it("says a step that prints nothing for a while is still working, with its last line (pip shows no download progress)", async () => {
    const root = tempDir("py-quiet");
    const release = path.join(root, "release");
    const plan = makePlan({ id: "quiet-probe", baseDir: root, python: { version: ">=3.9", requirements: [] } }, { root, installer: "pip", torchIndexUrl: "" });
    fs.mkdirSync(plan.dir, { recursive: true });
    // A step like pip downloading torch: one line, then silence until the test lets it finish.
    const script =
      'import os, sys, time\nprint("Downloading torch-2.8.0+cu128-cp311-cp311-manylinux_2_28_x86_64.whl (888.1 MB)", flush=True)\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.02)';
    const quiet = { ...plan, steps: [{ what: "a quiet download", argv: ["python3", "-c", script, release] }] };
    const lines: string[] = [];
    await runSetup(
      quiet,
      (line) => {
        lines.push(line);
        if (/still working .*; last: Downloading/.test(line)) fs.writeFileSync(release, "");
      },
      200,
    );
    expect(lines[0]).toBe("[1/1] a quiet download");
    const after = lines.slice(lines.findIndex((l) => l.includes("Downloading torch")));
    expect(after.find((l) => l.includes("still working"))).toMatch(
      /^ {4}\(still working after \d+ s; last: Downloading torch-2\.8\.0\+cu128-cp311-cp311-manylinux_2_28_x86_64\.whl \(888\.1 MB\)\)$/,
    );
  });

  it("reads pip's connection warnings (default retries), and keeps pip's own error lines for any other failure", async () => {
    // Lines pip 23 printed here with PIP_RETRIES=1 and nothing listening on the index's port.
    const offline = [
      "Looking in indexes: http://127.0.0.1:9/whl/cpu",
      "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused')': /whl/cpu/torch/",
      "ERROR: Could not find a version that satisfies the requirement torch (from versions: none)",
      "ERROR: No matching distribution found for torch",
    ];
    expect(await failureReason(offline)).toMatch(/^the package index http:\/\/127\.0\.0\.1:9\/whl\/cpu could not be reached \(Connection refused\)/);
    const tail = [
      "Collecting chorus-no-such-package==9",
      "ERROR: Could not find a version that satisfies the requirement chorus-no-such-package==9 (from versions: 1.0)",
      "ERROR: No matching distribution found for chorus-no-such-package==9",
    ];
    expect(await failureReason(tail)).toBe(`${tail[1]} | ${tail[2]}`);
  });
});
