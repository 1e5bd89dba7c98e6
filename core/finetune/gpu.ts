/**
 * The card a plan is for: from flags (a card name or a total), from a running Chorus's scheduler
 * (GET /api/scheduler: what others hold and what Chorus's own engines hold), or read through the
 * scheduler's device layer (nvidia-smi, or the simulated cards in the config).
 */
import type { Config } from "../config/schema.ts";
import { NvidiaSmiProbe, gpuFromReading, simulatedGpus, type Device, type GpuProbe } from "../scheduler/devices.ts";

/** Memory nvidia-smi reports as total for common cards, MB (MiB). */
export const CARDS: [pattern: RegExp, name: string, totalMb: number][] = [
  [/gtx ?1650/i, "GTX 1650", 4096],
  [/gtx ?1660/i, "GTX 1660", 6144],
  [/rtx ?2060/i, "RTX 2060", 6144],
  [/rtx ?2070|rtx ?2080(?! ?ti)/i, "RTX 2070/2080", 8192],
  [/rtx ?2080 ?ti/i, "RTX 2080 Ti", 11264],
  [/rtx ?3050/i, "RTX 3050", 8192],
  [/rtx ?3060 ?ti/i, "RTX 3060 Ti", 8192],
  [/rtx ?3060/i, "RTX 3060", 12288],
  [/rtx ?3070/i, "RTX 3070", 8192],
  [/rtx ?3080 ?ti/i, "RTX 3080 Ti", 12288],
  [/rtx ?3080/i, "RTX 3080", 10240],
  [/rtx ?3090/i, "RTX 3090", 24576],
  [/rtx ?4060 ?ti.*16/i, "RTX 4060 Ti 16GB", 16380],
  [/rtx ?4060/i, "RTX 4060", 8188],
  [/rtx ?4070 ?ti ?super/i, "RTX 4070 Ti Super", 16376],
  [/rtx ?4070/i, "RTX 4070", 12282],
  [/rtx ?4080/i, "RTX 4080", 16376],
  [/rtx ?4090/i, "RTX 4090", 24564],
  [/rtx ?5090/i, "RTX 5090", 32607],
  [/\bt4\b/i, "T4", 15360],
  [/\bl4\b/i, "L4", 23034],
  [/a10g?\b/i, "A10", 23028],
  [/a100.*80/i, "A100 80GB", 81920],
  [/a100/i, "A100 40GB", 40960],
  [/h100/i, "H100", 81559],
];

export function cardByName(name: string): { name: string; totalMb: number } | undefined {
  // A size in the name ("12GB") wins over the table (cards come in several sizes).
  const size = /(\d+(?:\.\d+)?) ?gb?\b/i.exec(name);
  const hit = CARDS.find(([re]) => re.test(name));
  if (size) return { name: hit?.[1] ?? name, totalMb: Math.round(Number(size[1]) * 1024) };
  return hit ? { name: hit[1], totalMb: hit[2] } : undefined;
}

export interface GpuInfo {
  name: string;
  totalMb: number;
  /** Held by other processes (desktop, an LLM, ...). */
  othersMb: number;
  /** Held by a running Chorus's engines (freed by unloading them). */
  chorusMb: number;
  source: "flags" | "chorus" | "nvidia-smi" | "simulated";
}

export interface GpuOptions {
  gpu?: string;
  totalMb?: number;
  usedMb?: number;
}

export interface SchedulerSnapshot {
  devices: { id: string; kind: string; name: string; totalMb: number; heldByOthersMb: number; holdings: { engine: string; residentMb: number }[] }[];
}

function pick<T extends { index: number; name: string }>(list: T[], gpu: string | undefined): T | undefined {
  if (!gpu || gpu === "auto") return list[0];
  if (/^\d+$/.test(gpu)) return list.find((d) => d.index === Number(gpu));
  return list.find((d) => d.name.toLowerCase().includes(gpu.toLowerCase()));
}

/** GET /api/scheduler of a running Chorus (undefined when none answers within a second). */
export async function runningChorusSnapshot(config: Config): Promise<SchedulerSnapshot | undefined> {
  const host = config.server.host === "0.0.0.0" ? "127.0.0.1" : config.server.host;
  try {
    const res = await fetch(`http://${host}:${config.server.port}/api/scheduler?decisions=0`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as SchedulerSnapshot) : undefined;
  } catch {
    return undefined;
  }
}

/** The scheduler's view: what others hold, what Chorus's engines hold. */
function fromSnapshot(snap: SchedulerSnapshot | undefined, gpu: string | undefined): GpuInfo | undefined {
  if (!snap?.devices) return undefined;
  {
    const gpus = snap.devices.filter((d) => d.kind === "cuda").map((d, i) => ({ ...d, index: Number(d.id.split(":")[1] ?? i) }));
    const d = pick(gpus, gpu);
    if (!d) return undefined;
    return { name: d.name, totalMb: d.totalMb, othersMb: d.heldByOthersMb, chorusMb: d.holdings.reduce((a, h) => a + h.residentMb, 0), source: "chorus" };
  }
}

/**
 * The card: flags first (a name or --gpu-total-mb), then a running Chorus, then the device
 * layer. Throws with what to pass when no card can be found.
 */
export async function resolveGpu(
  options: GpuOptions,
  config: Config,
  sources: { probe?: GpuProbe; snapshot?: () => Promise<SchedulerSnapshot | undefined> } = {},
): Promise<GpuInfo> {
  const named = options.gpu && !/^(auto|\d+)$/.test(options.gpu) ? cardByName(options.gpu) : undefined;
  if (options.totalMb !== undefined || named) {
    const totalMb = options.totalMb ?? named!.totalMb;
    return { name: named?.name ?? options.gpu ?? `${totalMb} MB card`, totalMb, othersMb: options.usedMb ?? 0, chorusMb: 0, source: "flags" };
  }
  const running = fromSnapshot(await (sources.snapshot ?? (() => runningChorusSnapshot(config)))(), options.gpu);
  if (running) return { ...running, othersMb: options.usedMb ?? running.othersMb };
  let devices: Device[] = simulatedGpus(config.scheduler);
  let source: GpuInfo["source"] = "simulated";
  let reason = "";
  if (!devices.length && config.scheduler.devices.gpus !== "off") {
    const reading = await (sources.probe ?? new NvidiaSmiProbe(config.scheduler.devices.nvidiaSmi)).read();
    if (reading.ok) {
      devices = reading.gpus.map((r) => gpuFromReading(r, config.scheduler));
      source = "nvidia-smi";
    } else reason = reading.reason;
  }
  const d = pick(devices, options.gpu);
  if (!d) {
    const why = reason || (options.gpu ? `no GPU matches '${options.gpu}'` : "no GPU configured");
    throw new Error(`cannot read a GPU (${why}); name the card with --gpu "RTX 3060" or give --gpu-total-mb N [--gpu-used-mb M]`);
  }
  return { name: d.name, totalMb: d.totalMb, othersMb: options.usedMb ?? d.othersMb, chorusMb: 0, source };
}
