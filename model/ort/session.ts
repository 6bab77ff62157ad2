/**
 * @file ONNX Runtime session creation with execution-provider fallback: CUDA → WebGPU → CPU (utility
 * processes, CLI; no Electron).
 *
 * [Note: Execution-provider fallback]
 * onnxruntime-node 1.30 bundles CPU and WebGPU; CUDA works only when its provider libraries
 * (libonnxruntime_providers_cuda.so/.dll + _shared) sit next to the binding (the documented setup script
 * installs them). Session creation fails rather than falls back when an EP cannot run (no CUDA libraries,
 * no Vulkan/D3D12/Metal adapter), so each EP is tried alone, in order, with explicit SessionOptions; a
 * failure is logged in one line and the next EP is tried. The result says which EP runs and why each
 * better one was skipped (main/models/providers.ts turns that into the user-facing doctor).
 * On WebGPU, outputs named in `gpuOutputNames` (the decoder's present.*) stay on the GPU
 * (`preferredOutputLocation: 'gpu-buffer'`), so the KV cache is not copied to the host every token.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';

import { EXECUTION_PROVIDERS, linuxVulkanCheck, type ExecutionProvider } from './providers';

/** Execution providers in preference order (the one list lives in ./providers.ts). */
export { EXECUTION_PROVIDERS, type ExecutionProvider };

/** Why an EP was not used. */
export interface SkippedProvider {
  ep: ExecutionProvider;
  reason: string;
}

/** A session and how it was obtained. */
export interface CreatedSession {
  session: ort.InferenceSession;
  ep: ExecutionProvider;
  skipped: SkippedProvider[];
}

/** Options of {@link createSession}. */
export interface CreateSessionOptions {
  /** EPs to try, in order (default CUDA, WebGPU, CPU). */
  providers?: readonly ExecutionProvider[];
  /** CPU threads (default 0 = ORT's choice). */
  intraOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  enableCpuMemArena?: boolean;
  /** Outputs to keep on the GPU under WebGPU (e.g. the decoder's present.*). */
  gpuOutputNames?: readonly string[];
  /** One line per attempt. */
  log?: (line: string) => void;
  /** Folder of onnxruntime_binding.node (tests override it). */
  bindingDir?: string;
}

/** All EPs failed. */
export class NoExecutionProviderError extends Error {
  constructor(readonly modelPath: string, readonly skipped: SkippedProvider[]) {
    super(`Cannot open ${modelPath} on any execution provider: ${skipped.map((s) => `${s.ep}: ${s.reason}`).join('; ')}`);
    this.name = 'NoExecutionProviderError';
  }
}

/** The folder holding onnxruntime-node's native binding for this platform, if found. */
export function ortBindingDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const dir = join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the CUDA provider's libraries are installed next to the binding; the reason when not. */
export function cudaProviderCheck(bindingDir = ortBindingDir()): { ok: boolean; reason: string } {
  if (process.platform !== 'linux' && process.platform !== 'win32') return { ok: false, reason: `no CUDA build of ONNX Runtime for ${process.platform}` };
  if (bindingDir === undefined) return { ok: false, reason: 'onnxruntime-node binding folder not found' };
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!existsSync(join(bindingDir, lib))) return { ok: false, reason: `${lib} is not installed in ${bindingDir} (run the CUDA setup script)` };
  return { ok: true, reason: `${lib} found` };
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // ORT messages start with a source path; keep the part after the last "] " or the whole first line.
  const line = text.split('\n')[0] ?? text;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * Creates a session for `modelPath` on the first EP that works. See [Note: Execution-provider fallback].
 * Throws {@link NoExecutionProviderError} listing every EP's failure when none does.
 */
export async function createSession(modelPath: string, opts: CreateSessionOptions = {}): Promise<CreatedSession> {
  const providers = opts.providers ?? EXECUTION_PROVIDERS;
  const skipped: SkippedProvider[] = [];
  const log = opts.log ?? (() => undefined);
  for (const ep of providers) {
    if (!EXECUTION_PROVIDERS.includes(ep)) {
      throw new RangeError(`Unsupported execution provider "${String(ep)}". Expected one of: ${EXECUTION_PROVIDERS.join(', ')}`);
    }
    if (ep === 'cuda') {
      const check = cudaProviderCheck(opts.bindingDir ?? ortBindingDir());
      if (!check.ok) {
        skipped.push({ ep, reason: check.reason });
        log(`[ort] ${modelPath}: skipping cuda: ${check.reason}`);
        continue;
      }
    }
    if (ep === 'webgpu' && process.platform === 'linux') {
      const check = linuxVulkanCheck();
      if (!check.ok) {
        skipped.push({ ep, reason: check.reason });
        log(`[ort] ${modelPath}: skipping webgpu: ${check.reason}`);
        continue;
      }
    }
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [ep],
      intraOpNumThreads: opts.intraOpNumThreads ?? 0,
      graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
      enableCpuMemArena: opts.enableCpuMemArena ?? true,
    };
    if (ep === 'webgpu' && opts.gpuOutputNames && opts.gpuOutputNames.length > 0) {
      options.preferredOutputLocation = Object.fromEntries(opts.gpuOutputNames.map((n) => [n, 'gpu-buffer' as const]));
    }
    const t0 = performance.now();
    try {
      const session = await ort.InferenceSession.create(modelPath, options);
      log(`[ort] ${modelPath}: running on ${ep} (created in ${(performance.now() - t0).toFixed(0)} ms)`);
      return { session, ep, skipped };
    } catch (e) {
      const reason = firstLine(e);
      skipped.push({ ep, reason });
      log(`[ort] ${modelPath}: ${ep} failed, trying the next provider: ${reason}`);
    }
  }
  throw new NoExecutionProviderError(modelPath, skipped);
}

/** Names of a decoder's present.* outputs (for `gpuOutputNames`). */
export function presentOutputNames(numLayers: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < numLayers; i++) out.push(`present.${i}.key`, `present.${i}.value`);
  return out;
}
