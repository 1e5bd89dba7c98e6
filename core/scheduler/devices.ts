/**
 * Devices: NVIDIA GPUs read with nvidia-smi, simulated GPUs from the config, and the CPU.
 * Any failure to read GPUs (no binary, an error, `[N/A]` fields) means "no usable GPU data":
 * the reason is kept and Chorus carries on with the CPU.
 */
import { execFile } from "node:child_process";
import os from "node:os";
import type { SchedulerConfig } from "../config/schema.ts";

export const NVIDIA_SMI_ARGS = ["--query-gpu=index,uuid,name,memory.total,memory.used,memory.free", "--format=csv,noheader,nounits"];

export interface GpuReading {
  index: number;
  uuid: string;
  name: string;
  totalMb: number;
  usedMb: number;
  freeMb: number;
}

export type ProbeResult = { ok: true; gpus: GpuReading[] } | { ok: false; reason: string };

/** Reads the real GPUs (injectable: tests pass recorded outputs). */
export interface GpuProbe {
  read(): Promise<ProbeResult>;
}

/** Parses `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` output. */
export function parseNvidiaSmi(stdout: string): ProbeResult {
  const lines = stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (!lines.length) return { ok: false, reason: "nvidia-smi listed no GPUs" };
  const gpus: GpuReading[] = [];
  for (const line of lines) {
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length < 6) return { ok: false, reason: `unexpected nvidia-smi line: ${line}` };
    // names may contain commas: index, uuid first; total, used, free last
    const [index, uuid] = fields;
    const [total, used, free] = fields.slice(-3);
    const name = fields.slice(2, -3).join(", ");
    const numbers = [index, total, used, free].map((f) => (f !== undefined && /^\d+(\.\d+)?$/.test(f) ? Number(f) : NaN));
    if (numbers.some((n) => Number.isNaN(n))) {
      return { ok: false, reason: `GPU ${index ?? "?"} (${name}) reports no usable memory data (${total}/${used}/${free}); MIG or an unsupported driver` };
    }
    gpus.push({ index: numbers[0]!, uuid: uuid!, name, totalMb: numbers[1]!, usedMb: numbers[2]!, freeMb: numbers[3]! });
  }
  return { ok: true, gpus };
}

export type ExecFn = (file: string, args: string[]) => Promise<string>;

const execText: ExecFn = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5000, windowsHide: true }, (err, stdout) => (err ? reject(err) : resolve(String(stdout))));
  });

export class NvidiaSmiProbe implements GpuProbe {
  constructor(
    private readonly binary = "nvidia-smi",
    private readonly exec: ExecFn = execText,
  ) {}

  async read(): Promise<ProbeResult> {
    try {
      return parseNvidiaSmi(await this.exec(this.binary, NVIDIA_SMI_ARGS));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "ENOENT") return { ok: false, reason: `${this.binary} not found: no NVIDIA driver, CPU only` };
      return { ok: false, reason: `${this.binary} failed: ${e.message.split("\n")[0]}` };
    }
  }
}

export const noGpuProbe: GpuProbe = { read: async () => ({ ok: false, reason: "GPUs disabled in the config (scheduler.devices.gpus = off)" }) };

/** A device as the scheduler accounts for it. Memory in MB. */
export interface Device {
  /** `cpu`, `cuda:0`, ... */
  id: string;
  kind: "cpu" | "cuda";
  index: number;
  name: string;
  totalMb: number;
  /** Held by processes other than Chorus's engines, as of the last reading. */
  othersMb: number;
  /** Never allocated. */
  reserveMb: number;
  /** Accounting only: the engines run their CPU path. */
  simulated: boolean;
  /** Free memory as last read (driver's figure; for simulated devices and the CPU, accounted). */
  lastFreeMb: number;
  readAt: number;
}

export function gpuReserve(totalMb: number, config: Pick<SchedulerConfig, "reserveMb" | "reservePercent">): number {
  return Math.max(config.reserveMb, Math.round((totalMb * config.reservePercent) / 100));
}

export function cpuDevice(config: SchedulerConfig): Device {
  const totalMb = config.devices.cpuRamMb ?? Math.round((os.totalmem() / 1048576) * 0.8);
  return { id: "cpu", kind: "cpu", index: -1, name: "CPU RAM", totalMb, othersMb: 0, reserveMb: 0, simulated: false, lastFreeMb: totalMb, readAt: 0 };
}

export function simulatedGpus(config: SchedulerConfig): Device[] {
  return config.devices.simulated.map((g, index) => ({
    id: `cuda:${index}`,
    kind: "cuda" as const,
    index,
    name: `${g.name} (simulated)`,
    totalMb: g.totalMb,
    othersMb: g.heldByOthersMb,
    reserveMb: gpuReserve(g.totalMb, config),
    simulated: true,
    lastFreeMb: g.totalMb - g.heldByOthersMb,
    readAt: 0,
  }));
}

export function gpuFromReading(r: GpuReading, config: SchedulerConfig): Device {
  return {
    id: `cuda:${r.index}`,
    kind: "cuda",
    index: r.index,
    name: r.name,
    totalMb: r.totalMb,
    othersMb: r.usedMb,
    reserveMb: gpuReserve(r.totalMb, config),
    simulated: false,
    lastFreeMb: r.freeMb,
    readAt: 0,
  };
}
