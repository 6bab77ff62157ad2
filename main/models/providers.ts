/**
 * @file Execution-provider choice: CUDA → WebGPU → CPU, with the reason each one was skipped, a user override
 * (setting or MUSILINGO_EP), and an optional probe that opens a tiny session on the provider. Plain Node; the
 * probe loads onnxruntime-node, so run it in the CLI or a utility process.
 *
 * [Note: Execution-provider choice]
 * onnxruntime-node 1.30 bundles the CPU and WebGPU providers; the CUDA provider's libraries
 * (libonnxruntime_providers_cuda.so + _shared.so) are installed next to the binding only by
 * `npm run setup:cuda`, and need the NVIDIA driver plus CUDA 12 / cuDNN 9 runtime libraries. Session creation
 * fails, rather than falls back, when a provider cannot run (no CUDA libraries, no Vulkan adapter), so the
 * static checks below only rule providers out; the probe (a one-node graph) proves the rest, and the first
 * provider that passes wins. The result says which one runs and why the better ones did not.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  EXECUTION_PROVIDERS,
  linuxVulkanCheck,
  listDirOrEmpty,
  parseProviderPreference,
  probeProvider,
  PROVIDER_PREFERENCES,
  type ExecutionProvider,
  type ProviderPreference,
} from '../../model/ort/providers';

/** Providers the app knows, best first (the one list: model/ort/providers.ts). */
export const PROVIDER_ORDER = EXECUTION_PROVIDERS;

/** One execution provider name. */
export type ProviderName = ExecutionProvider;

/** Accepted override values. */
export const PROVIDER_OVERRIDES = PROVIDER_PREFERENCES;

/** What we found out about one provider. */
export interface ProviderStatus {
  readonly name: ProviderName;
  /** True when nothing rules it out (and, when probed, the probe passed). */
  readonly isUsable: boolean;
  /** Why it is or is not usable, for the user. */
  readonly reason: string;
  /** Set when a probe session was tried. */
  readonly probed?: boolean;
}

/** The decision. */
export interface ProviderChoice {
  readonly chosen: ProviderName;
  /** The override that applied ('auto' when none). */
  readonly override: string;
  /** Every provider in order with its status. */
  readonly providers: readonly ProviderStatus[];
  /** One sentence: what runs and why the better ones do not. */
  readonly summary: string;
}

/** Inputs of the static checks (tests replace them). */
export interface ProviderEnvironment {
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly env: NodeJS.ProcessEnv;
  /** Folder of onnxruntime_binding.node. */
  readonly bindingDir: string | undefined;
  readonly fileExists: (path: string) => boolean;
  /** Names in a folder; [] when it does not exist. */
  readonly listDir: (dir: string) => readonly string[];
}

const require = createRequire(import.meta.url);

/**
 * Folder of onnxruntime-node's native binding for this platform, or undefined when not installed. The same
 * lookup as model/ort/session.ts's ortBindingDir, without loading ONNX Runtime (static checks stay cheap).
 */
