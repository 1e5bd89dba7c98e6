/**
 * Server-sent events over fetch (EventSource cannot send the API key): a parser for the
 * text/event-stream format and a connection that reconnects after the server's `retry`
 * delay when the stream ends. Nothing here polls: the server pushes.
 */

/** Incremental text/event-stream parser: feed it text, get `{event, data, id}` messages. */
export class SseParser {
  #buffer = "";
  #event = "";
  #data = [];
  #id = undefined;
  retry = undefined;

  push(text) {
    this.#buffer += text;
    const out = [];
    let nl;
    while ((nl = this.#buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + (this.#buffer.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (this.#data.length) out.push({ event: this.#event || "message", data: this.#data.join("\n"), id: this.#id });
        this.#event = "";
        this.#data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") this.#event = value;
      else if (field === "data") this.#data.push(value);
      else if (field === "id") this.#id = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
    }
    return out;
  }
}

/**
 * Keeps a stream open: `onMessage({event, data})` per message, `onState("open"|"closed"|
 * "unauthorized", detail)` on changes. `request()` returns a fetch Response (it adds the key).
 * Returns `close()`.
 */
export function openStream(request, { onMessage, onState }) {
  const controller = new AbortController();
  let retry = 2000;
  let timer;
  const run = async () => {
    try {
      const res = await request(controller.signal);
      if (res.status === 401) {
        onState("unauthorized");
        return; // reconnected by the caller once a key is entered
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState("open");
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const message of parser.push(value)) onMessage(message);
        retry = parser.retry ?? retry;
      }
      onState("closed", "the server ended the stream");
    } catch (err) {
      if (controller.signal.aborted) return;
      onState("closed", err instanceof Error ? err.message : String(err));
    }
    if (!controller.signal.aborted) timer = setTimeout(run, retry);
  };
  void run();
  return () => {
    clearTimeout(timer);
    controller.abort();
  };
}
