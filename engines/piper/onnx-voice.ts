/**
 * One Piper voice model in onnxruntime-node: Piper's exact inputs (`input`, `input_lengths`,
 * `scales`, and `sid` only when the graph has it), one run per sentence, the samples read
 * from the last dimension of `output` (rank 3 or 4), and Piper's per-sentence peak
 * normalisation to 16-bit.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import ort from "onnxruntime-node";
import { EngineError, OutOfMemoryError } from "chorus/sdk";

export type GraphOptimization = "disabled" | "basic" | "extended" | "all";

export interface SessionSettings {
  /** Intra-op threads; 0 lets onnxruntime choose (one per physical core). */
  threads: number;
  /** Inter-op threads; 0 lets onnxruntime choose. */
  interOpThreads: number;
  graphOptimization: GraphOptimization;
  /** onnxruntime's threads spin-wait between runs (session.intra_op/inter_op.allow_spinning). */
  spinWait: boolean;
  /** Try the CUDA execution provider first (falls back to CPU when it is not available). */
  cuda: boolean;
  cudaDeviceId: number;
}

export interface Scales {
  noiseScale: number;
  lengthScale: number;
  noiseW: number;
}

export interface SessionLog {
  warn(msg: string, extra?: Record<string, unknown>): void;
}

const OOM = /out of memory|cudaErrorMemoryAllocation|CUDA failure 2\b|Failed to allocate memory/i;

export function sessionOptions(settings: SessionSettings, provider: "cpu" | "cuda"): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: settings.graphOptimization,
    executionProviders: provider === "cuda" ? [{ name: "cuda", deviceId: settings.cudaDeviceId }, "cpu"] : ["cpu"],
    // onnxruntime-node passes `extra` on as session config entries ("session.intra_op.allow_spinning").
    extra: { session: { intra_op: { allow_spinning: settings.spinWait ? "1" : "0" }, inter_op: { allow_spinning: settings.spinWait ? "1" : "0" } } },
  };
  if (settings.threads > 0) options.intraOpNumThreads = settings.threads;
  if (settings.interOpThreads > 0) options.interOpNumThreads = settings.interOpThreads;
  return options;
}

let cudaInstalled: boolean | undefined;

/** Whether onnxruntime-node's CUDA provider library is present next to its binding. */
export function cudaProviderInstalled(): boolean {
  if (cudaInstalled === undefined) {
    try {
      const root = path.dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
      const bin = path.join(root, "bin");
      const found = (dir: string): boolean =>
        fs
          .readdirSync(dir, { withFileTypes: true })
          .some((e) => (e.isDirectory() ? found(path.join(dir, e.name)) : /onnxruntime_providers_cuda\.(so|dll)$/.test(e.name)));
      cudaInstalled = found(bin);
    } catch {
      cudaInstalled = false;
    }
  }
  return cudaInstalled;
}

export class OnnxVoice {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: "cpu" | "cuda",
    readonly hasSid: boolean,
  ) {}

  /**
   * Opens `modelPath`. With `settings.cuda`, tries the CUDA provider and falls back to the CPU
   * (with a warning) when onnxruntime-node has no CUDA binaries or no GPU; a CUDA out-of-memory
   * becomes `OutOfMemoryError`. A file that is not a valid model fails with ENGINE_FAILED.
   */
  static async open(modelPath: string, settings: SessionSettings, log: SessionLog): Promise<OnnxVoice> {
    if (settings.cuda && !cudaProviderInstalled()) {
      log.warn("piper: onnxruntime-node has no CUDA provider library installed, using the CPU", { model: modelPath });
    } else if (settings.cuda) {
      try {
        return await OnnxVoice.create(modelPath, settings, "cuda");
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        if (OOM.test(message)) throw new OutOfMemoryError(`CUDA out of memory loading ${modelPath}: ${message}`, { cause: err });
        log.warn("piper: CUDA execution provider unavailable, using the CPU", { model: modelPath, reason: message });
      }
    }
    return OnnxVoice.create(modelPath, settings, "cpu");
  }

  private static async create(modelPath: string, settings: SessionSettings, provider: "cpu" | "cuda"): Promise<OnnxVoice> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelPath, sessionOptions(settings, provider));
    } catch (err) {
      if (provider === "cuda") throw err;
      throw new EngineError("ENGINE_FAILED", `cannot load Piper model ${modelPath}: ${(err as Error).message}`, { cause: err });
    }
    const missing = ["input", "input_lengths", "scales"].filter((n) => !session.inputNames.includes(n));
    if (missing.length || !session.outputNames.includes("output")) {
      await session.release();
      throw new EngineError(
        "ENGINE_FAILED",
        `${modelPath} is not a Piper voice model (inputs ${session.inputNames.join(", ")}; outputs ${session.outputNames.join(", ")})`,
      );
    }
    return new OnnxVoice(session, provider, session.inputNames.includes("sid"));
  }

  /** One inference: float samples in (-1, 1) for one sentence's ids. */
  async infer(ids: readonly number[], scales: Scales, speakerId = 0): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]),
      input_lengths: new ort.Tensor("int64", BigInt64Array.of(BigInt(ids.length)), [1]),
      scales: new ort.Tensor("float32", Float32Array.of(scales.noiseScale, scales.lengthScale, scales.noiseW), [3]),
    };
    if (this.hasSid) feeds.sid = new ort.Tensor("int64", BigInt64Array.of(BigInt(speakerId)), [1]);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds);
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      if (OOM.test(message)) throw new OutOfMemoryError(`out of memory during Piper inference: ${message}`, { cause: err });
      throw new EngineError("ENGINE_FAILED", `Piper inference failed: ${message}`, { cause: err });
    }
    const output = results.output!;
    const length = Number(output.dims[output.dims.length - 1] ?? 0);
    const samples = (output.data as Float32Array).subarray(0, length);
    for (const tensor of Object.values(results)) if (tensor !== output) tensor.dispose();
    return samples;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Piper's per-sentence normalisation (piper C++ / piper-tts): scale so the peak reaches
 * 32767 (the peak taken as at least 0.01, so near-silence is not blown up), clamp, truncate.
 * Piper computes in float32 (`float audioScale = 32767.0f / std::max(0.01f, max)`, then
 * `x * audioScale` as a float), so each step is rounded to float32 with Math.fround:
 * in double, about one sample in 1,200 (the peak itself among them) came out 1 higher or lower.
 */
export function peakNormalize(samples: Float32Array): Int16Array {
  const f32 = Math.fround;
  let peak = f32(0.01); // |x| of a float32 sample is exact: no rounding needed in the loop
  for (let i = 0; i < samples.length; i++) {
    const v = Math.abs(samples[i]!);
    if (v > peak) peak = v;
  }
  const scale = f32(32767 / peak);
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = f32(samples[i]! * scale);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.trunc(v);
  }
  return out;
}
