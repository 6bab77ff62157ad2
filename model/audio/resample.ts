/**
 * @file Band-limited resampling that matches torchaudio.transforms.Resample with its defaults
 * (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99), whole-buffer, span-wise (for seeking into a long
 * file) and streaming over chunks. Pure functions over typed arrays; runs in any process.
 *
 * [Note: torchaudio-compatible resampling]
 * MusiLingo's data loaders resample with torchaudio, so the encoder saw torchaudio's filter; we reproduce it
 * instead of using ffmpeg's swresample. torchaudio reduces the rates by their gcd (orig, new), builds `new`
 * polyphase kernels of length 2·width + orig with
 *   t = (−i/new + (k − width)/orig) · base,  base = min(orig, new) · rolloff,  width = ceil(lpw · orig / base),
 *   kernel = sinc(π t) · cos²(π t / (2 lpw)) · base / orig   (t clamped to ±lpw),
 * pads the signal with `width` zeros in front and `width + orig` behind, runs a strided conv1d (stride orig) and
 * keeps the first ceil(L · new / orig) outputs. Output j uses phase i = j mod new and block b = ⌊j / new⌋, i.e.
 * input samples b·orig − width + k. The kernel is computed in float64 and rounded to float32 as torchaudio
 * does; taps whose t was clamped are exactly zero here (torchaudio keeps ~1e-33 there), so each phase stores
 * only its non-zero run. Sums are accumulated in float64.
 */

/** A precomputed polyphase filter for one rate pair. */
export interface ResamplePlan {
  readonly origHz: number;
  readonly newHz: number;
  /** Rates divided by their gcd. */
  readonly orig: number;
  readonly new: number;
  /** Zero padding (in input samples) in front of block 0. */
  readonly width: number;
  /** Per phase: index of the first non-zero tap (relative to b·orig − width) and the taps. */
  readonly phases: readonly { readonly first: number; readonly taps: Float32Array }[];
}

/** Options of the resampler; the defaults are torchaudio's. */
export interface ResampleOptions {
  readonly lowpassFilterWidth?: number;
  readonly rolloff?: number;
}

/** Thrown for rates the resampler cannot handle. */
export class ResampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResampleError';
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

const planCache = new Map<string, ResamplePlan>();

/** Builds (and caches) the polyphase filter for `origHz → newHz`. See [Note: torchaudio-compatible resampling]. */
export function planResample(origHz: number, newHz: number, opts: ResampleOptions = {}): ResamplePlan {
  const lpw = opts.lowpassFilterWidth ?? 6;
  const rolloff = opts.rolloff ?? 0.99;
  if (!Number.isInteger(origHz) || !Number.isInteger(newHz) || origHz <= 0 || newHz <= 0) {
    throw new ResampleError(`Sample rates must be positive integers, got ${origHz} → ${newHz}`);
  }
  const key = `${origHz}:${newHz}:${lpw}:${rolloff}`;
  const cached = planCache.get(key);
  if (cached) return cached;
  const g = gcd(origHz, newHz);
  const orig = origHz / g;
  const nw = newHz / g;
  const base = Math.min(orig, nw) * rolloff;
  const width = Math.ceil((lpw * orig) / base);
  const scale = base / orig;
  const len = 2 * width + orig;
  const phases: { first: number; taps: Float32Array }[] = [];
  for (let i = 0; i < nw; i++) {
    // Non-zero where |t| < lpw: t = (−i/new + (k − width)/orig)·base.
    const vals: number[] = [];
    let first = -1;
    for (let k = 0; k < len; k++) {
      let t = (-i / nw + (k - width) / orig) * base;
      if (t <= -lpw || t >= lpw) {
        if (first >= 0) vals.push(0);
        continue;
      }
      const w = Math.cos((t * Math.PI) / lpw / 2) ** 2;
      t *= Math.PI;
      const s = t === 0 ? 1 : Math.sin(t) / t;
      if (first < 0) first = k;
      vals.push(s * w * scale);
    }
    while (vals.length > 0 && vals[vals.length - 1] === 0) vals.pop();
    phases.push({ first: Math.max(first, 0), taps: Float32Array.from(vals) });
  }
  const plan: ResamplePlan = { origHz, newHz, orig, new: nw, width, phases };
  if (planCache.size > 32) planCache.clear();
  planCache.set(key, plan);
  return plan;
}

/** Number of output samples torchaudio produces for `inputLength` input samples: ceil(L · new / orig). */
export function resampledLength(plan: ResamplePlan, inputLength: number): number {
  // Integer arithmetic: exact for any realistic length (L · new < 2^53).
  return Math.ceil((inputLength * plan.new) / plan.orig);
}

/** The input range [start, end) (absolute, may exceed [0, L)) that outputs [outStart, outEnd) read. */
export function inputSpanFor(plan: ResamplePlan, outStart: number, outEnd: number): { start: number; end: number } {
  if (outEnd <= outStart) return { start: 0, end: 0 };
  const b0 = Math.floor(outStart / plan.new);
  const b1 = Math.floor((outEnd - 1) / plan.new);
  return { start: b0 * plan.orig - plan.width, end: b1 * plan.orig - plan.width + 2 * plan.width + plan.orig };
}

