/** A tiny element builder: server text always goes in as text nodes, never as HTML. */

/**
 * `h("button", {class: "x", onclick: fn, "aria-label": "..."}, "text", child)`.
 * Attributes with `false`/`null`/`undefined` are left out; `on*` functions become listeners.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

/** Announces a message to screen readers through the page's polite live region. */
export function announce(text) {
  const region = $("announcer");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => (region.textContent = text), 30);
}
