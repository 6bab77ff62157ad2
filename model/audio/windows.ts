/**
 * @file Analysis windows: which stretches of a track the encoder sees, and reading them as 24 kHz mono
 * float32 (seek + resample, or one streaming pass for all windows). Any Node process.
 *
 * [Note: Window policy]
 * MusiLingo saw clips of at most 30 s and MERT's attention is quadratic, so a song is never fed whole
 * (DESIGN §3). Windows are laid out in output-rate samples (24 kHz):
 * - caption window (default): the `windowSec` seconds starting at `captionStartFraction` (35%) of the track,
 *   moved earlier when it would run past the end;
 * - all windows (on request): back-to-back from 0; a tail of at least `minTailSec` gets a last window that
 *   ends at the track's end (it overlaps its neighbour, so every window has the same length and windows can be
 *   batched); a shorter tail is left out;
 * - a track no longer than one window: a single window of the whole track, whatever its length.
 * Reading a window resamples exactly the samples a whole-file resampling would produce there (the filter
 * reads a few input samples on each side; see model/audio/resample.ts).
 */
import { AudioDecodeError } from './errors';
import { decodeMonoChunks, readMonoSpan } from './decode';
import type { AudioInfo } from './decode';
import { StreamingResampler, inputSpanFor, planResample, resampleSpan, resampledLength } from './resample';

/** The encoder's input rate (MERT-v1). */
export const MERT_SAMPLE_RATE_HZ = 24000;

/** Window policy knobs; see [Note: Window policy]. */
export interface WindowPolicy {
  readonly windowSec: number;
  readonly captionStartFraction: number;
  readonly minTailSec: number;
  /** Output rate (default 24 kHz). */
  readonly sampleRateHz: number;
}

/** The defaults of DESIGN §3. */
export const DEFAULT_WINDOW_POLICY: WindowPolicy = { windowSec: 30, captionStartFraction: 0.35, minTailSec: 5, sampleRateHz: MERT_SAMPLE_RATE_HZ };

/** One analysis window, in output-rate samples. */
export interface AudioWindow {
  readonly index: number;
  readonly start: number;
  readonly length: number;
  readonly startSec: number;
  readonly durationSec: number;
}

function makeWindow(index: number, start: number, length: number, rate: number): AudioWindow {
  return { index, start, length, startSec: start / rate, durationSec: length / rate };
}

function withDefaults(p: Partial<WindowPolicy>): WindowPolicy {
  const policy = { ...DEFAULT_WINDOW_POLICY, ...p };
  if (!(policy.windowSec > 0)) throw new RangeError(`windowSec must be > 0, got ${policy.windowSec}`);
  if (!(policy.captionStartFraction >= 0 && policy.captionStartFraction <= 1)) {
    throw new RangeError(`captionStartFraction must be in [0, 1], got ${policy.captionStartFraction}`);
  }
  return policy;
}

/** The default caption window of a track `totalSamples` long (output rate). */
export function captionWindow(totalSamples: number, policy: Partial<WindowPolicy> = {}): AudioWindow {
  const p = withDefaults(policy);
  const w = Math.round(p.windowSec * p.sampleRateHz);
  if (totalSamples <= w) return makeWindow(0, 0, totalSamples, p.sampleRateHz);
  const start = Math.min(Math.round(p.captionStartFraction * totalSamples), totalSamples - w);
  return makeWindow(0, Math.max(0, start), w, p.sampleRateHz);
}

/** Every window of a track `totalSamples` long (output rate); see [Note: Window policy]. */
export function allWindows(totalSamples: number, policy: Partial<WindowPolicy> = {}): AudioWindow[] {
  const p = withDefaults(policy);
  const w = Math.round(p.windowSec * p.sampleRateHz);
  if (totalSamples <= w) return [makeWindow(0, 0, totalSamples, p.sampleRateHz)];
  const out: AudioWindow[] = [];
  let s = 0;
  for (; s + w <= totalSamples; s += w) out.push(makeWindow(out.length, s, w, p.sampleRateHz));
  const tail = totalSamples - s;
  if (tail > 0 && tail >= p.minTailSec * p.sampleRateHz) out.push(makeWindow(out.length, totalSamples - w, w, p.sampleRateHz));
  return out;
}

/** The track's length in output-rate samples (what a whole-file resampling yields). */
export function outputLength(info: AudioInfo, sampleRateHz = MERT_SAMPLE_RATE_HZ): number {
  if (info.sampleRateHz === sampleRateHz) return info.frames;
  return resampledLength(planResample(info.sampleRateHz, sampleRateHz), info.frames);
}

