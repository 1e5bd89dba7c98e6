/**
 * Streaming playback: PCM chunks are played through Web Audio as they arrive, one after the
 * other without gaps, so speech starts with the first sentence while the rest is made.
 * The finished clip then goes to the page's <audio> element for replay and download.
 */
import { toFloat32 } from "./pcm.js";

export class StreamPlayer {
  #ctx;
  #next = 0;
  #sources = new Set();
  /** Seconds of audio handed to the sound card in this clip. */
  scheduledSeconds = 0;

  /** Call from the click that starts speaking (browsers allow audio after a user gesture). */
  begin() {
    this.stop();
    this.#ctx ??= new AudioContext();
    void this.#ctx.resume();
    this.#next = 0;
    this.scheduledSeconds = 0;
  }

  /** Queues samples right after those queued before. */
  push(samples, sampleRate) {
    if (!this.#ctx || !samples.length) return;
    const buffer = this.#ctx.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(toFloat32(samples), 0);
    const source = this.#ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.#ctx.destination);
    const at = Math.max(this.#next, this.#ctx.currentTime + 0.05);
    source.start(at);
    this.#next = at + buffer.duration;
    this.scheduledSeconds += buffer.duration;
    this.#sources.add(source);
    source.onended = () => this.#sources.delete(source);
  }

  /** Seconds until what is queued has played. */
  get remaining() {
    return this.#ctx ? Math.max(0, this.#next - this.#ctx.currentTime) : 0;
  }

  /** The sound card's clock (advances while audio plays). */
  get clock() {
    return this.#ctx?.currentTime ?? 0;
  }

  stop() {
    for (const s of this.#sources) {
      try {
        s.stop();
      } catch {
        // not started yet
      }
    }
    this.#sources.clear();
    this.#next = 0;
  }
}
