/** The Wyoming (Home Assistant) API surface: a TCP server over the host's pipeline. See docs/wyoming.md. */
export { startWyoming, type WyomingServer } from "./server.ts";
export { encodeEvent, FrameReader, FrameError, type WyomingEvent } from "./framing.ts";
