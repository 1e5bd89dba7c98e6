/** The audio formats the output stage makes, and their Content-Types. */

export const AUDIO_FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

/** The Content-Type for a format; pcm carries its rate (`audio/pcm;rate=22050`). */
export function contentType(format: AudioFormat, sampleRate: number): string {
  switch (format) {
    case "mp3":
      return "audio/mpeg";
    case "opus":
      return "audio/ogg";
    case "aac":
      return "audio/aac";
    case "flac":
      return "audio/flac";
    case "wav":
      return "audio/wav";
    case "pcm":
      return `audio/pcm;rate=${sampleRate}`;
  }
}
