/**
 * @file Loads a model pack folder (written by the converter, main/models; format in docs/model-packs.md) into
 * an {@link InferencePack}: MERT encoder session, decoder session with KV-cache generation, token embedding
 * lookups, adapter, tokenizer. Inference utility process / CLI worker thread only (ORT calls block).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { PACK_FORMAT_VERSION, PackManifestSchema, type PackManifest } from '../pack-manifest';
import { applyAdapter, loadAdapter } from '../adapter';
import { encodeWindow } from '../mert/encode';
import { checkpointEmbedder, generateTokens, MUSILINGO_STOP_SEQUENCES, type DecoderHandle } from '../llama/generate';
import { createSession, presentOutputNames, type ExecutionProvider } from '../ort/session';
import { openCheckpoint, type Checkpoint } from '../safetensors';
import { loadLlamaTokenizer } from '../tokenizer/llama-tokenizer';
import { ExecutionProviderError, parseProviderPreference, providersFor as providersForPreference, PROVIDER_PREFERENCES } from '../ort/providers';
import { InferenceError } from './protocol';
import type { InferencePack, LoadRequest } from './types';

/** Turns text into ids (no special tokens) and back; the pack's SentencePiece tokenizer. */
export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** Options of {@link loadModelPack} beyond the request; tests inject failing or recording factories. */
export interface PackLoaderOptions {
  /** Creates an ORT session (default InferenceSession.create). */
  readonly createSession?: (path: string, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
  /** Builds the tokenizer from the pack's tokenizer files (default: model/tokenizer's LLaMA SentencePiece reader). */
  readonly loadTokenizer?: (dir: string, files: { model: string; files: readonly string[] }) => Promise<TextTokenizer>;
  readonly log?: (line: string) => void;
}

/** The execution-provider preferences a load request may carry (the one list: model/ort/providers.ts). */
export const EXECUTION_PROVIDERS = PROVIDER_PREFERENCES;

/** ORT execution providers for a preference (any case), in the order they are tried. */
export function providersFor(ep: string): string[] {
  try {
    return providersForPreference(parseProviderPreference(ep, 'the load request'));
  } catch (e) {
    if (e instanceof ExecutionProviderError) throw new InferenceError('invalid-argument', e.message);
    throw e;
  }
}

/** The identity of an encoder's vectors: packs with the same MERT shape share embeddings. */
export function encoderIdOf(m: { encoder: { hiddenSize: number; numLayers: number } }): string {
  return `mert-${m.encoder.hiddenSize}x${m.encoder.numLayers}`;
}

async function readManifest(dir: string): Promise<PackManifest> {
  const path = join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InferenceError('model-unavailable', code === 'ENOENT' ? `Model pack ${dir} is missing or incomplete: it has no manifest.json.` : `Cannot read ${path}: ${(e as Error).message}`);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== PACK_FORMAT_VERSION) {
    throw new InferenceError('model-unavailable', `Model pack ${dir} has format version ${JSON.stringify(version)}, this app runs version ${PACK_FORMAT_VERSION}: convert it again.`);
  }
  const parsed = PackManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InferenceError('model-unavailable', `${path} is not a model pack this version can run (convert it again): ${parsed.error.issues[0]?.message ?? parsed.error.message}`);
  }
  return parsed.data;
}

/**
 * Checks every artefact the manifest lists against its recorded size (STYLE B5: nothing is loaded unverified).
 * Sizes catch truncated copies and interrupted writes at the cost of one stat each; the full sha256 check runs
 * when the pack is made and when the model manager verifies it, not on every load of a multi-GB pack.
 */
async function verifySizes(dir: string, files: Record<string, { sizeBytes: number }>): Promise<void> {
  for (const [name, f] of Object.entries(files)) {
    let size: number;
    try {
      size = (await stat(join(dir, name))).size;
    } catch {
      throw new InferenceError('model-unavailable', `Model pack ${dir} is damaged: ${name} is missing. Convert or download it again (musilingo models).`);
    }
    if (size !== f.sizeBytes) {
      throw new InferenceError('model-unavailable', `Model pack ${dir} is damaged: ${name} is ${size} bytes, the manifest says ${f.sizeBytes}. Convert or download it again (musilingo models).`);
    }
  }
}

async function defaultTokenizer(dir: string): Promise<TextTokenizer> {
  try {
    return await loadLlamaTokenizer(dir);
  } catch (e) {
    throw new InferenceError('model-unavailable', `Model pack ${dir} has an unusable tokenizer: ${(e as Error).message}`);
  }
}

