/**
 * @file Converts a MusiLingo checkpoint (MERT + Vicuna + llama_proj, any wrapper prefix) into a model pack:
 * encoder.onnx, decoder.onnx (+ .data), embed.safetensors, adapter.safetensors, tokenizer files and
 * manifest.json. Orchestration only: the graphs come from model/mert/encoder-graph.ts and
 * model/llama/build-decoder.ts. Plain Node (CLI, a worker); it runs ONNX Runtime for the smoke run, so in the
 * desktop app it belongs in a utility process, never in main.
 *
 * [Note: Resumable conversion]
 * Each artefact is written under a temporary name (graphs in a `.build-<name>` folder, because an .onnx file
 * names its .data file) and renamed into place when complete; `.convert-state.json` records the finished
 * artefacts with their sizes and hashes, keyed by the source files, the variant and the pack format version.
 * A killed conversion starts again after the last finished artefact; a different source, variant or format
 * starts from scratch. manifest.json is written last, after the smoke run, so a pack with a manifest is a
 * complete, verified pack. Memory stays low because the builders stream one tensor at a time and the
 * embedding table is copied in row blocks.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { loadAdapter } from '../../model/adapter';
import { buildLlamaDecoder, type DecoderSpec } from '../../model/llama/build-decoder';
import type { LlamaConfig } from '../../model/llama/config';
import type { MertConfig } from '../../model/mert/config';
import { buildMertEncoder } from '../../model/mert/encoder-graph';
import { openCheckpoint, writeSafetensors, type Checkpoint } from '../../model/safetensors';
import { f32ToF16 } from '../../model/tensor/half';
import type { ModelVariant } from '../db/models';
import { checkpointFiles, expandSources, findConfigs } from './checkpoint-files';
import { BadCheckpointError, BadPackError, CancelledError, ModelError } from './errors';
import { MANIFEST_FILE, PACK_FORMAT_VERSION, type PackManifest } from './pack';
import { checkTokenizer } from './tokenizer-check';

/** The app version written into manifests. */
export const CREATED_BY = 'musilingo-desktop 0.1.0';

/** Stages of a conversion, in order. */
export type ConvertStage = 'checking' | 'adapter' | 'embeddings' | 'tokenizer' | 'encoder' | 'decoder' | 'smoke' | 'manifest' | 'done';

/** Progress of {@link convertCheckpoint}. */
export interface ConvertProgress {
  readonly stage: ConvertStage;
  /** 0..1 over the whole conversion (the decoder dominates). */
  readonly fraction: number;
  /** What is being written, e.g. a tensor name. */
  readonly detail?: string;
  /** True when the stage was already done by an earlier run. */
  readonly isResumed?: boolean;
}

/** Where the checkpoint came from, copied into the manifest. */
export interface Provenance {
  readonly repo?: string;
  readonly revision?: string;
  readonly commit?: string;
  readonly files?: Readonly<Record<string, { readonly sizeBytes: number; readonly sha256?: string | undefined; readonly etag?: string | undefined }>>;
}

/** Options of {@link convertCheckpoint}. */
export interface ConvertOptions {
  readonly modelId: string;
  /** Checkpoint folder(s), index file(s) or .safetensors file(s). */
  readonly sources: string | readonly string[];
  /** Folder with tokenizer.model (+ tokenizer_config.json, special_tokens_map.json); default: the first source folder. */
  readonly tokenizerDir?: string;
  /** The pack folder to create. */
  readonly outDir: string;
  readonly variant: ModelVariant;
  /**
   * Activation dtype of the int4 decoder and dtype of the encoder in the int4 variant: float16 for GPUs,
   * float32 for the CPU EP. Default float16.
   */
  readonly activationDtype?: 'float32' | 'float16';
  /**
   * Decoder attention: 'ops' (MatMul/Softmax, any EP, padded batches) or 'gqa' (GroupQueryAttention contrib op,
   * KV cache in place on the CPU EP). Default 'gqa' for CPU packs (int4 with float32 activations and
   * accuracy level 4), 'ops' otherwise. See [Note: CPU int4 packs].
   */
  readonly attention?: 'ops' | 'gqa';
  /**
   * int4 only: MatMulNBits accuracy_level. Default 4 (int8 activations inside the matmul, CPU EP) for
   * float32-activation packs, which are CPU packs; 0 (as the activations) otherwise. See [Note: CPU int4 packs].
   */
  readonly accuracyLevel?: 0 | 4;
  readonly provenance?: Provenance;
  readonly encoderConfig?: MertConfig;
  readonly decoderConfig?: LlamaConfig;
  /** Execution providers for the smoke run (default ['cpu']); a pack must run on the CPU EP anyway. */
  readonly smokeExecutionProviders?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ConvertProgress) => void;
  /** Test hook: called after each finished artefact (a test kills the conversion here). */
  readonly afterArtefact?: (name: string) => void | Promise<void>;
}