/**
 * Computes outputs [outStart, outStart + out.length) from `input`, which holds input samples
 * [inputStart, inputStart + input.length). Samples outside [0, totalLength) read as zero, as torchaudio's
 * padding does; samples outside what `input` holds but inside the signal must not be needed (see
 * {@link inputSpanFor}).
 */
export function resampleSpan(
  plan: ResamplePlan,
  input: Float32Array,
  inputStart: number,
  totalLength: number,
  outStart: number,
  out: Float32Array,
): void {
  const { orig, new: nw, width, phases } = plan;
  const lo = Math.max(0, inputStart);
  const hi = Math.min(totalLength, inputStart + input.length);
  for (let o = 0; o < out.length; o++) {
    const j = outStart + o;
    const b = Math.floor(j / nw);
    const ph = phases[j - b * nw]!;
    const taps = ph.taps;
    const n0 = b * orig - width + ph.first;
    let acc = 0;
    const kFrom = Math.max(0, lo - n0);
    const kTo = Math.min(taps.length, hi - n0);
    const needLo = Math.max(0, n0);
    const needHi = Math.min(totalLength, n0 + taps.length);
    if (needHi > needLo && (needLo < inputStart || needHi > inputStart + input.length)) {
      throw new ResampleError(`resampleSpan: output ${j} needs input outside the span given`);
    }
    const base = n0 - inputStart;
    for (let k = kFrom; k < kTo; k++) acc += taps[k]! * input[base + k]!;
    out[o] = acc;
  }
}

/** Resamples a whole buffer, equal to torchaudio.transforms.Resample(origHz, newHz)(input). */
export function resample(input: Float32Array, origHz: number, newHz: number, opts: ResampleOptions = {}): Float32Array {
  if (origHz === newHz) return input.slice();
  const plan = planResample(origHz, newHz, opts);
  const out = new Float32Array(resampledLength(plan, input.length));
  resampleSpan(plan, input, 0, input.length, 0, out);
  return out;
}

/**
 * Streaming resampler: push input chunks, get the outputs that are complete so far; `flush()` at the end gives
 * the rest. The concatenated outputs equal {@link resample} of the concatenated inputs, sample for sample.
 * Memory is the filter plus about one filter length of history.
 */
export class StreamingResampler {
  readonly plan: ResamplePlan;
  private readonly identity: boolean;
  /** Input history: samples [bufStart, bufStart + bufLen). */
  private buf = new Float32Array(0);
  private bufStart = 0;
  private bufLen = 0;
  private inputSeen = 0;
  private outputDone = 0;

  constructor(origHz: number, newHz: number, opts: ResampleOptions = {}) {
    this.plan = planResample(origHz, newHz, opts);
    this.identity = origHz === newHz;
  }

  /** Adds input and returns every output sample whose inputs are now all known. */
  push(chunk: Float32Array): Float32Array {
    if (this.identity) {
      this.inputSeen += chunk.length;
      return chunk.slice();
    }
    this.append(chunk);
    // Output j is complete when its block's last input b·orig + width + orig − 1 < inputSeen.
    const { orig, new: nw, width } = this.plan;
    const lastBlock = Math.floor((this.inputSeen - width - orig) / orig);
    const end = Math.max(this.outputDone, (lastBlock + 1) * nw);
    return this.emit(end, this.inputSeen);
  }

  /** Ends the stream: returns the remaining outputs (torchaudio's zero padding at the end). */
  flush(): Float32Array {
    if (this.identity) return new Float32Array(0);
    const total = resampledLength(this.plan, this.inputSeen);
    return this.emit(total, this.inputSeen);
  }

  private emit(end: number, totalLength: number): Float32Array {
    const out = new Float32Array(Math.max(0, end - this.outputDone));
    if (out.length > 0) {
      resampleSpan(this.plan, this.buf.subarray(0, this.bufLen), this.bufStart, totalLength, this.outputDone, out);
      this.outputDone = end;
    }
    // Drop history no future output needs.
    const keepFrom = inputSpanFor(this.plan, this.outputDone, this.outputDone + 1).start;
    const drop = Math.min(this.bufLen, Math.max(0, keepFrom - this.bufStart));
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.bufLen);
      this.bufLen -= drop;
      this.bufStart += drop;
    }
    return out;
  }

  private append(chunk: Float32Array): void {
    if (this.bufLen + chunk.length > this.buf.length) {
      const next = new Float32Array(Math.max(2 * this.buf.length, this.bufLen + chunk.length, 4096));
      next.set(this.buf.subarray(0, this.bufLen));
      this.buf = next;
    }
    this.buf.set(chunk, this.bufLen);
    this.bufLen += chunk.length;
    this.inputSeen += chunk.length;
  }
}