/** Loads the pack at `req.packDir`. Throws an InferenceError naming the file and the cause. */
export async function loadModelPack(req: LoadRequest, opts: PackLoaderOptions = {}): Promise<InferencePack> {
  const dir = req.packDir;
  const log = opts.log ?? (() => undefined);
  const m = await readManifest(dir);
  await verifySizes(dir, m.files);
  const providers = providersFor(req.executionProvider ?? 'auto'); // throws InferenceError for an unknown name
  const ep = parseProviderPreference(req.executionProvider);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: ep === 'auto' ? ['cpu'] : providersFor(ep),
    intraOpNumThreads: req.threads ?? 0,
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
  };
  const skipped: string[] = [];
  let runsOn = ep === 'auto' ? 'cpu' : ep;
  // [Note: Execution provider choice] Without an injected factory, sessions come from model/ort/session.ts:
  // 'auto' tries CUDA (when its libraries are installed), WebGPU, then the CPU, and the decoder keeps its KV
  // cache on the GPU under WebGPU. An explicit provider is tried alone; if it fails the service retries the
  // load on the CPU and reports why (model/inference/service.ts, [Note: Session fallback]).
  const create = async (path: string, isDecoder: boolean): Promise<ort.InferenceSession> => {
    if (opts.createSession) return opts.createSession(path, sessionOptions);
    const created = await createSession(path, {
      ...(ep === 'auto' ? {} : { providers: providers.map((p) => p as ExecutionProvider) }),
      intraOpNumThreads: req.threads ?? 0,
      ...(isDecoder ? { gpuOutputNames: presentOutputNames(m.decoder.numLayers) } : {}),
      log,
    });
    if (isDecoder) runsOn = created.ep;
    for (const s of created.skipped) skipped.push(`${s.ep}: ${s.reason}`);
    return created.session;
  };
  const t0 = performance.now();
  const opened: { sessions: ort.InferenceSession[]; checkpoints: Checkpoint[] } = { sessions: [], checkpoints: [] };
  const release = async (): Promise<void> => {
    await Promise.allSettled([...opened.sessions.map((s) => s.release()), ...opened.checkpoints.map((c) => c.close())]);
  };
  try {
    if (!m.tokenizer) throw new InferenceError('model-unavailable', `Model pack ${dir} has no tokenizer; convert it again with its tokenizer.`);
    const tokenizer = await (opts.loadTokenizer ?? defaultTokenizer)(dir, m.tokenizer);
    const encoder = await create(join(dir, m.encoder.file), false);
    opened.sessions.push(encoder);
    const decoderSession = await create(join(dir, m.decoder.file), true);
    opened.sessions.push(decoderSession);
    const embedCk = await openCheckpoint(join(dir, m.embeddings.file));
    opened.checkpoints.push(embedCk);
    const adapterFile = req.adapterPath ?? join(dir, m.adapter.file);
    const adapterCk = await openCheckpoint(adapterFile);
    opened.checkpoints.push(adapterCk);
    const adapter = await loadAdapter(adapterCk, { inDim: m.encoder.hiddenSize, outDim: m.decoder.hiddenSize });
    const decoder: DecoderHandle = {
      session: decoderSession,
      spec: { variant: m.variant as 'float32', dtype: m.decoder.dtype, numLayers: m.decoder.numLayers, numHeads: m.decoder.numHeads, numKvHeads: m.decoder.numKvHeads, headDim: m.decoder.headDim, hiddenSize: m.decoder.hiddenSize, vocabSize: m.decoder.vocabSize, lastTokenLogitsOnly: m.decoder.lastTokenLogitsOnly, attention: m.decoder.attention },
      embedder: checkpointEmbedder(embedCk, m.embeddings.tensor),
      executionProvider: runsOn,
    };
    log(`[model] pack ${basename(dir)} loaded in ${Math.round(performance.now() - t0)} ms on ${ep}`);
    return {
      info: {
        modelId: `${m.modelId}@${m.variant}`,
        adapterId: req.adapterId ?? '',
        encoderId: encoderIdOf(m),
        dir,
        hiddenSize: m.decoder.hiddenSize,
        maxPositions: m.decoder.maxPositions,
        bosId: m.decoder.bosId,
        executionProvider: runsOn,
        ...(ep === 'auto' && skipped.length > 0 ? { providerNotes: [...new Set(skipped)].join('; ') } : {}),
        variant: m.variant,
      },
      encodeText: (t) => tokenizer.encode(t),
      decodeText: (ids) => tokenizer.decode(ids),
      async encodeAudio(pcm) {
        const w = await encodeWindow(encoder, pcm, { poolWindow: m.encoder.poolFrames, log });
        return { rows: w.tokens, dim: w.dim, data: w.pooled };
      },
      projectAudio: (p) => applyAdapter(adapter, p.data, p.rows),
      embedTokens: (ids) => decoder.embedder.embed(ids),
      async generate(g) {
        // A GroupQueryAttention graph cannot take padded prompts: run each prompt length as its own batch.
        const groups = new Map<number, number[]>();
        g.prompts.forEach((p, i) => {
          const key = m.decoder.attention === 'gqa' ? p.length : 0;
          groups.set(key, [...(groups.get(key) ?? []), i]);
        });
        const out: number[][] = g.prompts.map(() => []);
        for (const rows of groups.values()) {
          const tokens = await generateRows(rows.map((i) => g.prompts[i]!), (row, token) => g.onToken?.(rows[row]!, token));
          rows.forEach((i, k) => (out[i] = tokens[k] ?? []));
        }
        return out;

        async function generateRows(prompts: Float32Array[], onToken: (row: number, token: number) => void): Promise<number[][]> {
          const results = await generateTokens(decoder, prompts, {
            maxNewTokens: g.maxNewTokens ?? 300,
            ...(g.temperature !== undefined ? { temperature: g.temperature } : {}),
            ...(g.topP !== undefined ? { topP: g.topP } : {}),
            ...(g.repetitionPenalty !== undefined ? { repetitionPenalty: g.repetitionPenalty } : {}),
            ...(g.seed !== undefined ? { seed: g.seed } : {}),
            ...(g.signal ? { signal: g.signal } : {}),
            stopSequences: MUSILINGO_STOP_SEQUENCES,
            eosTokenIds: m.decoder.eosIds,
            onToken: (e) => onToken(e.row, e.token),
            log,
          });
          if (g.signal?.aborted) throw new InferenceError('cancelled', 'Cancelled.');
          return results.map((r) => r.tokens);
        }
      },
      dispose: release,
    };
  } catch (e) {
    await release();
    if (e instanceof InferenceError) throw e;
    throw new InferenceError('session-failed', `Cannot load model pack ${dir}: ${(e as Error).message}`);
  }
}
