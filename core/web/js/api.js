/**
 * Calls to Chorus's API with the API key kept in this browser (localStorage). A 401 asks
 * for the key (the page's key dialog, `setKeyPrompt`) and retries once it is given; errors
 * become `ApiError`s carrying the server's code and field.
 */

const KEY = "chorus.apiKey";

export class ApiError extends Error {
  constructor(status, { code = `HTTP_${status}`, message, field, retryAfter } = {}) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

export function apiKey() {
  try {
    return localStorage.getItem(KEY) ?? "";
  } catch {
    return "";
  }
}

export function setApiKey(value) {
  try {
    if (value) localStorage.setItem(KEY, value);
    else localStorage.removeItem(KEY);
  } catch {
    // storage disabled: the key lasts for this page only
  }
  memoryKey = value;
}

let memoryKey;
let prompt = async () => false;

/** `fn(message) -> Promise<boolean>`: shows the key field; true once a new key was saved. */
export function setKeyPrompt(fn) {
  prompt = fn;
}

export function authHeaders(headers = {}) {
  const key = memoryKey ?? apiKey();
  return key ? { ...headers, Authorization: `Bearer ${key}` } : { ...headers };
}

async function errorOf(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    // not JSON
  }
  const e = body?.error ?? {};
  // OpenAI's shape has `param` and `type`; Chorus' has `field` and `code`.
  return new ApiError(res.status, {
    code: typeof e.code === "string" ? e.code : e.type,
    message: e.message ?? `${res.status} ${res.statusText}`,
    field: e.field ?? e.param ?? (res.status === 401 ? "Authorization" : undefined),
    retryAfter: res.headers.get("Retry-After") ?? undefined,
  });
}

/** fetch, saying what a refused connection means (the browser only says "Failed to fetch"). */
async function reach(path, init) {
  try {
    return await fetch(path, init);
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new Error(`the Chorus server did not answer (${err?.message ?? err}): it may have stopped or be restarting; the page reconnects by itself`);
  }
}

/** fetch with the key; a 401 asks for the key and retries; other non-2xx answers throw. */
export async function api(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await reach(path, { ...init, headers: authHeaders(init.headers) });
    if (res.ok) return res;
    const error = await errorOf(res);
    if (res.status === 401 && attempt < 3 && (await prompt(error.message))) continue;
    throw error;
  }
}

export const json = async (path, init) => (await api(path, init)).json();

export function postJson(path, body, init = {}) {
  return api(path, { ...init, method: "POST", headers: { "content-type": "application/json", ...(init.headers ?? {}) }, body: JSON.stringify(body ?? {}) });
}