/**
 * Reads one window as mono float32 at the output rate: seeks to the input the window needs (one positional
 * read for WAV/AIFF, ffmpeg -ss/-t otherwise) and resamples it. For compressed files whose real length is
 * shorter than announced, the window is cut at the real end; nothing decoded → an {@link AudioDecodeError}.
 */
export async function readWindow(info: AudioInfo, win: Pick<AudioWindow, 'start' | 'length'>, sampleRateHz = MERT_SAMPLE_RATE_HZ, signal?: AbortSignal): Promise<Float32Array> {
  if (info.sampleRateHz === sampleRateHz) {
    const { pcm, available } = await readMonoSpan(info, win.start, win.length, signal);
    return checkWindow(info, available >= pcm.length ? pcm : pcm.subarray(0, Math.max(0, available)));
  }
  const plan = planResample(info.sampleRateHz, sampleRateHz);
  const span = inputSpanFor(plan, win.start, win.start + win.length);
  const from = Math.max(0, span.start);
  const to = Math.min(span.end, info.frames + (info.isExact ? 0 : plan.orig + plan.width));
  const { pcm, available } = await readMonoSpan(info, from, Math.max(0, to - from), signal);
  // Real input length as far as this read can tell (compressed files may end earlier than announced).
  const total = info.isExact ? info.frames : available < pcm.length ? from + available : Math.max(info.frames, from + available);
  const outLen = Math.max(0, Math.min(win.length, resampledLength(plan, total) - win.start));
  const out = new Float32Array(outLen);
  resampleSpan(plan, pcm.subarray(0, available), from, total, win.start, out);
  return checkWindow(info, out);
}

function checkWindow(info: AudioInfo, pcm: Float32Array): Float32Array {
  if (pcm.length === 0) throw new AudioDecodeError(info.file, 'truncated', 'the window lies past the end of the decodable audio');
  return pcm;
}

/**
 * One pass over the file yielding every window of {@link allWindows} as 24 kHz mono (streaming decode and
 * resample: memory is one window plus one decode chunk, whatever the track's length).
 */
export async function* streamWindows(info: AudioInfo, policy: Partial<WindowPolicy> = {}, signal?: AbortSignal): AsyncGenerator<{ window: AudioWindow; pcm: Float32Array }> {
  const p = withDefaults(policy);
  const total = outputLength(info, p.sampleRateHz);
  const windows = allWindows(total, p);
  const resampler = new StreamingResampler(info.sampleRateHz, p.sampleRateHz);
  // Ring of the most recent output samples: enough for one window plus the overlap of an end-aligned tail.
  const w = Math.round(p.windowSec * p.sampleRateHz);
  const keep = Math.max(w, windows.at(-1)?.length ?? 0) * 2;
  let buf = new Float32Array(keep);
  let bufStart = 0; // output index of buf[0]
  let bufLen = 0;
  let next = 0;
  const pushOut = (o: Float32Array): void => {
    if (bufLen + o.length > buf.length) {
      // Drop what no remaining window needs.
      const need = next < windows.length ? windows[next]!.start : bufStart + bufLen;
      const drop = Math.min(bufLen, Math.max(0, need - bufStart));
      buf.copyWithin(0, drop, bufLen);
      bufLen -= drop;
      bufStart += drop;
      if (bufLen + o.length > buf.length) {
        const grown = new Float32Array(Math.max(buf.length * 2, bufLen + o.length));
        grown.set(buf.subarray(0, bufLen));
        buf = grown;
      }
    }
    buf.set(o, bufLen);
    bufLen += o.length;
  };
  function* ready(final: boolean): Generator<{ window: AudioWindow; pcm: Float32Array }> {
    while (next < windows.length) {
      const win = windows[next]!;
      const have = bufStart + bufLen;
      if (have < win.start + win.length && !final) return;
      const from = win.start - bufStart;
      const len = Math.max(0, Math.min(win.length, have - win.start));
      if (len === 0) {
        // A compressed file's length is the container's estimate: windows past the real end are dropped,
        // unless nothing at all was decoded.
        if (!info.isExact && next > 0) return;
        throw new AudioDecodeError(info.file, 'truncated', `the audio ended before window ${win.index} at ${win.startSec.toFixed(1)} s`);
      }
      yield { window: win, pcm: buf.slice(from, from + len) };
      next++;
    }
  }
  for await (const chunk of decodeMonoChunks(info, signal ? { signal } : {})) {
    // Feed in slices so one ffmpeg pipe read never forces a large output burst.
    for (let i = 0; i < chunk.length; i += 65536) {
      pushOut(resampler.push(chunk.subarray(i, i + 65536)));
      yield* ready(false);
    }
  }
  pushOut(resampler.flush());
  yield* ready(true);
}
