/**
 * @file Finding and checking MERT encoder weights in a checkpoint: the tensor-name prefix, both weight-norm
 * spellings, shape checks and the weight-norm product (any process).
 *
 * [Note: MERT tensor names]
 * Released checkpoints prefix the encoder differently (none in MERT-v1-330M, something like `mert_model.` or
 * `model.encoder.` inside MusiLingo's merged shards), so the prefix is found once from the unique tensor that
 * ends in `feature_extractor.conv_layers.0.conv.weight` and every other name is prefix + HuBERT's own name.
 * The positional conv's weight norm is stored either as `weight_g`/`weight_v` (old torch.nn.utils.weight_norm,
 * MERT-v1-330M's pytorch_model.bin) or as `parametrizations.weight.original0/1` (torch's parametrize API);
 * both are accepted. Unknown tensors (masked_spec_embed, a decoder's weights …) are ignored.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, openCheckpoint } from '../safetensors';
import type { Checkpoint, TensorInfo } from '../safetensors';
import { isTorchZip, openTorchCheckpoint } from '../torch-checkpoint';
import type { MertConfig } from './config';

/** What the encoder needs from a checkpoint; a safetensors {@link Checkpoint} or the torch .bin reader. */
export type WeightSource = Pick<Checkpoint, 'names' | 'has' | 'info' | 'readF32' | 'close'> & { readonly files: readonly string[] };

/** Resolves MERT tensor names in a {@link WeightSource}; see [Note: MERT tensor names]. */
export class MertWeights {
  readonly prefix: string;
  private readonly label: string;

  constructor(readonly source: WeightSource, readonly cfg: MertConfig) {
    this.label = source.files.join(', ');
    const anchor = 'feature_extractor.conv_layers.0.conv.weight';
    const hits = source.names().filter((n) => n === anchor || n.endsWith('.' + anchor));
    if (hits.length === 0) {
      throw new CheckpointError(`No MERT encoder in checkpoint ${this.label}: no tensor named "*${anchor}"`, { file: this.label, tensor: anchor });
    }
    if (hits.length > 1) throw new CheckpointError(`Several MERT encoders in checkpoint ${this.label}: ${hits.join(', ')}`, { file: this.label, tensor: anchor });
    this.prefix = hits[0]!.slice(0, hits[0]!.length - anchor.length);
  }

  /** Full name of a HuBERT tensor; throws naming the tensor and checkpoint when absent. */
  name(local: string): string {
    const full = this.prefix + local;
    if (!this.source.has(full)) {
      throw new CheckpointError(`Tensor "${full}" is missing from checkpoint ${this.label}`, { file: this.label, tensor: full });
    }
    return full;
  }

  /** Reads a tensor as float32 after checking its shape. */
  async read(local: string, shape: readonly number[]): Promise<Float32Array> {
    const full = this.name(local);
    const info: TensorInfo = this.source.info(full);
    const ok = info.shape.length === shape.length && shape.every((d, i) => d === info.shape[i]);
    if (!ok) {
      throw new CheckpointError(
        `Tensor "${full}" in ${info.file} has shape [${info.shape.join(', ')}], expected [${shape.join(', ')}] for this config`,
        { file: info.file, tensor: full },
      );
    }
    return this.source.readF32(full);
  }

