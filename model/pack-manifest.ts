/**
 * @file The model pack manifest (manifest.json): its schema and format version. Shared by the converter
 * (main/models/convert.ts), the model manager and the pack loader (model/inference/pack.ts), so a pack is
 * described in exactly one place. Pure data; any process. docs/model-packs.md is the format's reference.
 *
 * [Note: Pack format version]
 * `formatVersion` changes whenever a pack's files or their meaning change (graph inputs, embedding layout,
 * manifest fields). A pack with another version is never read as if it were current: main/models/pack.ts's
 * readPackManifest throws BadPackError with `isStale`, and the manager converts it again from the checkpoint.
 */
import { z } from 'zod';

/** The current pack format. See [Note: Pack format version]. */
export const PACK_FORMAT_VERSION = 1;

/** Name of the manifest in a pack folder; written last, so its presence means "complete". */
export const MANIFEST_FILE = 'manifest.json';

const FileEntry = z.object({ sizeBytes: z.number().int().nonnegative(), sha256: z.string().optional() });

/** manifest.json, as written by the converter. */
export const PackManifestSchema = z.object({
  format: z.literal('musilingo-pack'),
  formatVersion: z.number().int(),
  createdBy: z.string(),
  createdAt: z.string(),
  modelId: z.string(),
  variant: z.enum(['float32', 'float16', 'int4']),
  source: z.object({
    repo: z.string().optional(),
    revision: z.string().optional(),
    commit: z.string().optional(),
    path: z.string().optional(),
    /** Source checkpoint files with the hashes the Hub reported (or we computed). */
    files: z.record(z.string(), FileEntry.extend({ etag: z.string().optional() })),
  }),
  encoder: z.object({
    file: z.string(),
    dataFile: z.string().nullable(),
    /** Weight/activation dtype inside the graph; input `audio` and output `layer_mean` are float32. */
    dtype: z.enum(['float32', 'float16']),
    hiddenSize: z.number().int(),
    numLayers: z.number().int(),
    sampleRateHz: z.number().int(),
    poolFrames: z.number().int(),
    config: z.record(z.string(), z.unknown()),
  }),
  decoder: z.object({
    file: z.string(),
    dataFile: z.string().nullable(),
    /** dtype of inputs_embeds and of the KV cache. */
    dtype: z.enum(['float32', 'float16']),
    numLayers: z.number().int(),
    numHeads: z.number().int(),
    numKvHeads: z.number().int(),
    headDim: z.number().int(),
    hiddenSize: z.number().int(),
    vocabSize: z.number().int(),
    maxPositions: z.number().int(),
    bosId: z.number().int(),
    eosIds: z.array(z.number().int()),
    lastTokenLogitsOnly: z.boolean(),
    /** 'ops' (MatMul/Softmax, pads allowed) or 'gqa' (GroupQueryAttention: prompts without padding). */
    attention: z.enum(['ops', 'gqa']).default('ops'),
    /** int4: MatMulNBits accuracy_level (4 = int8 activations, CPU packs); absent = 0, the activations' dtype. */
    accuracyLevel: z.number().int().optional(),
    config: z.record(z.string(), z.unknown()),
  }),
  embeddings: z.object({
    file: z.string(),
    tensor: z.string(),
    dtype: z.enum(['F32', 'F16']),
    rows: z.number().int(),
    dim: z.number().int(),
  }),
  adapter: z.object({ file: z.string(), inDim: z.number().int(), outDim: z.number().int() }),
  tokenizer: z.object({ model: z.string(), files: z.array(z.string()), bosId: z.number().int(), eosId: z.number().int() }).nullable(),
  /** Every artefact of the pack with its size and sha256. */
  files: z.record(z.string(), FileEntry),
  smoke: z.object({
    executionProvider: z.string(),
    encodeMs: z.number(),
    decodeStepMs: z.number(),
    encoderTokens: z.number().int(),
  }),
});

/** A parsed manifest.json. */
export type PackManifest = z.infer<typeof PackManifestSchema>;