interface Artefact {
  sizeBytes: number;
  sha256: string;
}

interface ConvertState {
  key: string;
  done: Record<string, Artefact>;
  info: Record<string, unknown>;
}

const STATE_FILE = '.convert-state.json';
const STAGE_SPAN: Record<ConvertStage, [number, number]> = {
  checking: [0, 0.01],
  adapter: [0.01, 0.02],
  embeddings: [0.02, 0.05],
  tokenizer: [0.05, 0.05],
  encoder: [0.05, 0.12],
  decoder: [0.12, 0.95],
  smoke: [0.95, 0.99],
  manifest: [0.99, 1],
  done: [1, 1],
};

async function sha256File(path: string): Promise<Artefact> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sizeBytes: size, sha256: h.digest('hex') };
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(value, null, 2));
  await rename(`${path}.tmp`, path);
}

/**
 * Copies the embedding table to `path` as a one-tensor safetensors file in `dtype`, in blocks of rows, so a
 * 32001×4096 table never sits in memory twice.
 */
async function writeEmbeddingTable(ck: Checkpoint, name: string, path: string, dtype: 'F32' | 'F16'): Promise<{ rows: number; dim: number }> {
  const info = ck.info(name);
  const [rows, dim] = info.shape as [number, number];
  const elt = dtype === 'F32' ? 4 : 2;
  let header = JSON.stringify({ 'embed_tokens.weight': { dtype, shape: [rows, dim], data_offsets: [0, rows * dim * elt] } });
  header += ' '.repeat((8 - (Buffer.byteLength(header) % 8)) % 8);
  const hb = Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  const h = await open(path, 'w');
  try {
    await h.write(len);
    await h.write(hb);
    const block = Math.max(1, Math.floor((8 << 20) / (dim * 4)));
    for (let r = 0; r < rows; r += block) {
      const n = Math.min(block, rows - r);
      let bytes: Uint8Array;
      if (dtype === info.dtype) {
        bytes = (await ck.readRowsRaw(name, r, n)).bytes;
      } else {
        const f = await ck.readRowsF32(name, r, n);
        const out = dtype === 'F32' ? f : f32ToF16(f);
        bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      }
      await h.write(bytes);
    }
  } finally {
    await h.close();
  }
  return { rows, dim };
}

function sourceKey(files: readonly { path: string; size: number }[], variant: string, act: string, commit: string | undefined, attention: string, accuracyLevel: number): string {
  const h = createHash('sha256');
  h.update(`format ${PACK_FORMAT_VERSION}\nvariant ${variant}\nact ${act}\ncommit ${commit ?? ''}\nattention ${attention}\n`);
  if (accuracyLevel !== 0) h.update(`accuracy ${accuracyLevel}\n`);
  for (const f of files) h.update(`${basename(f.path)} ${f.size}\n`);
  return h.digest('hex');
}

/**
 * Converts a checkpoint into a verified model pack in `opts.outDir` and returns its manifest.
 * See [Note: Resumable conversion]. Throws BadCheckpointError for a checkpoint that cannot be converted,
 * BadPackError when the smoke run fails, CancelledError on abort.
 */