  /** The positional conv weight [D, D/groups, K] with its weight norm applied (float64 math, float32 out). */
  async positionalConvWeight(): Promise<Float32Array> {
    const { hiddenSize: d, numConvPosEmbeddingGroups: g, numConvPosEmbeddings: k } = this.cfg;
    const base = 'encoder.pos_conv_embed.conv.';
    const spelled = this.source.has(this.prefix + base + 'weight_g')
      ? { g: 'weight_g', v: 'weight_v' }
      : this.source.has(this.prefix + base + 'parametrizations.weight.original0')
        ? { g: 'parametrizations.weight.original0', v: 'parametrizations.weight.original1' }
        : undefined;
    if (spelled === undefined) {
      if (this.source.has(this.prefix + base + 'weight')) return this.read(base + 'weight', [d, d / g, k]);
      throw new CheckpointError(
        `Tensor "${this.prefix + base}weight_g" (or parametrizations.weight.original0) is missing from checkpoint ${this.label}`,
        { file: this.label, tensor: this.prefix + base + 'weight_g' },
      );
    }
    const vShape = [d, d / g, k];
    const v = await this.read(base + spelled.v, vShape);
    const gInfo = this.source.info(this.name(base + spelled.g));
    // weight_norm(dim=n) stores g with the size of dim n and 1 elsewhere; MERT uses dim=2 ([1, 1, K]).
    const dim = gInfo.shape.length === 3 ? gInfo.shape.findIndex((s, i) => s === vShape[i] && s !== 1) : -1;
    const gDim = dim < 0 && gInfo.shape.every((s) => s === 1) ? (k === 1 ? 2 : -1) : dim;
    if (gInfo.shape.length !== 3 || gDim < 0 || gInfo.shape.some((s, i) => i !== gDim && s !== 1)) {
      throw new CheckpointError(
        `Tensor "${gInfo.name}" in ${gInfo.file} has shape [${gInfo.shape.join(', ')}], expected a weight-norm gain such as [1, 1, ${k}]`,
        { file: gInfo.file, tensor: gInfo.name },
      );
    }
    const gain = await this.source.readF32(gInfo.name);
    return applyWeightNorm(v, gain, vShape as [number, number, number], gDim);
  }
}

/** W = g · V / ‖V‖ with the norm over every axis but `dim` (torch.nn.utils.weight_norm). */
export function applyWeightNorm(v: Float32Array, g: Float32Array, shape: readonly [number, number, number], dim: number): Float32Array {
  const [a, b, c] = shape;
  const n = shape[dim]!;
  const sq = new Float64Array(n);
  const idx = (i: number, j: number, l: number): number => (dim === 0 ? i : dim === 1 ? j : l);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let l = 0; l < c; l++) {
    const x = v[(i * b + j) * c + l]!;
    sq[idx(i, j, l)]! += x * x;
  }
  const scale = new Float64Array(n);
  for (let t = 0; t < n; t++) scale[t] = g[t]! / Math.sqrt(sq[t]!);
  const out = new Float32Array(v.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let l = 0; l < c; l++) {
    const p = (i * b + j) * c + l;
    out[p] = v[p]! * scale[idx(i, j, l)]!;
  }
  return out;
}

/**
 * Opens encoder weights in any released layout: a folder (safetensors index → model.safetensors → any
 * *.safetensors → pytorch_model.bin.index.json → pytorch_model.bin), a .safetensors / index file, or a
 * torch zip .bin. Throws a CheckpointError naming the path when nothing usable is there.
 */
export async function openWeightSource(path: string): Promise<WeightSource> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw new CheckpointError(`Checkpoint not found: ${path}`, { file: path });
  }
  if (isDir) {
    const entries = await readdir(path);
    if (entries.some((f) => f.endsWith('.safetensors') || f.endsWith('.safetensors.index.json'))) return openCheckpoint(path);
    if (entries.includes('pytorch_model.bin.index.json')) return openTorchCheckpoint(join(path, 'pytorch_model.bin.index.json'));
    if (entries.includes('pytorch_model.bin')) return openTorchCheckpoint(join(path, 'pytorch_model.bin'));
    throw new CheckpointError(`No weights in ${path}: expected *.safetensors or pytorch_model.bin`, { file: path });
  }
  if (path.endsWith('.bin.index.json') || path.endsWith('.bin') || (!path.endsWith('.json') && (await isTorchZip(path)))) {
    return openTorchCheckpoint(path);
  }
  return openCheckpoint(path);
}
