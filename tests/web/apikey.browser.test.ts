/**
 * The API key in a real browser, against `chorus serve` with `compat.apiKey` set: the page
 * asks for the key on the first 401 with the focus in the key field, says so when the key
 * is wrong, points at the key field when the dialog is dismissed (the old page's error did
 * not), keeps the key in the browser, and the dashboard's stream sends it too.
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
  [server, context] = await Promise.all([startWebServer({ CHORUS_COMPAT__API_KEY: "right-key" }), launchBrowser()]);
  page = await context.newPage();
  watchConsole(page, problems);
});
afterAll(async () => {
  await context?.close();
  await server?.stop();
});

const dialogOpen = () => page.locator("#key-dialog").evaluate((d) => (d as HTMLDialogElement).open);
const focused = () => page.evaluate(() => document.activeElement?.id);

describe("API key", () => {
  it("is asked for on the first 401, with the focus in the key field", async () => {
    await page.goto(server.url);
    await expect.poll(dialogOpen).toBe(true);
    expect(await focused()).toBe("api-key");
    expect(await page.locator("#api-key-error").textContent()).toContain("API key");
  });

  it("says the key is wrong, in the key field, and asks again", async () => {
    await page.fill("#api-key", "wrong-key");
    await page.click("#key-save");
    await expect.poll(dialogOpen).toBe(true);
    expect(await page.locator("#api-key").getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator("#api-key").getAttribute("aria-describedby")).toBe("api-key-error");
    expect(await page.locator("#api-key-error").textContent()).toContain("missing or wrong API key");
  });

  it("points at the key field when the dialog is dismissed", async () => {
    await page.keyboard.press("Escape");
    await expect.poll(dialogOpen).toBe(false);
    const error = page.locator("#speak-error");
    await expect.poll(() => error.textContent()).toContain("needs an API key");
    expect(await page.locator("#key-button").getAttribute("class")).toContain("needs-key");
    await error.getByRole("button", { name: "Enter the API key" }).click();
    await expect.poll(dialogOpen).toBe(true);
    expect(await focused()).toBe("api-key");
  });

  it("works once the right key is given, and keeps it in the browser", async () => {
    await page.fill("#api-key", "right-key");
    await page.click("#key-save");
    await expect.poll(() => page.locator("#voice").inputValue(), { timeout: 30_000 }).toBe("en-us");
    expect(await page.evaluate(() => localStorage.getItem("chorus.apiKey"))).toBe("right-key");
    await page.goto(`${server.url}/#dashboard`);
    await page.reload();
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 10_000 }).toBe("live");
    expect(await dialogOpen()).toBe(false);
    await page.locator('#plugins tr[data-plugin="espeak"]').waitFor();
  });

  it("logged no console error but the refused requests", () => {
    expect(problems.filter((p) => !/status of 401/.test(p.text))).toEqual([]);
  });
});
