/**
 * The fine-tune page's run panel in a real browser against `chorus serve` with a simulated
 * 24 GB card: plan a dataset, start the run with that plan, follow it over server-sent events
 * (loss and memory curves as inline SVG), stop it and resume it to the end. The trainer is the
 * STAND-IN (tests/finetune/standin/trainer.py: no torch, the real worker protocol); it holds
 * after step 2 so the page can stop the job while it runs. Not verified here: a real XTTS run.
 */
import fs from "node:fs";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";
import { makeBaseModel, makeDataset, STANDIN, standinEnv } from "../finetune/runner-helpers.ts";
import { launchBrowser, overflowX, startWebServer, watchConsole, type ConsoleProblem } from "./browser.ts";

let server: RunningServer;
let context: BrowserContext;
let page: Page;
const problems: ConsoleProblem[] = [];
const root = tempDir("web-ft-run");
const dataset = makeDataset(path.join(root, "datasets", "ds"));
makeBaseModel(path.join(root, "models", "base"));

beforeAll(async () => {
  [server, context] = await Promise.all([
    startWebServer({
      CHORUS_SCHEDULER__DEVICES__SIMULATED: JSON.stringify([{ name: "Big card", totalMb: 24564, heldByOthersMb: 500 }]),
      CHORUS_FINETUNE__DATASET_DIRS: JSON.stringify([path.join(root, "datasets")]),
      CHORUS_FINETUNE__RUNNER__MODEL_DIRS: JSON.stringify([path.join(root, "models")]),
      CHORUS_FINETUNE__RUNNER__PYTHON: "python3",
      CHORUS_FINETUNE__RUNNER__WORKER: STANDIN,
      CHORUS_FINETUNE__RUNNER__ENV: JSON.stringify(standinEnv({ totalMb: 24564, fixedMb: 9000, perSampleSecond: 100, holdAfterStep: 2 })),
      CHORUS_FINETUNE__RUNNER__SAVE_EVERY_STEPS: "2",
    }),
    launchBrowser(),
  ]);
  page = await context.newPage();
  watchConsole(page, problems);
}, 120_000);
afterAll(async () => {
  await context?.close();
  await server?.stop();
});

const status = () => page.locator("#ft-job-status").textContent();

