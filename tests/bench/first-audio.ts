/**
 * Where the audio starts in a streamed response: bytes beyond the container's header (WAV's
 * 44 bytes, Ogg Opus's OpusHead/OpusTags pages, FLAC's metadata blocks). TTFA counts the first
 * byte of audio, not of a header that is sent before any synthesis.
 */
export function headerLength(format: string, bytes: Buffer): number | undefined {
  switch (format) {
    case "wav":
      return 44;
    case "opus": {
      // the first two Ogg pages are the headers
      let at = 0;
      for (let page = 0; page < 2; page++) {
        if (bytes.length < at + 27) return undefined;
        const segments = bytes[at + 26]!;
        if (bytes.length < at + 27 + segments) return undefined;
        let size = 0;
        for (let i = 0; i < segments; i++) size += bytes[at + 27 + i]!;
        at += 27 + segments + size;
      }
      return at;
    }
    case "flac": {
      let at = 4; // "fLaC"
      for (;;) {
        if (bytes.length < at + 4) return undefined;
        const last = (bytes[at]! & 0x80) !== 0;
        at += 4 + bytes.readUIntBE(at + 1, 3);
        if (last) return at;
      }
    }
    default:
      return 0;
  }
}

/** Tracks a response body; `audio()` turns true once bytes past the header have arrived. */
export function audioWatcher(format: string): { push(chunk: Buffer): boolean } {
  let seen = Buffer.alloc(0);
  let done = false;
  return {
    push(chunk) {
      if (done) return true;
      seen = Buffer.concat([seen, chunk]);
      const header = headerLength(format, seen);
      done = header !== undefined && seen.length > header;
      return done;
    },
  };
}
