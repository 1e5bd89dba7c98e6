"""Transcribes one audio file with faster-whisper, word timestamps on, for `chorus finetune prepare`.

Usage: python whisper_transcribe.py FILE --model large-v2 [--language en] [--device auto]
Prints JSON lines: {"progress": 0..1}, {"word": "Hello", "start": 0.12, "end": 0.48}, ...,
then {"done": true, "language": "en", "duration": 12.3}.
"""
import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--model", default="large-v2")
    parser.add_argument("--language", default=None)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    from faster_whisper import WhisperModel  # imported here so --help works without it

    device = args.device
    if device == "auto":
        try:
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        except Exception:
            device = "cpu"
    # AllTalk uses float32 on CUDA; int8 keeps CPU transcription usable.
    model = WhisperModel(args.model, device=device, compute_type="float32" if device == "cuda" else "int8")
    segments, info = model.transcribe(args.file, language=args.language, word_timestamps=True, vad_filter=True)
    duration = float(info.duration or 0)
    for segment in segments:
        for w in segment.words or []:
            print(json.dumps({"word": w.word.strip(), "start": round(float(w.start), 3), "end": round(float(w.end), 3)}), flush=True)
        if duration > 0:
            print(json.dumps({"progress": min(1.0, float(segment.end) / duration)}), flush=True)
    print(json.dumps({"progress": 1.0}), flush=True)
    print(json.dumps({"done": True, "language": info.language, "duration": duration}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
