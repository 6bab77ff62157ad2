/**
 * @file The one list of execution providers, the one parser of a provider preference (MUSILINGO_EP, the
 * setting, `--ep`), and the one probe (a tiny session on one provider). Doctor and the converter
 * (main/models/providers.ts adds the static machine checks), inference (model/inference/pack.ts), sessions
 * (model/ort/session.ts) and the trainer all take them from here, so a value accepted by one is accepted by
 * all. No Electron; the probe loads onnxruntime-node lazily, so importing this file stays cheap.
 */

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Execution providers the app knows, best first. */
export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;

/** One execution provider. */
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** What a user may ask for: a provider, or 'auto' (the best that runs). */
export const PROVIDER_PREFERENCES = ['auto', ...EXECUTION_PROVIDERS] as const;

/** A parsed preference. */
export type ProviderPreference = (typeof PROVIDER_PREFERENCES)[number];

/** A provider name that is not one of {@link PROVIDER_PREFERENCES}; the message names where it came from. */
export class ExecutionProviderError extends Error {
  constructor(readonly value: string, readonly source: string) {
    super(`Unsupported execution provider "${value}"${source ? ` in ${source}` : ''}. Expected one of: ${PROVIDER_PREFERENCES.join(', ')}`);
    this.name = 'ExecutionProviderError';
  }
}

/**
 * Parses a preference: case and surrounding space do not matter ('CPU', ' cuda '); empty or undefined is
 * 'auto'. `source` names where the value came from for the error (e.g. 'MUSILINGO_EP').
 */
export function parseProviderPreference(value: string | undefined, source = ''): ProviderPreference {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return 'auto';
  if ((PROVIDER_PREFERENCES as readonly string[]).includes(v)) return v as ProviderPreference;
  throw new ExecutionProviderError(value ?? '', source);
}

/** A comma-separated list of providers in the order to try them ('webgpu,cpu'); 'auto' expands to all. */
export function parseProviderList(value: string | undefined, source = ''): ExecutionProvider[] {
  const out: ExecutionProvider[] = [];
  for (const part of (value ?? '').split(',')) {
    if (part.trim() === '') continue;
    for (const ep of providersFor(parseProviderPreference(part, source))) if (!out.includes(ep)) out.push(ep);
  }
  return out.length > 0 ? out : [...EXECUTION_PROVIDERS];
}

/** The providers a preference tries, in order: 'auto' = every one, best first; a provider = that one alone. */
export function providersFor(pref: ProviderPreference): ExecutionProvider[] {
  return pref === 'auto' ? [...EXECUTION_PROVIDERS] : [pref];
}

/** The preference in the environment (MUSILINGO_EP), parsed; 'auto' when unset. */
export function envProviderPreference(env: NodeJS.ProcessEnv = process.env): ProviderPreference {
  return parseProviderPreference(env['MUSILINGO_EP'], 'MUSILINGO_EP');
}

/**
 * Opens a one-node session on `ep` alone (through model/ort/session.ts, the sessions' own factory) and runs it;
 * rejects with ORT's message when the provider cannot run.
 */
export async function probeProvider(ep: ExecutionProvider): Promise<void> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const ort = await import('onnxruntime-node');
  const { createSession } = await import('./session');
  const { GraphBuilder } = await import('../onnx/graph-builder');
  const dir = await mkdtemp(join(tmpdir(), 'musilingo-ep-'));
  try {
    const g = new GraphBuilder({ name: 'probe' });
    g.input('x', 'float32', [4]);
    g.op('Add', ['x', g.constF32([1, 2, 3, 4])], {}, { output: 'y' });
    g.output('y', 'float32', [4]);
    const path = join(dir, 'probe.onnx');
    await g.save(path);
    let created;
    try {
      created = await createSession(path, { providers: [ep] });
    } catch (e) {
      const skipped = (e as { skipped?: Array<{ reason: string }> }).skipped;
      throw new Error(skipped?.[0]?.reason ?? (e as Error).message);
    }
    const session = created.session;
    try {
      const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1, 1]), [4]) });
      const y = out.y?.data as Float32Array | undefined;
      if (!y || y[3] !== 5) throw new Error('the probe graph gave a wrong result');
    } finally {
      await session.release();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const VULKAN_LOADERS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
  '/usr/local/lib/libvulkan.so.1',
];

/** What {@link linuxVulkanCheck} reads (tests pass their own). */
export interface VulkanEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly fileExists: (path: string) => boolean;
  /** Names in a folder; [] when it does not exist. */
  readonly listDir: (dir: string) => readonly string[];
}

/** Names in a folder, or [] when it cannot be read (missing, not a folder). */
export function listDirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Folders where the Vulkan loader looks for driver manifests (ICD JSON files) on Linux: the XDG config and
 * data folders (defaults /etc/xdg and /usr/local/share:/usr/share), /etc, and the user's own.
 */
function vulkanDriverDirs(env: NodeJS.ProcessEnv): string[] {
  const config = (env['XDG_CONFIG_DIRS'] || '/etc/xdg').split(':');
  const data = (env['XDG_DATA_DIRS'] || '/usr/local/share:/usr/share').split(':');
  const home = env['HOME'] ? [join(env['HOME'], '.local', 'share')] : [];
  return [...config, '/etc', ...data, ...home].filter((d) => d !== '').map((d) => join(d, 'vulkan', 'icd.d'));
}

/**
 * Whether WebGPU can find a Vulkan loader and a driver on Linux (the one check: the provider choice and the
 * session factory both ask it). A loader without a driver makes a WebGPU session fail after Dawn printed
 * "Found no drivers" warnings to stderr, in the middle of a CLI command's output, so the session is not tried.
 * Explicit driver lists in the environment (VK_DRIVER_FILES, VK_ICD_FILENAMES, VK_ADD_DRIVER_FILES) count.
 */
export function linuxVulkanCheck(
  ve: VulkanEnvironment = { env: process.env, fileExists: existsSync, listDir: listDirOrEmpty },
): { ok: boolean; reason: string } {
  const listed = ve.env['VK_DRIVER_FILES'] || ve.env['VK_ICD_FILENAMES'] || ve.env['VK_ADD_DRIVER_FILES'];
  if (!VULKAN_LOADERS.some((p) => ve.fileExists(p)) && !listed) {
    return { ok: false, reason: 'the Vulkan loader (libvulkan.so.1) is not installed; install libvulkan1 (Debian/Ubuntu) or vulkan-loader' };
  }
  if (!listed && !vulkanDriverDirs(ve.env).some((d) => ve.listDir(d).some((f) => f.endsWith('.json')))) {
    return {
      ok: false,
      reason: "no Vulkan driver is installed (no driver manifest in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d); install your GPU's Vulkan driver (e.g. mesa-vulkan-drivers, or the NVIDIA driver)",
    };
  }
  return { ok: true, reason: 'a Vulkan loader and driver are installed' };
}