describe("fine-tune run panel", () => {
  it("marks the field a refused start names and moves the focus there (only the message said it)", async () => {
    await page.goto(`${server.url}/#finetune`);
    await page.locator(`#ft-dataset option[value="${dataset}"]`).waitFor({ state: "attached" });
    await page.selectOption("#ft-dataset", dataset);
    await page.click("#ft-plan");
    await page.locator("#ft-plan-out").waitFor({ timeout: 60_000 });
    await page.fill("#ft-base", "no-such-model");
    await page.click("#ft-start");
    await page.waitForFunction(() => document.querySelector("#ft-run-error")!.textContent !== "");
    expect(await page.locator("#ft-run-error").textContent()).toContain("(field: baseModel)");
    expect(await page.locator("#ft-base").getAttribute("aria-invalid")).toBe("true");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("ft-base");
    expect(await page.locator("#ft-job").isHidden()).toBe(true);
  });

  it("starts a run with the plan shown and follows it: status, progress and curves", async () => {
    await page.goto(`${server.url}/#finetune`);
    await page.locator(`#ft-dataset option[value="${dataset}"]`).waitFor({ state: "attached" });
    await page.selectOption("#ft-dataset", dataset);
    await page.click("#ft-plan");
    await page.locator("#ft-plan-out").waitFor({ timeout: 60_000 });
    expect(await page.locator("#ft-run-plan").textContent()).toMatch(/^Plan: batch \d+ × \d+ steps/);
    await page.fill("#ft-base", "base");
    await page.fill("#ft-out", "voice");
    await page.fill("#ft-epochs", "1");
    await page.click("#ft-start");
    await page
      .locator("#ft-job-status")
      .filter({ hasText: /: paused · epoch \d+\/1, step 2\// })
      .waitFor({ timeout: 60_000 });
    expect(await page.locator("#ft-run-error").textContent()).toBe("");
    expect(await page.locator("#ft-loss polyline[data-series='training loss']").count()).toBe(1);
    const points = await page.locator("#ft-loss polyline[data-series='training loss']").getAttribute("points");
    expect(points!.trim().split(" ")).toHaveLength(2);
    expect(await page.locator("#ft-memory polyline[data-series='peak allocated']").count()).toBe(1);
    expect(await page.locator("#ft-memory .limit").count()).toBe(1); // the card's total
    expect(await page.locator("#ft-loss svg").getAttribute("aria-label")).toMatch(/training loss: 2 points, last [\d.]+ at step 2/);
    expect(await page.locator("#ft-job-progress").getAttribute("value")).toBe("2");
    expect(await page.locator("#ft-pause").textContent()).toBe("Continue"); // the trainer holds: it can be continued
    expect(await page.locator("#ft-pause").isDisabled()).toBe(false);
  });

  it("stops the run (a checkpoint kept) and resumes it to the end", async () => {
    await page.click("#ft-stop");
    await page.locator("#ft-job-status").filter({ hasText: ": stopped ·" }).waitFor({ timeout: 60_000 });
    expect(await status()).toMatch(/checkpoint at step 2\b/);
    expect(await page.locator("#ft-resume").isDisabled()).toBe(false);
    await page.locator("#ft-resume").focus();
    await page.keyboard.press("Enter");
    await page.locator("#ft-job-status").filter({ hasText: ": finished ·" }).waitFor({ timeout: 60_000 });
    expect(await status()).toMatch(/epoch 1\/1, step 5\/5, .*resumed from step 2\b/);
    expect(await page.locator("#ft-run-error").textContent()).toBe("");
    const points = (await page.locator("#ft-loss polyline[data-series='training loss']").getAttribute("points"))!.trim().split(" ");
    expect(points.length).toBeGreaterThan(2);
    expect(fs.existsSync(path.join(root, "models", "voice"))).toBe(true);
    expect(await page.locator("#ft-stop").isDisabled()).toBe(true);
    expect(await page.locator("#ft-pause").isDisabled()).toBe(true);
  });

  it("continues a held run from the keyboard, and the job list offers both jobs", async () => {
    await page.fill("#ft-out", "voice2");
    await page.click("#ft-start");
    await page
      .locator("#ft-job-status")
      .filter({ hasText: /: paused · .*step 2\// })
      .waitFor({ timeout: 60_000 });
    const id = /^Job (\S+):/.exec((await status())!)![1]!;
    await page.locator("#ft-pause").focus();
    await page.keyboard.press("Enter");
    await page
      .locator("#ft-job-status")
      .filter({ hasText: `Job ${id}: finished ·` })
      .waitFor({ timeout: 60_000 });
    expect(fs.existsSync(path.join(root, "models", "voice2"))).toBe(true);
    await page.locator(`#ft-jobs option[value="${id}"]`).filter({ hasText: "finished" }).waitFor({ state: "attached" });
    expect(await page.locator("#ft-jobs option").count()).toBe(2);
    // follow the first job again: its whole curve comes from the job's log
    const first = await page
      .locator("#ft-jobs option")
      .evaluateAll((els, current) => (els as HTMLOptionElement[]).map((o) => o.value).find((v) => v !== current), id);
    await page.selectOption("#ft-jobs", first!);
    await page.click("#ft-follow");
    await page
      .locator("#ft-job-status")
      .filter({ hasText: `Job ${first}: finished ·` })
      .waitFor({ timeout: 60_000 });
    const points = (await page.locator("#ft-loss polyline[data-series='training loss']").getAttribute("points"))!.trim().split(" ");
    expect(points.length).toBeGreaterThanOrEqual(5);
    expect(await page.locator("#ft-run-error").textContent()).toBe("");
  });

  it("fits a 360 px phone and logged no console error", async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await overflowX(page)).toBeLessThanOrEqual(0);
    // Only the refused start of the first test, on purpose.
    const refused = (p: ConsoleProblem) => p.text.startsWith("Failed to load resource") && p.url.endsWith("/api/finetune/jobs");
    expect(problems.filter((p) => !refused(p))).toEqual([]);
    expect(problems.filter(refused)).toHaveLength(1);
  });
});