export async function convertCheckpoint(opts: ConvertOptions): Promise<PackManifest> {
  const out = opts.outDir;
  const variant = opts.variant;
  const act = variant === 'float32' ? 'float32' : variant === 'float16' ? 'float16' : (opts.activationDtype ?? 'float16');
  const encoderDtype: 'float32' | 'float16' = act;
  // [Note: CPU int4 packs] A float32-activation int4 pack is what a machine without a usable GPU gets. With
  // accuracy_level 0 the CPU kernel unpacks the weights to float32 and is bound by arithmetic; level 4
  // quantizes each activation block to int8 and multiplies int4 × int8 (as llama.cpp's Q4_0 does), which
  // bench/cpu-decode.ts measured 2–3× faster per token. It is a numeric mode of its own: logits stay within
  // 0.04 · max|logits| of the float32-activation graph on the tiny fixtures
  // (test/unit/model/llama/int8-activations.test.ts); accuracyLevel 0 keeps the exact float32 path.
  const accuracyLevel = variant === 'int4' ? (opts.accuracyLevel ?? (act === 'float32' ? 4 : 0)) : 0;
  // The same CPU packs get GroupQueryAttention: on the CPU EP its graph keeps the KV cache in place
  // (model/llama/generate.ts [Note: KV cache in place]), and bench/cpu-decode.ts measured it faster than 'ops'
  // at accuracy level 4 on every figure of its warmed-up runs (prefill, decode at batch 1 and 8; hidden 1024
  // and 4096; docs/model-core.md). At level 0 the two were within noise of each other, so other packs keep
  // 'ops', which also takes padded batches.
  const attention = opts.attention ?? (variant === 'int4' && act === 'float32' && accuracyLevel === 4 ? 'gqa' : 'ops');
  const report = (stage: ConvertStage, within = 0, detail?: string, isResumed?: boolean): void => {
    const [a, b] = STAGE_SPAN[stage];
    opts.onProgress?.({ stage, fraction: a + (b - a) * within, ...(detail !== undefined ? { detail } : {}), ...(isResumed ? { isResumed } : {}) });
  };
  const check = (): void => {
    if (opts.signal?.aborted) throw new CancelledError(`Conversion of ${opts.modelId}`);
  };

  report('checking');
  const files = await checkpointFiles(opts.sources);
  const sourceDirs = [...new Set((await expandSources(opts.sources)).map((s) => (s.endsWith('.safetensors') || s.endsWith('.json') ? dirname(s) : s)))];
  let ck: Checkpoint;
  try {
    ck = await openCheckpoint(files);
  } catch (e) {
    throw new BadCheckpointError((e as Error).message);
  }
  try {
    const configs = await findConfigs(sourceDirs, ck, { encoder: opts.encoderConfig, decoder: opts.decoderConfig }).catch((e: unknown) => {
      if (e instanceof ModelError) throw e;
      throw new BadCheckpointError((e as Error).message);
    });
    const sizes = await Promise.all(files.map(async (f) => ({ path: f, size: (await stat(f)).size })));
    const key = sourceKey(sizes, variant, act, opts.provenance?.commit, attention, accuracyLevel);

    // Resume or start over (see [Note: Resumable conversion]).
    await mkdir(out, { recursive: true });
    const statePath = join(out, STATE_FILE);
    let state: ConvertState | undefined;
    try {
      state = JSON.parse(await readFile(statePath, 'utf8')) as ConvertState;
    } catch {
      state = undefined;
    }
    if (!state || state.key !== key) {
      for (const f of await readdir(out)) await rm(join(out, f), { recursive: true, force: true });
      state = { key, done: {}, info: {} };
      await writeJsonAtomic(statePath, state);
    } else {
      await rm(join(out, MANIFEST_FILE), { force: true });
    }
    const st = state;
    const finish = async (name: string, info?: unknown): Promise<void> => {
      st.done[name] = await sha256File(join(out, name));
      if (info !== undefined) st.info[name] = info;
      await writeJsonAtomic(statePath, st);
      await opts.afterArtefact?.(name);
    };
    const isDone = async (name: string): Promise<boolean> => {
      const a = st.done[name];
      if (!a) return false;
      const s = await stat(join(out, name)).catch(() => undefined);
      return s?.size === a.sizeBytes;
    };

    // 1. Adapter (llama_proj), float32.
    check();
    if (await isDone('adapter.safetensors')) report('adapter', 1, undefined, true);
    else {
      report('adapter');
      const adapter = await loadAdapter(ck, { inDim: configs.encoder.hiddenSize, outDim: configs.decoder.hiddenSize }).catch((e: unknown) => {
        throw new BadCheckpointError((e as Error).message);
      });
      const tmp = join(out, 'adapter.safetensors.tmp');
      await writeSafetensors(tmp, {
        'llama_proj.weight': { data: adapter.weight, shape: [adapter.outDim, adapter.inDim] },
        'llama_proj.bias': { data: adapter.bias, shape: [adapter.outDim] },
      }, { format: 'pt' });
      await rename(tmp, join(out, 'adapter.safetensors'));
      await finish('adapter.safetensors', { inDim: adapter.inDim, outDim: adapter.outDim });
    }

    // 2. Embedding table for JS-side lookup.
    check();
    const embedName = ck.findBySuffix('embed_tokens.weight');
    if (!embedName) throw new BadCheckpointError(`No Llama decoder in ${files.join(', ')}: no tensor named "*embed_tokens.weight"`);
    const embedDtype = variant === 'float32' ? 'F32' : 'F16';
    if (await isDone('embed.safetensors')) report('embeddings', 1, undefined, true);
    else {
      report('embeddings');
      const tmp = join(out, 'embed.safetensors.tmp');
      const dims = await writeEmbeddingTable(ck, embedName, tmp, embedDtype);
      await rename(tmp, join(out, 'embed.safetensors'));
      await finish('embed.safetensors', dims);
    }

    // 3. Tokenizer files (checked: <s> = 1, </s> = 2).
    check();
    report('tokenizer');
    const tokDir = opts.tokenizerDir ?? sourceDirs.find((d) => existsSync(join(d, 'tokenizer.model'))) ?? sourceDirs[0] ?? '';
    const tokenizerFiles: string[] = [];
    let tokenizer: PackManifest['tokenizer'] = null;
    const spPath = join(tokDir, 'tokenizer.model');
    const spBytes = await readFile(spPath).catch(() => undefined);
    if (spBytes) {
      // Loaded and run on a test string with inference's own tokenizer code, so that a pack is never Ready
      // with a tokenizer the first caption cannot use.
      await checkTokenizer(tokDir);
      for (const f of ['tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json']) {
        const src = join(tokDir, f);
        if (!(await stat(src).catch(() => undefined))) continue;
        if (!(await isDone(f))) {
          await copyFile(src, join(out, `${f}.tmp`));
          await rename(join(out, `${f}.tmp`), join(out, f));
          await finish(f);
        }
        tokenizerFiles.push(f);
      }
      tokenizer = { model: 'tokenizer.model', files: tokenizerFiles, bosId: 1, eosId: 2 };
    }

    // 4. Encoder graph.
    check();
    const buildGraph = async (name: 'encoder' | 'decoder', build: (outPath: string) => Promise<unknown>): Promise<{ dataFile: string | null; info: unknown }> => {
      const file = `${name}.onnx`;
      if (await isDone(file)) {
        report(name, 1, undefined, true);
        return st.info[file] as { dataFile: string | null; info: unknown };
      }
      const buildDir = join(out, `.build-${name}`);
      await rm(buildDir, { recursive: true, force: true });
      await mkdir(buildDir);
      const info = await build(join(buildDir, file));
      const hasData = (await stat(join(buildDir, `${file}.data`)).catch(() => undefined)) !== undefined;
      if (hasData) {
        await rename(join(buildDir, `${file}.data`), join(out, `${file}.data`));
        st.done[`${file}.data`] = await sha256File(join(out, `${file}.data`));
      }
      await rename(join(buildDir, file), join(out, file));
      await rm(buildDir, { recursive: true, force: true });
      const rec = { dataFile: hasData ? `${file}.data` : null, info };
      await finish(file, rec);
      return rec;
    };
    const enc = await buildGraph('encoder', async (outPath) => {
      report('encoder');
      const built = await buildMertEncoder({ checkpoint: ck, config: configs.encoder, variant: encoderDtype, outPath }).catch((e: unknown) => {
        throw new BadCheckpointError((e as Error).message);
      });
      return { hiddenSize: built.hiddenSize, numLayers: built.numLayers };
    });

    // 5. Decoder graph (most of the time goes here).
    check();
    const dec = await buildGraph('decoder', async (outPath) => {
      report('decoder');
      return buildLlamaDecoder({
        checkpoint: ck,
        config: configs.decoder,
        variant,
        outPath,
        int4ActivationDtype: act,
        ...(accuracyLevel !== 0 ? { accuracyLevel } : {}),
        attention,
        onProgress: (p) => {
          check();
          report('decoder', p.done / p.total, p.tensor);
        },
      }).catch((e: unknown) => {
        if (e instanceof ModelError) throw e;
        throw new BadCheckpointError((e as Error).message);
      });
    });
    const spec = dec.info as DecoderSpec;
    const embedInfo = st.info['embed.safetensors'] as { rows: number; dim: number };
    const adapterInfo = st.info['adapter.safetensors'] as { inDim: number; outDim: number };

    // 6. Smoke run, then the manifest.
    check();
    report('smoke');
    const smoke = await smokeRun(out, { spec, encoderFile: 'encoder.onnx', decoderFile: 'decoder.onnx', eps: opts.smokeExecutionProviders ?? ['cpu'], adapterDims: adapterInfo });
    check();
    report('manifest');
    const filesOut: Record<string, Artefact> = {};
    for (const [name, a] of Object.entries(st.done)) filesOut[name] = a;
    const encInfo = enc.info as { hiddenSize: number; numLayers: number };
    const manifest: PackManifest = {
      format: 'musilingo-pack',
      formatVersion: PACK_FORMAT_VERSION,
      createdBy: CREATED_BY,
      createdAt: new Date().toISOString(),
      modelId: opts.modelId,
      variant,
      source: {
        ...(opts.provenance?.repo !== undefined ? { repo: opts.provenance.repo } : {}),
        ...(opts.provenance?.revision !== undefined ? { revision: opts.provenance.revision } : {}),
        ...(opts.provenance?.commit !== undefined ? { commit: opts.provenance.commit } : {}),
        ...(opts.provenance?.repo === undefined ? { path: sourceDirs.join(', ') } : {}),
        files: Object.fromEntries(
          sizes.map((s) => {
            const p = opts.provenance?.files?.[basename(s.path)];
            return [basename(s.path), { sizeBytes: s.size, ...(p?.sha256 ? { sha256: p.sha256 } : {}), ...(p?.etag ? { etag: p.etag } : {}) }];
          }),
        ),
      },
      encoder: {
        file: 'encoder.onnx',
        dataFile: enc.dataFile,
        dtype: encoderDtype,
        hiddenSize: encInfo.hiddenSize,
        numLayers: encInfo.numLayers,
        sampleRateHz: configs.encoder.sampleRateHz,
        poolFrames: 325,
        config: { ...configs.encoder, from: configs.encoderFrom },
      },
      decoder: {
        file: 'decoder.onnx',
        dataFile: dec.dataFile,
        dtype: spec.dtype,
        numLayers: spec.numLayers,
        numHeads: spec.numHeads,
        numKvHeads: spec.numKvHeads,
        headDim: spec.headDim,
        hiddenSize: spec.hiddenSize,
        vocabSize: spec.vocabSize,
        maxPositions: configs.decoder.maxPositionEmbeddings,
        bosId: configs.decoder.bosTokenId,
        eosIds: configs.decoder.eosTokenIds,
        lastTokenLogitsOnly: spec.lastTokenLogitsOnly,
        attention: spec.attention,
        ...(accuracyLevel !== 0 ? { accuracyLevel } : {}),
        config: { ...configs.decoder, from: configs.decoderFrom },
      },
      embeddings: { file: 'embed.safetensors', tensor: 'embed_tokens.weight', dtype: embedDtype, rows: embedInfo.rows, dim: embedInfo.dim },
      adapter: { file: 'adapter.safetensors', inDim: adapterInfo.inDim, outDim: adapterInfo.outDim },
      tokenizer,
      files: filesOut,
      smoke,
    };
    await writeJsonAtomic(join(out, MANIFEST_FILE), manifest);
    await rm(statePath, { force: true });
    report('done', 1);
    return manifest;
  } finally {
    await ck.close();
  }
}

