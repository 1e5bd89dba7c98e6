/**
 * The fine-tune page in a real browser against `chorus serve` with a simulated 4 GB card and a
 * dataset folder in finetune.datasetDirs (tone clips with transcripts, one too long for the
 * trainer): the check report with its clip-length histogram and findings, and the plan's memory
 * bar against the card (XTTS v2 does not fit 4 GB, and the page says by how much). Then an
 * AllTalk/coqui dataset of real eSpeak NG clips with one wrong transcript: play the flagged
 * clip (the media element's time advances) and correct its transcript (the finding goes, the
 * CSV is rewritten and a backup kept).
 */
import fs from "node:fs";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wavFile } from "../../core/audio/output/wav.ts";
import type { RunningServer } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";
import { Speaker, sentence, writeCoqui, writeWav } from "../finetune/helpers.ts";
import { launchBrowser, overflowX, startWebServer, watchConsole, type ConsoleProblem } from "./browser.ts";

let server: RunningServer;
let context: BrowserContext;
let page: Page;
const problems: ConsoleProblem[] = [];
const root = tempDir("web-datasets");
const dataset = path.join(root, "narrator");
const voice = path.join(root, "voice");

function tone(seconds: number): Buffer {
  const rate = 22050;
  const samples = Int16Array.from({ length: Math.round(seconds * rate) }, (_, i) =>
    Math.round(5000 * Math.sin((2 * Math.PI * (180 + (i % 5000) / 50) * i) / rate)),
  );
  return wavFile(rate, [samples]);
}

beforeAll(async () => {
  fs.mkdirSync(dataset, { recursive: true });
  const lengths = [3.2, 4.1, 5.5, 6.3, 7.8, 14.5];
  lengths.forEach((s, i) => {
    fs.writeFileSync(path.join(dataset, `clip${i}.wav`), tone(s));
    fs.writeFileSync(path.join(dataset, `clip${i}.txt`), `This is sentence number ${i + 1}, spoken slowly and clearly for the test.`);
  });
  const speaker = new Speaker();
  const clips = [];
  for (const i of [0, 1, 2, 3]) clips.push(await speaker.say(sentence(i)));
  await speaker.close();
  clips.forEach((a, i) => writeWav(path.join(voice, "wavs", `v${i}.wav`), speaker.sampleRate, a));
  writeCoqui(
    voice,
    [{ file: "wavs/v0.wav", text: "Hi." }, ...[1, 2].map((i) => ({ file: `wavs/v${i}.wav`, text: sentence(i) }))],
    [{ file: "wavs/v3.wav", text: sentence(3) }],
  );
  [server, context] = await Promise.all([startWebServer({ CHORUS_FINETUNE__DATASET_DIRS: JSON.stringify([root]) }), launchBrowser()]);
  page = await context.newPage();
  watchConsole(page, problems);
});
afterAll(async () => {
  await context?.close();
  await server?.stop();
});

