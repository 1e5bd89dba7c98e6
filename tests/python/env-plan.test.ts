/** The environment manager's pure parts: version specifiers, the plan, the status record. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { envStatus, makePlan, ManagedPython, pythonFor, NeedsSetupError, type EnvSpec } from "../../core/python/index.ts";
import { formatPlan } from "../../core/python/plan.ts";
import { satisfies } from "../../core/python/specifier.ts";
import { writeRecord, requirementsHash } from "../../core/python/environment.ts";
import { tempDir } from "../helpers/temp.ts";

describe("version specifiers", () => {
  it("evaluates pip's clauses", () => {
    expect(satisfies("3.11.7", ">=3.10,<3.14")).toBe(true);
    expect(satisfies("3.14.0", ">=3.10,<3.14")).toBe(false);
    expect(satisfies("3.11.7", "==3.11.*")).toBe(true);
    expect(satisfies("3.12.1", "==3.11.*")).toBe(false);
    expect(satisfies("3.11.2", "~=3.10")).toBe(true);
    expect(satisfies("4.0", "~=3.10")).toBe(false);
    expect(satisfies("3.12.0", "!=3.12.0")).toBe(false);
    expect(satisfies("3.9.0", "")).toBe(true);
    expect(() => satisfies("3.9.0", "=>3")).toThrow("unsupported version clause '=>3'");
  });
});

describe("environment status and plan", () => {
  const spec = (requirements: string[] | string, baseDir = "/nowhere"): EnvSpec => ({ id: "demo-py", baseDir, python: { version: ">=3.9", requirements } });

  it("is missing, then ready once recorded, then stale when the requirements change", () => {
    const root = tempDir("envs");
    expect(envStatus(spec(["numpy"]), root)).toMatchObject({ state: "missing", reason: "no environment yet" });
    expect(() => pythonFor(spec(["numpy"]), root)).toThrow(NeedsSetupError);
    const dir = path.join(root, "demo-py");
    fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
    fs.writeFileSync(path.join(dir, "bin", "python"), "");
    expect(envStatus(spec(["numpy"]), root)).toMatchObject({ state: "missing", reason: "environment setup did not finish" });
    const now = new Date().toISOString();
    writeRecord(dir, {
      id: "demo-py",
      requirementsHash: requirementsHash(spec(["numpy"])),
      python: { version: "3.11.7", executable: "python3" },
      torch: null,
      requirements: ["numpy"],
      installer: "pip",
      installed: [],
      createdAt: now,
      updatedAt: now,
    });
    expect(envStatus(spec(["numpy"]), root).state).toBe("ready");
    expect(pythonFor(spec(["numpy"]), root)).toBe(path.join(dir, "bin", "python"));
    expect(envStatus(spec(["numpy", "scipy"]), root)).toMatchObject({ state: "stale", reason: "the plugin's requirements changed since setup" });
  });

  it("hashes a requirements file's content, so editing the file makes the environment stale", () => {
    const plugin = tempDir("plugin");
    fs.writeFileSync(path.join(plugin, "requirements.txt"), "numpy>=1.24  # arrays\n\n");
    const a = requirementsHash(spec("requirements.txt", plugin));
    fs.writeFileSync(path.join(plugin, "requirements.txt"), "numpy>=1.26\n");
    expect(requirementsHash(spec("requirements.txt", plugin))).not.toBe(a);
    expect(() => requirementsHash(spec("../outside.txt", plugin))).toThrow("outside the plugin folder");
  });

  it("prints a plan (--dry-run) without the credentials an index URL carries", () => {
    const root = tempDir("envs");
    const withTorch: EnvSpec = {
      ...spec(["numpy"]),
      python: { version: ">=3.9", requirements: ["numpy"], torch: { build: "cpu", cuda: "cu128", version: ">=2.1", packages: ["torch"] } },
    };
    const plan = makePlan(withTorch, { root, installer: "pip", torchIndexUrl: "https://user:s3cret@mirror.example/whl" });
    const text = formatPlan(plan);
    expect(text).toContain("https://mirror.example/whl");
    expect(text).not.toContain("s3cret");
  });

  it("plans a bare environment (no pip) for a plugin with no requirements", () => {
    const root = tempDir("envs");
    const plan = makePlan(spec([]), { root, installer: "pip", torchIndexUrl: "https://download.pytorch.org/whl" });
    expect(plan.action).toBe("create");
    expect(plan.steps).toHaveLength(1);
    expect(plan.steps[0]!.argv).toEqual([plan.interpreter.executable, "-m", "venv", "--without-pip", path.join(root, "demo-py")]);
  });

  it("plans a bare environment with no pip step for a requirements file of comments only (the Python template's)", () => {
    const root = tempDir("envs");
    const plugin = tempDir("plugin");
    fs.copyFileSync(path.join(import.meta.dirname, "../../examples/plugin-template-python/requirements.txt"), path.join(plugin, "requirements.txt"));
    const plan = makePlan(spec("requirements.txt", plugin), { root, installer: "pip", torchIndexUrl: "" });
    expect(plan.bare).toBe(true);
    expect(plan.steps.map((s) => s.argv)).toEqual([[plan.interpreter.executable, "-m", "venv", "--without-pip", path.join(root, "demo-py")]]);
    fs.appendFileSync(path.join(plugin, "requirements.txt"), "numpy>=1.24\n");
    const withNumpy = makePlan(spec("requirements.txt", plugin), { root, installer: "pip", torchIndexUrl: "" });
    expect(withNumpy.steps.map((s) => s.argv?.slice(-2))).toEqual([
      ["venv", path.join(root, "demo-py")],
      ["-r", path.join(plugin, "requirements.txt")],
    ]);
  });

  it("plans uv's commands when the installer is uv, and refuses a --python that does not run or fit", () => {
    const root = tempDir("envs");
    const plan = makePlan(spec(["numpy>=1.24"]), { root, installer: "uv", torchIndexUrl: "" });
    const dir = path.join(root, "demo-py");
    expect(plan.steps.map((s) => s.argv)).toEqual([
      ["uv", "venv", "--python", plan.interpreter.executable, dir],
      ["uv", "pip", "install", "--python", path.join(dir, "bin", "python"), "numpy>=1.24"],
    ]);
    expect(() => makePlan(spec([]), { root, installer: "pip", torchIndexUrl: "", python: "/nonexistent/python3" })).toThrow(
      "Python '/nonexistent/python3' does not run",
    );
    expect(() =>
      makePlan({ ...spec([]), python: { version: ">=9.0", requirements: [] } }, { root, installer: "pip", torchIndexUrl: "", python: "python3" }),
    ).toThrow(/does not satisfy the plugin's '>=9.0'/);
    expect(() => makePlan({ ...spec([]), python: { version: ">=9.0", requirements: [] } }, { root, installer: "pip", torchIndexUrl: "" })).toThrow(
      /no Python satisfying '>=9.0': found 3\./,
    );
  });

  it("ManagedPython gives a tool the Python of its own environment, built on first use", async () => {
    const root = tempDir("tool-envs");
    const managed = new ManagedPython({ dataDir: "var", python: { installer: "pip", torchIndexUrl: "", envsDir: root } });
    const progress: string[] = [];
    const python = await managed.pythonFor({ name: "tool-demo", requirements: [], imports: ["json", "sqlite3"] }, { onProgress: (l) => progress.push(l) });
    expect(python).toBe(path.join(root, "tool-demo", "bin", "python"));
    expect(progress[0]).toContain("[1/1] create a virtual environment");
    expect(await managed.pythonFor({ name: "tool-demo", requirements: [], imports: ["json"] })).toBe(python);
    await expect(managed.pythonFor({ name: "tool-demo", requirements: [], imports: ["faster_whisper"] })).rejects.toThrow("cannot import faster_whisper");
  });
});
