/**
 * @file `musilingo models doctor`: what hardware there is (GPUs from nvidia-smi, /proc/driver/nvidia,
 * vulkaninfo, lspci), which execution providers can run and why not, memory, and what would run (provider
 * and recommended pack variant). Plain Node; the provider probe loads onnxruntime-node.
 */
import { readFile } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { checkedDecoderReport, type FormatDecoder } from '../../model/audio/decoders';
import { formatBytes } from './catalog';
import { chooseExecutionProvider, tryCommand, type ChooseOptions, type ProviderChoice, type ProviderName } from './providers';
import type { ModelVariant } from '../db/models';

/** One GPU as a tool reported it. */
export interface GpuInfo {
  readonly name: string;
  /** Dedicated memory when known. */
  readonly memoryBytes?: number;
  readonly driver?: string;
  /** Which tool saw it. */
  readonly source: 'nvidia-smi' | 'vulkaninfo' | 'lspci' | '/proc/driver/nvidia';
}

/** Everything the doctor found. */
export interface DoctorReport {
  readonly gpus: readonly GpuInfo[];
  readonly nvidiaDriver: string | undefined;
  readonly tools: Readonly<Record<'nvidia-smi' | 'vulkaninfo' | 'lspci', boolean>>;
  readonly totalMemoryBytes: number;
  readonly freeMemoryBytes: number;
  readonly providers: ProviderChoice;
  readonly recommendedVariant: ModelVariant;
  /** Why that variant. */
  readonly variantReason: string;
  /** Which decoder serves each audio format and where it comes from (model/audio/decoders.ts). */
  readonly audioDecoders: readonly FormatDecoder[];
}

/** Parses `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(text: string): GpuInfo[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [name = '?', mem, driver] = l.split(',').map((s) => s.trim());
      const mib = Number(mem);
      return { name, source: 'nvidia-smi' as const, ...(Number.isFinite(mib) ? { memoryBytes: mib * 1024 * 1024 } : {}), ...(driver ? { driver } : {}) };
    });
}

/** Parses `vulkaninfo --summary`: the deviceName lines (software rasterisers included, marked as such). */
export function parseVulkanSummary(text: string): GpuInfo[] {
  const out: GpuInfo[] = [];
  for (const m of text.matchAll(/deviceName\s*=\s*(.+)/g)) out.push({ name: (m[1] ?? '').trim(), source: 'vulkaninfo' });
  return out;
}

/** Parses `lspci` output: VGA / 3D / Display controllers. */
export function parseLspci(text: string): GpuInfo[] {
  return text
    .split('\n')
    .filter((l) => /VGA compatible controller|3D controller|Display controller/.test(l))
    .map((l) => ({ name: l.replace(/^\S+\s+/, '').replace(/^(VGA compatible controller|3D controller|Display controller):\s*/, ''), source: 'lspci' as const }));
}

/**
 * Recommends a variant: float16 on a GPU with room for the ~13.5 GB float16 decoder plus the encoder and
 * cache (≥ 20 GB), else int4 (~3.9 GB decoder, fits 8 GB GPUs and runs fastest on CPUs).
 */
export function recommendVariant(ep: ProviderName, gpuMemoryBytes: number | undefined): { variant: ModelVariant; reason: string } {
  if (ep === 'cpu') return { variant: 'int4', reason: 'int4 (MatMulNBits) is the fastest decoder on the CPU and needs ~4 GB of memory' };
  if (gpuMemoryBytes !== undefined && gpuMemoryBytes >= 20e9) {
    return { variant: 'float16', reason: `the GPU has ${formatBytes(gpuMemoryBytes)}: room for the float16 decoder (~13.5 GB)` };
  }
  return { variant: 'int4', reason: gpuMemoryBytes === undefined ? 'GPU memory unknown: int4 (~3.9 GB decoder) fits 8 GB GPUs' : `the GPU has ${formatBytes(gpuMemoryBytes)}: int4 (~3.9 GB decoder) fits` };
}

/** Collects the report. `choose` is passed to chooseExecutionProvider (probe on by default). */
export async function runDoctor(choose: ChooseOptions = {}): Promise<DoctorReport> {
  const [smi, vk, pci, procDriver] = await Promise.all([
    tryCommand('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits']),
    tryCommand('vulkaninfo', ['--summary'], 10_000),
    tryCommand('lspci', []),
    readFile('/proc/driver/nvidia/version', 'utf8').catch(() => undefined),
  ]);
  const gpus: GpuInfo[] = [];
  if (smi) gpus.push(...parseNvidiaSmi(smi));
  if (vk) gpus.push(...parseVulkanSummary(vk));
  if (pci) gpus.push(...parseLspci(pci));
  const nvidiaDriver = procDriver ? /Kernel Module\s+(\S+)/.exec(procDriver)?.[1] ?? procDriver.split('\n')[0]?.trim() : undefined;
  if (procDriver && !smi) gpus.push({ name: 'NVIDIA GPU (driver loaded)', source: '/proc/driver/nvidia', ...(nvidiaDriver ? { driver: nvidiaDriver } : {}) });
  const providers = await chooseExecutionProvider(choose);
  const gpuMem = gpus.map((g) => g.memoryBytes ?? 0).reduce((a, b) => Math.max(a, b), 0) || undefined;
  const rec = recommendVariant(providers.chosen, gpuMem);
  return {
    gpus,
    nvidiaDriver,
    tools: { 'nvidia-smi': smi !== undefined, vulkaninfo: vk !== undefined, lspci: pci !== undefined },
    totalMemoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    providers,
    recommendedVariant: rec.variant,
    variantReason: rec.reason,
    audioDecoders: (await checkedDecoderReport()).formats,
  };
}

/** Human-readable doctor output. */
export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = ['GPUs:'];
  if (r.gpus.length === 0) lines.push('  none found');
  for (const g of r.gpus) {
    lines.push(`  ${g.name}${g.memoryBytes ? `, ${formatBytes(g.memoryBytes)}` : ''}${g.driver ? `, driver ${g.driver}` : ''} (${g.source})`);
  }
  const missing = Object.entries(r.tools).filter(([, ok]) => !ok).map(([t]) => t);
  if (missing.length > 0) lines.push(`  (not installed or not answering: ${missing.join(', ')})`);
  if (r.nvidiaDriver) lines.push(`  NVIDIA kernel driver ${r.nvidiaDriver}`);
  lines.push('', 'Execution providers (best first):');
  for (const p of r.providers.providers) lines.push(`  ${p.isUsable ? 'yes' : 'no '}  ${p.name.padEnd(7)} ${p.reason}`);
  lines.push('', `Memory: ${formatBytes(r.totalMemoryBytes)} total, ${formatBytes(r.freeMemoryBytes)} free`);
  lines.push('', `Would run on: ${r.providers.chosen.toUpperCase()}${r.providers.override !== 'auto' ? ` (override: ${r.providers.override})` : ''}`);
  lines.push(`  ${r.providers.summary}`);
  lines.push(`Recommended pack variant: ${r.recommendedVariant} (${r.variantReason})`);
  lines.push('', 'Audio decoders:');
  for (const d of r.audioDecoders) lines.push(`  ${d.available ? 'yes' : 'no '}  ${d.label.padEnd(17)} ${d.decoder}: ${d.detail}`);
  return `${lines.join('\n')}\n`;
}