describe("fine-tune page", () => {
  it("offers the configured dataset folders", async () => {
    await page.goto(`${server.url}/#finetune`);
    await page.locator(`#ft-dataset option[value="${dataset}"]`).waitFor({ state: "attached" });
    expect((await page.locator("#ft-dataset option").evaluateAll((els) => els.map((el) => (el as HTMLOptionElement).value))).sort()).toEqual(
      [root, dataset, voice].sort(),
    );
  });

  it("checks a dataset: histogram of clip lengths and each finding", async () => {
    await page.selectOption("#ft-dataset", dataset);
    await page.click("#ft-check");
    await page.locator("#ft-report").waitFor({ timeout: 60_000 });
    expect(await page.locator("#ft-error").textContent()).toBe("");
    expect(await page.locator("#ft-summary").textContent()).toContain("6 clips");
    const rows = page.locator("#ft-histogram li");
    expect(await rows.count()).toBe(15); // one-second bins up to the 14.5 s clip
    expect(await page.locator('#ft-histogram li[data-from="14"]').getAttribute("class")).toBe("over");
    expect(await page.locator('#ft-histogram li[data-from="14"]').getAttribute("aria-label")).toContain("1 clips (over the trainer's maximum: dropped)");
    expect(await page.locator("#ft-findings").textContent()).toContain("clip5");
  });

  it("plans the run: the predicted peak as a bar against the simulated 4 GB card", async () => {
    await page.click("#ft-plan");
    await page.locator("#ft-plan-out").waitFor({ timeout: 60_000 });
    expect(await page.locator("#ft-error").textContent()).toBe("");
    const summary = await page.locator("#ft-plan-summary").textContent();
    expect(summary).toMatch(/^Does not fit on Test card \(simulated\) \(4\.0 GB\): peak [\d.]+ GB .* against 2\.8 GB free to use/);
    expect(await page.locator("#ft-plan-bar .seg").count()).toBeGreaterThan(3);
    expect(await page.locator("#ft-plan-bar").textContent()).toMatch(/more than the card has/);
  });

  it("plays a flagged clip: the media element's time advances", async () => {
    await page.selectOption("#ft-dataset", voice);
    await page.click("#ft-check");
    const flagged = page.locator('#ft-findings li[data-code="text-audio-mismatch"][data-clip="wavs/v0.wav"]');
    await flagged.waitFor({ timeout: 60_000 });
    await flagged.getByRole("button", { name: "Listen to wavs/v0.wav" }).click();
    await page.waitForFunction(() => {
      const a = document.querySelector('#ft-findings li[data-clip="wavs/v0.wav"] audio') as HTMLAudioElement | null;
      return !!a && !a.hidden && a.currentTime > 0.2;
    });
    expect(await page.locator("#ft-error").textContent()).toBe("");
  });

  it("corrects the transcript in place: the metadata is rewritten, a backup kept, the finding gone", async () => {
    const before = fs.readFileSync(path.join(voice, "metadata_train.csv"), "utf8");
    const li = page.locator('#ft-findings li[data-code="text-audio-mismatch"][data-clip="wavs/v0.wav"]');
    const field = li.getByLabel("Transcript of wavs/v0.wav");
    expect(await field.inputValue()).toBe("Hi.");
    // an invalid text is refused on the page, nothing written
    await field.fill("a | b");
    await field.press("Enter");
    expect(await page.locator("#ft-error").textContent()).toMatch(/'\|'.*field: text/);
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    await field.fill(sentence(0));
    await field.press("Enter"); // keyboard submit
    await page.locator("#ft-saved").filter({ hasText: "Saved the transcript of wavs/v0.wav" }).waitFor({ timeout: 60_000 });
    expect(await page.locator('#ft-findings li[data-clip="wavs/v0.wav"][data-code="text-audio-mismatch"]').count()).toBe(0);
    expect(await page.locator("#ft-saved").textContent()).toMatch(/metadata_train\.csv \(line 2\); the old file is kept as metadata_train\.csv\.bak-/);
    expect(fs.readFileSync(path.join(voice, "metadata_train.csv"), "utf8")).toBe(before.replace("wavs/v0.wav|Hi.|", `wavs/v0.wav|${sentence(0)}|`));
    expect(fs.readdirSync(voice).filter((f) => f.startsWith("metadata_train.csv.bak-"))).toHaveLength(1);
    expect(await page.locator("#ft-error").textContent()).toBe("");
  });

  it("fits a 390 px phone and logged no console error", async () => {
    await page.screenshot({ path: path.resolve("var/web/finetune.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await overflowX(page)).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 360, height: 800 }); // with each finding's player and transcript field
    await page.selectOption("#ft-dataset", dataset);
    await page.click("#ft-check");
    await page.locator('#ft-findings li[data-clip="clip5.wav"] .clip-tools').first().waitFor({ timeout: 60_000 });
    expect(await overflowX(page)).toBeLessThanOrEqual(0);
    expect(problems).toEqual([]);
  });
});
