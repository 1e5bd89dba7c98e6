/**
 * The studio as a keyboard user and a careful listener meet it, in a real browser against a
 * real `chorus serve` (tests/web/browser.ts): Speak by keyboard keeps the focus on a control
 * (it fell to the page when the button was disabled while speaking), a text with nothing to
 * speak gets the server's refusal next to the field (Speak did nothing), narrator settings
 * that leave nothing to speak clear the old clip like any refusal, a compressed clip's
 * length in the history (it said 0.0 s for every MP3, Opus, AAC and FLAC clip), and why
 * streamed audio broke off when the engine failed part-way (it said "network error"), and
 * that the server is gone when it is (it said "Failed to fetch"); an engine without voices
 * says so (it said "no voice matches").
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../helpers/process.ts";
import { launchBrowser, startWebServer, watchConsole, type ConsoleProblem } from "./browser.ts";

let server: RunningServer;
let context: BrowserContext;
let page: Page;
const problems: ConsoleProblem[] = [];

beforeAll(async () => {
  [server, context] = await Promise.all([startWebServer(), launchBrowser()]);
  page = await context.newPage();
  watchConsole(page, problems);
  await page.goto(server.url);
  await page.locator('#voice[data-engine="espeak"]').waitFor({ state: "attached" });
});
afterAll(async () => {
  await context?.close();
  await server?.stop();
});

const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
const newestClip = () => page.locator("#history li .hint").first().textContent();

/** Speaks with the current settings and waits for the new clip in the history. */
async function speakClip(): Promise<string> {
  const before = await page.locator("#history li").count();
  await page.click("#speak-button");
  await page.waitForFunction((n) => document.querySelectorAll("#history li").length > n || document.querySelector("#speak-error")!.textContent !== "", before);
  expect(await page.locator("#speak-error").textContent()).toBe("");
  return (await newestClip())!;
}

describe("studio by keyboard", () => {
  it("moves the focus from Speak to Stop while speaking and back to Speak after (it fell to the page)", async () => {
    await page.selectOption("#engine", "web-tone-a"); // 250 ms per sentence: time to look
    await page.locator('#voice[data-engine="web-tone-a"]').waitFor({ state: "attached", timeout: 30_000 });
    await page.fill("#text", "One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten. Eleven. Twelve.");
    await page.focus("#speak-button");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => (document.querySelector("#speak-info") as HTMLElement).dataset.firstAudioMs !== undefined);
    expect(await focused()).toBe("stop-button");
    await page.keyboard.press("Enter"); // stops it
    await expect.poll(() => page.locator("#speak-info").textContent()).toBe("stopped");
    expect(await focused()).toBe("speak-button");
    await page.fill("#text", "One. Two.");
    await page.focus("#speak-button");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => (document.querySelector("#speak-info") as HTMLElement).dataset.doneMs !== undefined);
    expect(await focused()).toBe("speak-button");
  });

  it("shows the server's refusal of a text with nothing to speak, on the text field (Speak did nothing)", async () => {
    await page.fill("#text", "   \n  ");
    expect(await page.locator("#speak-button").isEnabled()).toBe(true);
    await page.focus("#speak-button");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#speak-error")!.textContent !== "");
    expect(await page.locator("#speak-error").textContent()).toContain("CHORUS_ERR_TEXT_EMPTY");
    expect(await page.locator("#text").getAttribute("aria-invalid")).toBe("true");
    expect(await focused()).toBe("text");
  });

  it("clears the old clip when narrator settings leave nothing to speak (it stayed, with its line)", async () => {
    await page.fill("#text", "Plain text, read by the character.");
    await speakClip();
    expect(await page.locator("#audio").getAttribute("src")).toMatch(/^blob:/);
    await page.check("#narrator");
    await page.selectOption("#not-inside", "silent");
    await page.click("#speak-button");
    await page.waitForFunction(() => document.querySelector("#speak-error")!.textContent !== "");
    expect(await page.locator("#speak-error").textContent()).toContain("every part is silent");
    expect(await page.locator("#audio").getAttribute("src")).toBeNull();
    expect(await page.locator("#speak-info").textContent()).toBe("");
    expect(await focused()).toBe("text");
    await page.selectOption("#not-inside", "character");
    await page.uncheck("#narrator");
  });

  it("shows a compressed clip's length in the history, as the WAV's (it said 0.0 s)", async () => {
    await page.selectOption("#engine", "espeak");
    await page.locator('#voice[data-engine="espeak"]').waitFor({ state: "attached" });
    await page.fill("#text", "A sentence long enough to last a couple of seconds, in every format.");
    await page.selectOption("#format", "wav");
    const seconds = (hint: string) => Number(/ · (\d+\.\d) s · /.exec(hint)?.[1] ?? Number.NaN);
    const wav = seconds(await speakClip());
    expect(wav).toBeGreaterThan(2);
    for (const format of ["mp3", "flac"]) {
      await page.selectOption("#format", format);
      const hint = await speakClip();
      expect(hint, format).toContain(format.toUpperCase());
      // Encoders pad a little (MP3 frames, AAC priming); never zero.
      expect(Math.abs(seconds(hint) - wav), `${format}: ${hint}`).toBeLessThan(0.2);
    }
  });

  it("says an engine has no voices installed (Piper without a model), not that none matches a search", async () => {
    await page.selectOption("#engine", "piper");
    await page.locator('#voice[data-engine="piper"]').waitFor({ state: "attached", timeout: 30_000 });
    expect(await page.locator("#voice-search").inputValue()).toBe("");
    expect(await page.locator("#voice option").allTextContents()).toEqual(["no voices installed for this engine"]);
    expect(await page.locator("#voice-count").textContent()).toBe("0 voices");
  });

  it("says why streamed audio broke off when the engine fails part-way (it said 'network error')", async () => {
    await page.selectOption("#engine", "web-tone-a");
    await page.locator('#voice[data-engine="web-tone-a"]').waitFor({ state: "attached" });
    await page.selectOption("#format", "wav");
    await page.check("#stream");
    await page.fill("#text", "The first sentence plays. The second one #fail breaks.");
    await page.click("#speak-button");
    await page.waitForFunction(() => document.querySelector("#speak-error")!.textContent !== "");
    const message = await page.locator("#speak-error").textContent();
    expect(message).toMatch(/^the audio from web-tone-a broke off after \d+\.\d s: the engine failed part-way/);
    expect(message).toContain("server's log");
    expect(await page.locator("#audio").getAttribute("src")).toBeNull();
  });

  it("logged no console error but the refusal and the cut stream it asked for", () => {
    const unexpected = problems.filter((p) => !(p.text.startsWith("Failed to load resource") && p.url.includes("/api/speech")));
    expect(unexpected).toEqual([]);
    expect(problems.length).toBeLessThanOrEqual(2);
  });

  it("says the server did not answer when it is gone (it said 'Failed to fetch')", async () => {
    await server.stop();
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 30_000 }).not.toBe("live");
    await page.fill("#text", "Anyone there?");
    await page.click("#speak-button");
    await page.waitForFunction(() => document.querySelector("#speak-error")!.textContent !== "");
    expect(await page.locator("#speak-error").textContent()).toMatch(/^the Chorus server did not answer \(.*\): it may have stopped/);
  });
});
