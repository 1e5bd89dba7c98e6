/**
 * Python plugins end to end, with real Python processes: the example engine (formant-py,
 * numpy) copied into a plugins folder is `needs setup` in GET /api/engines until
 * `chorus plugin setup` builds its environment (dry run first: the plan, nothing changed);
 * then it speaks through POST /api/speech. A second setup does nothing; a bad requirement
 * fails the setup with a clear message and leaves the host and other engines unaffected;
 * `chorus doctor` explains each problem with its fix.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeWav, expectSpeech } from "../helpers/audio.ts";
import { runChorusAsync } from "../helpers/process.ts";
import { engine, healthy, speak, startServer, tempDir, type TestServer } from "../hotswap/server.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
let server: TestServer;
let pluginsDir: string;
let envsDir: string;
let env: Record<string, string>;

const chorus = (...args: string[]) => runChorusAsync(args, { env });

beforeAll(async () => {
  pluginsDir = tempDir("py-plugins");
  envsDir = tempDir("py-envs");
  fs.cpSync(path.join(ROOT, "examples/plugins/formant-py"), path.join(pluginsDir, "formant-py"), { recursive: true });
  const bad = path.join(pluginsDir, "badreq-py");
  fs.cpSync(path.join(ROOT, "examples/plugins/formant-py"), bad, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(bad, "plugin.json"), "utf8")) as Record<string, unknown>;
  fs.writeFileSync(
    path.join(bad, "plugin.json"),
    JSON.stringify({ ...manifest, id: "badreq-py", python: { requirements: ["chorus-no-such-package-xyz==9.9.9"] } }),
  );
  // A machine without an NVIDIA GPU, wherever the tests run: nvidia-smi fails.
  const bin = tempDir("py-bin");
  fs.writeFileSync(path.join(bin, "nvidia-smi"), "#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n", { mode: 0o755 });
  // PIP_RETRIES=0: where the public index is unreachable (this machine), pip does not back off 5 times per package.
  env = {
    PATH: `${bin}${path.delimiter}${process.env.PATH}`,
    CHORUS_ENGINES__DIRS: JSON.stringify(["engines", pluginsDir]),
    CHORUS_PYTHON__ENVS_DIR: envsDir,
    CHORUS_DATA_DIR: tempDir("py-data"),
    PIP_RETRIES: "0",
  };
  server = await startServer({ pluginDirs: [pluginsDir], env: { CHORUS_PYTHON__ENVS_DIR: envsDir } });
});
afterAll(async () => {
  await server?.stop();
});

const errorOf = (res: { body: Buffer }) => (JSON.parse(res.body.toString()) as { error: { code: string; message: string } }).error;

describe("Python plugin setup", () => {
  it("lists the example as 'needs setup' with the command, and refuses speech with it, before setup", async () => {
    const listed = (await (await fetch(`${server.url}/api/engines`)).json()) as {
      engines: { id: string; state: string; runtime: string; setup?: { command: string; reason: string } }[];
    };
    const formant = listed.engines.find((e) => e.id === "formant-py")!;
    expect(formant).toMatchObject({
      state: "needs setup",
      runtime: "python",
      setup: { command: "chorus plugin setup formant-py", reason: "no environment yet" },
    });
    const res = await speak(server, { engine: "formant-py", text: "hello there" });
    expect(res.status).toBe(503);
    expect(errorOf(res)).toMatchObject({ code: "CHORUS_ERR_ENGINE_UNAVAILABLE" });
    expect(errorOf(res).message).toContain("chorus plugin setup formant-py");
    const cli = await chorus("engines");
    expect(cli.stdout).toMatch(/formant-py .*NEEDS SETUP \(no environment yet\): run chorus plugin setup formant-py/);
  });

  it("prints the exact plan on --dry-run and changes nothing", async () => {
    const res = await chorus("plugin", "setup", "formant-py", "--dry-run");
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/python: +3\.\d+\.\d+ \(/);
    expect(res.stdout).toContain("requirements: numpy>=1.24");
    expect(res.stdout).toContain("torch:        not needed");
    expect(res.stdout).toContain(`-m venv ${path.join(envsDir, "formant-py")}`);
    expect(res.stdout).toContain(
      `${path.join(envsDir, "formant-py", "bin", "python")} -m pip install --progress-bar off -r ${path.join(pluginsDir, "formant-py", "requirements.txt")}`,
    );
    expect(res.stdout).toContain("dry run: nothing was changed");
    expect(fs.existsSync(path.join(envsDir, "formant-py"))).toBe(false);
  });

  it("builds the environment with progress, records it, and the engine then speaks through POST /api/speech", async () => {
    const res = await chorus("plugin", "setup", "formant-py");
    expect(res.status, res.stderr + res.stdout).toBe(0);
    expect(res.stdout).toContain("[1/2] create a virtual environment with Python");
    expect(res.stdout).toContain("[2/2] install the requirements of requirements.txt");
    expect(res.stdout).toMatch(/Successfully installed .*numpy/);
    const record = JSON.parse(fs.readFileSync(path.join(envsDir, "formant-py", "chorus-env.json"), "utf8")) as {
      requirementsHash: string;
      python: { version: string };
      installed: string[];
      torch: unknown;
    };
    expect(record.requirementsHash).toMatch(/^[0-9a-f]{16}$/);
    expect(record.installed.some((l) => /^numpy==/.test(l))).toBe(true);
    expect(record.torch).toBeNull();
    expect((await engine(server, "formant-py"))!.state).toBe("available");

    const text = "Hello from a Python engine, running in its own environment.";
    const wav = await fetch(`${server.url}/api/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ engine: "formant-py", text, format: "wav" }),
    });
    expect(wav.status).toBe(200);
    const decoded = decodeWav(Buffer.from(await wav.arrayBuffer()));
    expect(decoded.sampleRate).toBe(16000);
    expectSpeech(decoded, text.split(" ").length);
  }, 240_000); // a real venv + pip install of numpy: ~25 s on a quiet 2-core machine, past 60 s under load

  it("does nothing on a second run when nothing changed", async () => {
    const before = fs.readFileSync(path.join(envsDir, "formant-py", "chorus-env.json"), "utf8");
    const res = await chorus("plugin", "setup", "formant-py");
    expect(res.status).toBe(0);
    expect(res.stdout).toContain("up to date, nothing to do");
    expect(res.stdout).not.toContain("[1/");
    expect(fs.readFileSync(path.join(envsDir, "formant-py", "chorus-env.json"), "utf8")).toBe(before);
  });

  it("fails a bad requirement with a clear error; the plugin stays 'needs setup' and the host is unaffected", async () => {
    const res = await chorus("plugin", "setup", "badreq-py");
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("setup of badreq-py failed: step 2/2 failed (install 1 requirement(s)");
    expect(res.stderr).toContain("chorus-no-such-package-xyz");
    expect(res.stderr).toContain("the plugin stays 'needs setup'");
    expect((await engine(server, "badreq-py"))!.state).toBe("needs setup");
    expect(await healthy(server)).toBe(true);
    expect((await speak(server, { engine: "formant-py", text: "still speaking" })).status).toBe(200);
  });

  it("chorus doctor reports each environment, and the fix for the broken one", async () => {
    const res = await chorus("doctor");
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/^ok {3}Python: 3\./m);
    expect(res.stdout).toMatch(/^ok {3}formant-py: environment: /m);
    expect(res.stdout).toMatch(/^ok {3}formant-py: engine code imports/m);
    expect(res.stdout).toMatch(/^FAIL badreq-py: environment: missing: environment setup did not finish\n {5}fix: chorus plugin setup badreq-py$/m);
  });
});

describe("setup plans for torch engines", () => {
  it("prints the XTTS engine's plan: Python, torch build, coqui-tts range", async () => {
    const res = await chorus("plugin", "setup", "xtts", "--dry-run");
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^ {2}python: +3\.1[0-3]\.\d+ /m); // the manifest asks for >=3.10,<3.14
    expect(res.stdout).toContain("torch:        torch>=2.1,<2.9 torchaudio>=2.1,<2.9, cpu build (auto: no NVIDIA GPU found (nvidia-smi))");
    expect(res.stdout).toContain("requirements: coqui-tts[languages]>=0.27,<0.28");
    expect(res.stdout).toContain(
      "optional:     deepspeed (not installed by setup; profile gpu-deepspeed is offered only where it imports, checked after setup)",
    );
    expect(res.stdout).toContain("dry run: nothing was changed");
  });

  it("plans the CUDA or CPU build of torch from the manifest and --torch", async () => {
    const dir = path.join(pluginsDir, "torchy-py");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "engine.py"), "def create(context):\n    raise RuntimeError('never booted here')\n");
    fs.writeFileSync(
      path.join(dir, "plugin.json"),
      JSON.stringify({
        id: "torchy-py",
        name: "Torchy",
        version: "0.1.0",
        runtime: "python",
        entry: "engine.py",
        python: {
          version: ">=3.10,<3.14",
          requirements: ["coqui-tts[languages]>=0.27,<0.28"],
          torch: { build: "auto", cuda: "cu128", version: ">=2.1,<2.9", packages: ["torch", "torchaudio"] },
        },
      }),
    );
    const cuda = await chorus("plugin", "setup", "torchy-py", "--dry-run", "--torch", "cuda");
    expect(cuda.status, cuda.stderr).toBe(0);
    expect(cuda.stdout).toContain("torch:        torch>=2.1,<2.9 torchaudio>=2.1,<2.9, cu128 build (--torch cuda) from https://download.pytorch.org/whl/cu128");
    expect(cuda.stdout).toContain("'torch>=2.1,<2.9' 'torchaudio>=2.1,<2.9' --index-url https://download.pytorch.org/whl/cu128");
    expect(cuda.stdout).toContain("'coqui-tts[languages]>=0.27,<0.28'");
    const auto = await chorus("plugin", "setup", "torchy-py", "--dry-run", "--torch", "auto");
    // nvidia-smi fails (see beforeAll): auto picks the CPU build.
    expect(auto.stdout).toContain("cpu build (auto: no NVIDIA GPU found (nvidia-smi)) from https://download.pytorch.org/whl/cpu");
    const bad = await chorus("plugin", "setup", "torchy-py", "--torch", "rocm");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--torch must be cpu, cuda or auto (got 'rocm')");
    fs.rmSync(dir, { recursive: true });
  });
});