/**
 * Loads both graphs, encodes 1 s of silence, projects it with the adapter, runs the decoder on
 * [embedding row 1 (bos), audio tokens] and then one cached decode step; every output must be finite.
 * Throws BadPackError naming the graph that failed.
 */
export async function smokeRun(
  dir: string,
  o: { spec: DecoderSpec; encoderFile: string; decoderFile: string; eps: readonly string[]; adapterDims: { inDim: number; outDim: number } },
): Promise<PackManifest['smoke']> {
  const ort = await import('onnxruntime-node');
  const { openCheckpoint: openCk } = await import('../../model/safetensors');
  const { applyAdapter, loadAdapter: load } = await import('../../model/adapter');
  const { encodeWindow } = await import('../../model/mert/encode');
  // [Note: Smoke-run providers] The first provider in `o.eps` that opens both sessions runs the smoke test
  // (a GPU provider that cannot start falls through to the next, normally the CPU); a pack that no provider can
  // open is broken.
  let ep = o.eps[0] ?? 'cpu';
  const open = async (file: string): Promise<Awaited<ReturnType<typeof ort.InferenceSession.create>>> => {
    const tried: string[] = [];
    for (const candidate of o.eps.slice(Math.max(0, o.eps.indexOf(ep)))) {
      try {
        const s = await ort.InferenceSession.create(join(dir, file), { executionProviders: [candidate], graphOptimizationLevel: 'all', enableCpuMemArena: true, intraOpNumThreads: 0 });
        ep = candidate;
        return s;
      } catch (e) {
        tried.push(`${candidate}: ${(e as Error).message.split('\n')[0] ?? ''}`);
      }
    }
    throw new BadPackError(`The pack's ${file} does not load (${tried.join('; ')})`);
  };
  let encoder: Awaited<ReturnType<typeof ort.InferenceSession.create>> | undefined;
  let decoder: typeof encoder;
  try {
    encoder = await open(o.encoderFile);
    const t0 = performance.now();
    const encoded = await encodeWindow(encoder, new Float32Array(24000)).catch((e: unknown) => {
      throw new BadPackError(`The pack's encoder failed on 1 s of silence: ${(e as Error).message}`, e);
    });
    const encodeMs = performance.now() - t0;
    if (!encoded.pooled.every(Number.isFinite)) throw new BadPackError(`The pack's encoder produced non-finite values on 1 s of silence (${join(dir, o.encoderFile)}).`);
    const ack = await openCk(join(dir, 'adapter.safetensors'));
    const adapter = await load(ack).finally(() => ack.close());
    const audio = applyAdapter(adapter, encoded.pooled, encoded.tokens);
    const eck = await openCk(join(dir, 'embed.safetensors'));
    const bos = await eck.readRowsF32('embed_tokens.weight', 1, 1).finally(() => eck.close());

    decoder = await open(o.decoderFile);
    const { spec } = o;
    const H = spec.hiddenSize;
    const toT = (data: Float32Array, dims: number[]): InstanceType<typeof ort.Tensor> =>
      spec.dtype === 'float16' ? new ort.Tensor('float16', f32ToF16(data), dims) : new ort.Tensor('float32', data, dims);
    const n = 1 + encoded.tokens;
    const embeds = new Float32Array(n * H);
    embeds.set(bos, 0);
    embeds.set(audio, H);
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      inputs_embeds: toT(embeds, [1, n, H]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    };
    for (let i = 0; i < spec.numLayers; i++) {
      feeds[`past_key_values.${i}.key`] = toT(new Float32Array(0), [1, spec.numKvHeads, 0, spec.headDim]);
      feeds[`past_key_values.${i}.value`] = toT(new Float32Array(0), [1, spec.numKvHeads, 0, spec.headDim]);
    }
    let first;
    try {
      first = await decoder.run(feeds);
    } catch (e) {
      throw new BadPackError(`The pack's decoder failed on its first step: ${(e as Error).message}`, e);
    }
    const logits = first.logits?.data as Float32Array | undefined;
    if (!logits || !logits.every(Number.isFinite)) throw new BadPackError(`The pack's decoder produced non-finite logits (${join(dir, o.decoderFile)}).`);
    // One cached decode step with the last position's argmax.
    const V = spec.vocabSize;
    const last = logits.subarray(logits.length - V);
    let best = 0;
    for (let v = 1; v < V; v++) if ((last[v] ?? -Infinity) > (last[best] ?? -Infinity)) best = v;
    const eck2 = await openCk(join(dir, 'embed.safetensors'));
    const next = await eck2.readRowsF32('embed_tokens.weight', best, 1).finally(() => eck2.close());
    const step: Record<string, InstanceType<typeof ort.Tensor>> = {
      inputs_embeds: toT(next, [1, 1, H]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n + 1).fill(1n), [1, n + 1]),
    };
    for (let i = 0; i < spec.numLayers; i++) {
      step[`past_key_values.${i}.key`] = first[`present.${i}.key`]!;
      step[`past_key_values.${i}.value`] = first[`present.${i}.value`]!;
    }
    const t1 = performance.now();
    let second;
    try {
      second = await decoder.run(step);
    } catch (e) {
      throw new BadPackError(`The pack's decoder failed on a cached decode step: ${(e as Error).message}`, e);
    }
    const decodeStepMs = performance.now() - t1;
    const l2 = second.logits?.data as Float32Array | undefined;
    if (!l2 || !l2.every(Number.isFinite)) throw new BadPackError(`The pack's decoder produced non-finite logits on a cached step (${join(dir, o.decoderFile)}).`);
    return { executionProvider: ep, encodeMs, decodeStepMs, encoderTokens: encoded.tokens };
  } finally {
    await encoder?.release();
    await decoder?.release();
  }
}