export function ortBindingDir(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string | undefined {
  try {
    const pkg = require.resolve('onnxruntime-node/package.json');
    const dir = join(dirname(pkg), 'bin', 'napi-v6', platform, arch);
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The real environment. */
export function currentProviderEnvironment(): ProviderEnvironment {
  return { platform: process.platform, arch: process.arch, env: process.env, bindingDir: ortBindingDir(), fileExists: existsSync, listDir: listDirOrEmpty };
}

/** Static checks: what rules each provider out on this machine, without loading ONNX Runtime. */
export function staticProviderStatus(pe: ProviderEnvironment = currentProviderEnvironment()): ProviderStatus[] {
  const out: ProviderStatus[] = [];
  // CUDA
  const cudaLib = pe.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (pe.platform === 'darwin') out.push({ name: 'cuda', isUsable: false, reason: 'CUDA does not exist on macOS' });
  else if (!pe.bindingDir) out.push({ name: 'cuda', isUsable: false, reason: 'onnxruntime-node is not installed for this platform' });
  else if (!pe.fileExists(join(pe.bindingDir, cudaLib))) {
    out.push({ name: 'cuda', isUsable: false, reason: `CUDA provider libraries are not installed (${cudaLib} is not next to the ONNX Runtime binding); NVIDIA users run \`npm run setup:cuda\`` });
  } else if (pe.platform === 'linux' && !pe.fileExists('/proc/driver/nvidia/version')) {
    out.push({ name: 'cuda', isUsable: false, reason: 'no NVIDIA driver is loaded (/proc/driver/nvidia/version is missing)' });
  } else out.push({ name: 'cuda', isUsable: true, reason: `${cudaLib} is installed` });
  // WebGPU
  const webgpuPlatforms = ['linux/x64', 'win32/x64', 'win32/arm64', 'darwin/x64', 'darwin/arm64'];
  const vulkan = pe.platform === 'linux' ? linuxVulkanCheck(pe) : { ok: true, reason: '' }; // the one check, in model/ort
  if (!webgpuPlatforms.includes(`${pe.platform}/${pe.arch}`)) {
    out.push({ name: 'webgpu', isUsable: false, reason: `onnxruntime-node has no WebGPU provider for ${pe.platform}/${pe.arch}` });
  } else if (!vulkan.ok) {
    out.push({ name: 'webgpu', isUsable: false, reason: vulkan.reason });
  } else {
    out.push({ name: 'webgpu', isUsable: true, reason: pe.platform === 'linux' ? 'bundled; runs on Vulkan' : pe.platform === 'win32' ? 'bundled; runs on D3D12' : 'bundled; runs on Metal' });
  }
  out.push({ name: 'cpu', isUsable: true, reason: 'always available' });
  return out;
}

/** Parses an override ('auto' | 'cuda' | 'webgpu' | 'cpu', any case); throws naming the allowed values. */
export function parseProviderOverride(value: string | undefined, source = ''): ProviderPreference {
  return parseProviderPreference(value, source);
}

export { probeProvider };

/** Options of {@link chooseExecutionProvider}. */
export interface ChooseOptions {
  /** The user's setting; MUSILINGO_EP wins over it. Default 'auto'. */
  readonly setting?: string;
  /** Open a tiny session on each candidate before choosing it (default true). */
  readonly probe?: boolean | ((ep: ProviderName) => Promise<void>);
  readonly environment?: ProviderEnvironment;
}

/**
 * Chooses the execution provider: the override when it is usable, else the first usable of CUDA → WebGPU →
 * CPU. See [Note: Execution-provider choice].
 */
export async function chooseExecutionProvider(opts: ChooseOptions = {}): Promise<ProviderChoice> {
  const pe = opts.environment ?? currentProviderEnvironment();
  const override = pe.env['MUSILINGO_EP'] ? parseProviderOverride(pe.env['MUSILINGO_EP'], 'MUSILINGO_EP') : parseProviderOverride(opts.setting, 'the execution-provider setting');
  const probe = opts.probe === false ? undefined : typeof opts.probe === 'function' ? opts.probe : probeProvider;
  const statuses = staticProviderStatus(pe);
  const order: ProviderName[] = override === 'auto' ? [...PROVIDER_ORDER] : [override, ...PROVIDER_ORDER.filter((p) => p !== override)];
  const final = new Map<ProviderName, ProviderStatus>(statuses.map((s) => [s.name, s]));
  let chosen: ProviderName | undefined;
  for (const name of order) {
    const s = final.get(name)!;
    if (!s.isUsable) continue;
    if (probe && name !== 'cpu') {
      try {
        await probe(name);
        final.set(name, { ...s, probed: true, reason: `${s.reason}; a test session ran` });
      } catch (e) {
        final.set(name, { name, isUsable: false, probed: true, reason: `a test session failed: ${firstLine((e as Error).message)}` });
        continue;
      }
    }
    chosen = name;
    break;
  }
  chosen ??= 'cpu';
  const providers = PROVIDER_ORDER.map((n) => final.get(n)!);
  const skipped = order.slice(0, order.indexOf(chosen)).map((n) => `${n}: ${final.get(n)?.reason ?? ''}`);
  const why = override !== 'auto' && chosen !== override ? ` (asked for ${override})` : override !== 'auto' ? ' (your choice)' : '';
  const summary = `Runs on ${chosen.toUpperCase()}${why}.${skipped.length > 0 ? ` Skipped ${skipped.join('; ')}.` : ''}`;
  return { chosen, override, providers, summary };
}

/** ORT's messages start with a source path and an assertion; keep the part a user can read. */
function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  const readable = /was false\.\s*(.+)$/.exec(line)?.[1] ?? line.replace(/^\S+\.(cc|cpp|h):\d+\s+/, '');
  return readable.slice(0, 300);
}

/** Runs a command and returns its stdout, or undefined when it is missing, fails or takes more than 5 s. */
export function tryCommand(cmd: string, args: readonly string[], timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => resolve(err ? undefined : stdout.toString()));
  });
}
