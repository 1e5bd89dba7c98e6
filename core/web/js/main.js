/** Boots the web app: pages (#studio, #dashboard), theme, the API-key dialog, studio, dashboard. */
import { apiKey, json, setApiKey, setKeyPrompt } from "./api.js";
import { connect, initDashboard } from "./dashboard.js";
import { $ } from "./dom.js";
import { initFinetune } from "./finetune.js";
import { fillEngines, initStudio, loadSettings, noteDecision } from "./studio.js";

// ---- pages ----
const PAGES = ["studio", "dashboard", "finetune"];
function showPage() {
  const page = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : "studio";
  for (const p of PAGES) {
    $(p).hidden = p !== page;
    if (p === page) $(`tab-${p}`).setAttribute("aria-current", "page");
    else $(`tab-${p}`).removeAttribute("aria-current");
  }
  document.title = `Chorus · ${{ studio: "Studio", dashboard: "Dashboard", finetune: "Fine-tune" }[page]}`;
  if (page === "finetune") void initFinetune();
}
window.addEventListener("hashchange", () => {
  showPage();
  $("main").focus({ preventScroll: true });
});
showPage();

// ---- theme: system, light, dark (kept in this browser) ----
const THEMES = ["system", "light", "dark"];
function applyTheme(theme) {
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  const button = $("theme");
  button.setAttribute(
    "aria-label",
    theme === "system" ? "Theme: follows the system (switch to light)" : `Theme: ${theme} (switch to ${THEMES[(THEMES.indexOf(theme) + 1) % 3]})`,
  );
  button.title = button.getAttribute("aria-label");
  button.textContent = theme === "light" ? "☀" : theme === "dark" ? "☾" : "◐";
}
let theme = localStorage.getItem("chorus.theme") ?? "system";
applyTheme(THEMES.includes(theme) ? theme : "system");
$("theme").addEventListener("click", () => {
  theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  localStorage.setItem("chorus.theme", theme);
  applyTheme(theme);
});

// ---- API key: asked for on a 401, kept in localStorage ----
const dialog = $("key-dialog");
let pending;
/** Opens the key dialog with `message`; resolves true when a key was saved. */
function askForKey(message) {
  if (pending) return pending;
  const input = $("api-key");
  input.value = apiKey();
  $("api-key-error").textContent = message ? `${message}. Enter the server's API key.` : "";
  input.setAttribute("aria-invalid", message ? "true" : "false");
  $("key-button").classList.toggle("needs-key", Boolean(message));
  pending = new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        pending = undefined;
        const choice = dialog.returnValue;
        if (choice === "save" && input.value.trim()) {
          setApiKey(input.value.trim());
          $("key-button").classList.remove("needs-key");
          if (dashboardStarted) connect(); // the stream had been refused too
          resolve(true);
        } else if (choice === "forget") {
          setApiKey("");
          resolve(false);
        } else resolve(false);
      },
      { once: true },
    );
  });
  dialog.returnValue = "";
  dialog.showModal();
  input.focus();
  return pending;
}
setKeyPrompt(askForKey);
$("key-button").addEventListener("click", () => {
  void askForKey("").then((saved) => {
    if (saved) void loadSettings();
  });
});

// ---- live status ----
function onLive(s, detail) {
  const live = $("live");
  live.className = `live ${s === "open" ? "on" : "off"}`;
  live.textContent = s === "open" ? "live" : s === "unauthorized" ? "needs API key" : "offline";
  live.title = detail ?? "";
}

async function onPlugins() {
  try {
    if (fillEngines(await json("/api/engines"))) $("engine").dispatchEvent(new Event("change"));
  } catch {
    // shown by the studio on its next call
  }
}

// The dashboard's stream starts at once; the studio's first call may wait for an engine to load.
let dashboardStarted = false;
initDashboard({ onLive, onPlugins, askForKey, onDecision: noteDecision });
dashboardStarted = true;
await initStudio({ askForKey });
