/**
 * Real-browser test helpers: Debian's Chromium (installed by tests/web/install-browser.sh,
 * which `npm test` runs first; CHROMIUM_PATH names another build) driven by playwright-core,
 * headless, without sandbox, GPU, background networking or sync, on a fresh profile per
 * launch; and a real `chorus serve` with a simulated 4 GB card and the web test plugins.
 */
import fs from "node:fs";
import path from "node:path";
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";
import { startServer, type RunningServer } from "../helpers/process.ts";
import { tempDir } from "../helpers/temp.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FIXTURES = path.join(import.meta.dirname, "fixtures", "plugins");

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--autoplay-policy=no-user-gesture-required",
];

export async function launchBrowser(): Promise<BrowserContext> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run 'bash tests/web/install-browser.sh' as root (npm test does), or set CHROMIUM_PATH`);
  }
  return chromium.launchPersistentContext(tempDir("chromium-profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    serviceWorkers: "block",
  });
}

/** `chorus serve` with a simulated 4 GB card (1 GB held by others) and the web test plugins. */
export function startWebServer(env: Record<string, string> = {}): Promise<RunningServer> {
  return startServer({
    CHORUS_DATA_DIR: tempDir("web-server"),
    CHORUS_LOG__LEVEL: "warn",
    CHORUS_ENGINES__DIRS: JSON.stringify(["engines", FIXTURES]),
    CHORUS_SCHEDULER__DEVICES__SIMULATED: JSON.stringify([{ name: "Test card", totalMb: 4096, heldByOthersMb: 1024 }]),
    CHORUS_SCHEDULER__RESERVE_MB: "256",
    CHORUS_SCHEDULER__RESERVE_PERCENT: "0",
    ...env,
  });
}

export interface ConsoleProblem {
  page: string;
  text: string;
  url: string;
}

/** Collects console errors and uncaught exceptions of `page`. */
export function watchConsole(page: Page, into: ConsoleProblem[]): void {
  page.on("console", (m: ConsoleMessage) => {
    if (m.type() === "error") into.push({ page: page.url(), text: m.text(), url: m.location().url });
  });
  page.on("pageerror", (err) => into.push({ page: page.url(), text: `uncaught: ${err.message}`, url: "" }));
}

/** The page's horizontal overflow in CSS pixels (0: nothing sticks out). */
export function overflowX(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth);
}
