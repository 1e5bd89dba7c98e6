/**
 * The clips made on this visit: replay, download, and who served each (engine, profile,
 * voice, fallback). Kept in memory only; the oldest of more than `MAX` are dropped and
 * their object URLs released.
 */
import { h, $ } from "./dom.js";

const MAX = 30;
const clips = [];

/** `clip`: {url, fileName, text, engine, profile, voice, fallback, seconds, format, at} */
export function addClip(clip, { play }) {
  clips.unshift(clip);
  for (const old of clips.splice(MAX)) URL.revokeObjectURL(old.url);
  render(play);
}

function render(play) {
  const list = $("history");
  $("history-empty").hidden = clips.length > 0;
  list.replaceChildren(
    ...clips.map((c, i) => {
      const label = `clip ${clips.length - i}`;
      return h(
        "li",
        { dataset: { engine: c.engine } },
        h("span", { class: "clip-text", title: c.text }, c.text.length > 90 ? `${c.text.slice(0, 89)}…` : c.text),
        h(
          "span",
          { class: "hint" },
          [c.engine, c.profile, c.voice, c.seconds > 0 ? `${c.seconds.toFixed(1)} s` : "", c.format.toUpperCase()].filter(Boolean).join(" · "),
        ),
        c.fallback ? h("span", { class: "badge fallback", title: c.fallback }, "fallback") : null,
        h("button", { type: "button", onclick: () => play(c), "aria-label": `Play ${label}` }, "Play"),
        h("a", { class: "button", href: c.url, download: c.fileName, "aria-label": `Download ${label}` }, "Download"),
      );
    }),
  );
}
