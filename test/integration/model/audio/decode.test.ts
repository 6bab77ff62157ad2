/**
 * @file Decoding real files made by ffmpeg and sox from a known stereo signal (440 Hz left, 1 kHz right) in
 * every supported format, windows of long files, and bad input (corrupt, truncated, empty, missing ffmpeg,
 * unsupported codec). Runs twice (vitest projects, [Note: Decode tests run twice]): with the system ffmpeg, and
 * with no ffmpeg on PATH, where the bundled binaries must give the system ffmpeg's PCM (lossless: bit-exact).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMonoChunks, probeAudio } from '../../../../model/audio/decode';
import type { AudioInfo } from '../../../../model/audio/decode';
import { findOnPath, resolveBinary } from '../../../../model/audio/decoders';
import { AudioDecodeError } from '../../../../model/audio/errors';
import { resample } from '../../../../model/audio/resample';
import { allWindows, captionWindow, outputLength, readWindow, streamWindows } from '../../../../model/audio/windows';

const RATE = 44100;
const SECONDS = 2;

/** Writes an interleaved WAV: 16-bit int or 32-bit float. */
function writeWav(path: string, channels: Float32Array[], rate: number, kind: 'int16' | 'float32'): void {
  const frames = channels[0]!.length;
  const bps = kind === 'int16' ? 2 : 4;
  const data = Buffer.alloc(frames * channels.length * bps);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels.length; c++) {
      const v = channels[c]![f]!;
      const o = (f * channels.length + c) * bps;
      if (kind === 'int16') data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), o);
      else data.writeFloatLE(v, o);
    }
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(kind === 'int16' ? 1 : 3, 20);
  h.writeUInt16LE(channels.length, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels.length * bps, 28);
  h.writeUInt16LE(channels.length * bps, 32);
  h.writeUInt16LE(bps * 8, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}

function sine(freq: number, amp: number, rate: number, seconds: number): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
}

/** The system ffmpeg, for making test audio and reference PCM (test/setup/ffmpeg-mode.ts finds it). */
const SYSTEM_FFMPEG = process.env.MUSILINGO_TEST_SYSTEM_FFMPEG ?? 'ffmpeg';
const STRIPPED = process.env.MUSILINGO_TEST_FFMPEG_MODE === 'stripped';

function ffmpeg(...args: string[]): void {
  execFileSync(SYSTEM_FFMPEG, ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args]);
}

/** What the system ffmpeg decodes the file to, downmixed to mono exactly as decode.ts does (mean of channels). */
function systemMono(file: string, channels: number): Float32Array {
  const raw = execFileSync(SYSTEM_FFMPEG, ['-nostdin', '-v', 'error', '-i', file, '-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1'], { maxBuffer: 1 << 28 });
  const src = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const frames = src.length / channels;
  const out = new Float32Array(frames);
  const inv = 1 / channels;
  for (let f = 0, i = 0; f < frames; f++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += src[i++]!;
    out[f] = channels === 1 ? acc : acc * inv;
  }
  return out;
}

async function decodeAll(info: AudioInfo): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const c of decodeMonoChunks(info, { chunkFrames: 10000 })) parts.push(c);
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Amplitude of the `freq` component (Goertzel over the middle of the signal, away from codec edges). */
function amplitudeAt(x: Float32Array, freq: number, rate: number): number {
  const from = Math.floor(x.length * 0.2);
  const n = Math.floor(x.length * 0.6);
  let re = 0;
  let im = 0;
  for (let i = 0; i < n; i++) {
    const ph = (2 * Math.PI * freq * (from + i)) / rate;
    re += x[from + i]! * Math.cos(ph);
    im += x[from + i]! * Math.sin(ph);
  }
  return (2 * Math.hypot(re, im)) / n;
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('decoding every format to mono', () => {
  let dir: string;
  const left = sine(440, 0.5, RATE, SECONDS);
  const right = sine(1000, 0.5, RATE, SECONDS);
  const mono = Float32Array.from(left, (v, i) => (v + right[i]!) / 2);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'decode-'));
    const src = join(dir, 'src.wav');
    writeWav(src, [left, right], RATE, 'float32');
    writeWav(join(dir, 'int16.wav'), [left, right], RATE, 'int16');
    ffmpeg('-i', src, '-c:a', 'pcm_s24le', join(dir, 'int24.wav'));
    ffmpeg('-i', src, '-c:a', 'pcm_s32le', join(dir, 'int32.wav'));
    ffmpeg('-i', src, '-c:a', 'pcm_u8', join(dir, 'uint8.wav'));
    ffmpeg('-i', src, '-c:a', 'pcm_f32be', join(dir, 'float.aifc'));
    ffmpeg('-i', src, '-c:a', 'pcm_s16be', join(dir, 'int16.aiff'));
    execFileSync('sox', [join(dir, 'int16.wav'), '-b', '24', join(dir, 'sox24.aiff')]);
    ffmpeg('-i', src, '-c:a', 'flac', join(dir, 'a.flac'));
    ffmpeg('-i', src, '-c:a', 'alac', join(dir, 'alac.m4a'));
    ffmpeg('-i', src, '-c:a', 'libmp3lame', '-b:a', '192k', join(dir, 'a.mp3'));
    ffmpeg('-i', src, '-c:a', 'libvorbis', '-q:a', '5', join(dir, 'a.ogg'));
    ffmpeg('-i', src, '-c:a', 'libopus', '-b:a', '128k', join(dir, 'a.opus'));
    ffmpeg('-i', src, '-c:a', 'aac', '-b:a', '192k', join(dir, 'aac.m4a'));
    // WAVE_FORMAT_EXTENSIBLE: rewrite the 16-bit file's fmt chunk as the 40-byte extensible form.
    const plain = readFileSync(join(dir, 'int16.wav'));
    const fmt = Buffer.alloc(48);
    fmt.write('fmt ', 0, 'latin1');
    fmt.writeUInt32LE(40, 4);
    plain.copy(fmt, 8, 20, 36); // tag, channels, rate, byte rate, block align, bits
    fmt.writeUInt16LE(0xfffe, 8);
    fmt.writeUInt16LE(22, 24); // cbSize
    fmt.writeUInt16LE(16, 26); // valid bits
    fmt.writeUInt32LE(3, 28); // channel mask FL|FR
    Buffer.from('0100000000001000800000aa00389b71', 'hex').copy(fmt, 32); // KSDATAFORMAT_SUBTYPE_PCM
    const ext = Buffer.concat([plain.subarray(0, 12), fmt, plain.subarray(36)]);
    ext.writeUInt32LE(ext.length - 8, 4);
    writeFileSync(join(dir, 'extensible.wav'), ext);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const lossless: [string, number][] = [
    ['src.wav', 1e-7], ['int16.wav', 4e-5], ['int24.wav', 2e-7], ['int32.wav', 1e-7], ['uint8.wav', 1e-2],
    ['extensible.wav', 4e-5], ['float.aifc', 1e-7], ['int16.aiff', 4e-5], ['sox24.aiff', 4e-5], ['a.flac', 4e-5], ['alac.m4a', 4e-5],
  ];
  for (const [name, tol] of lossless) {
    it(`${name}: exact length, samples within quantisation`, async () => {
      const info = await probeAudio(join(dir, name));
      expect(info.sampleRateHz).toBe(RATE);
      expect(info.channels).toBe(2);
      const pcm = await decodeAll(info);
      expect(pcm.length).toBe(mono.length);
      expect(maxAbsDiff(pcm, mono)).toBeLessThan(tol);
    });
  }

  it(`compressed files decode with ${STRIPPED ? 'the bundled ffmpeg (no ffmpeg on PATH)' : 'the system ffmpeg'}`, () => {
    for (const tool of ['ffmpeg', 'ffprobe'] as const) {
      const b = resolveBinary(tool);
      if (STRIPPED) {
        expect(findOnPath(tool), `${tool} on PATH`).toBeUndefined();
        expect(process.env.MUSILINGO_FFMPEG).toBeUndefined();
        expect(b.source, tool).toBe('bundled');
        expect(b.pkg?.name).toBe(`@${tool}-installer/${process.platform}-${process.arch}`);
      } else {
        expect(b.source, tool).toBe('env');
      }
    }
  });

  // [Note: Same PCM whichever ffmpeg] Lossless codecs decode to the same integers in every ffmpeg build, so the
  // PCM handed to the resampler must be bit-identical to the system ffmpeg's. Lossy decoders may differ in the
  // last float bits (and the old bundled build trims Vorbis end padding differently): measured at most 4.5e-8
  // (opus) and 1.5e-8 (aac), mp3/vorbis 0; the bound below leaves room for other builds without letting a
  // wrong decoder through (a resampled, remixed or dithered signal differs by 1e-4 and more).
  for (const name of ['a.flac', 'alac.m4a', 'int16.wav', 'uint8.wav', 'sox24.aiff']) {
    it(`${name}: bit-exact to the system ffmpeg's decode`, async () => {
      const info = await probeAudio(join(dir, name));
      const pcm = await decodeAll(info);
      const ref = systemMono(join(dir, name), info.channels);
      expect(pcm.length).toBe(ref.length);
      expect(Buffer.from(pcm.buffer).equals(Buffer.from(ref.buffer))).toBe(true);
    });
  }
  for (const name of ['a.mp3', 'a.ogg', 'a.opus', 'aac.m4a']) {
    it(`${name}: within 1e-6 of the system ffmpeg's decode`, async () => {
      const info = await probeAudio(join(dir, name));
      const pcm = await decodeAll(info);
      const ref = systemMono(join(dir, name), info.channels);
      expect(Math.abs(pcm.length - ref.length)).toBeLessThan(0.02 * info.sampleRateHz);
      expect(maxAbsDiff(pcm, ref)).toBeLessThan(1e-6);
    });
  }

  for (const name of ['a.mp3', 'a.ogg', 'a.opus', 'aac.m4a']) {
    it(`${name}: length within codec padding, both tones at the right level`, async () => {
      const info = await probeAudio(join(dir, name));
      const pcm = await decodeAll(info);
      const expected = SECONDS * info.sampleRateHz;
      expect(Math.abs(pcm.length - expected)).toBeLessThan(0.06 * info.sampleRateHz);
      expect(amplitudeAt(pcm, 440, info.sampleRateHz)).toBeCloseTo(0.25, 1);
      expect(amplitudeAt(pcm, 1000, info.sampleRateHz)).toBeCloseTo(0.25, 1);
      expect(amplitudeAt(pcm, 700, info.sampleRateHz)).toBeLessThan(0.01);
      expect(rms(pcm.subarray(pcm.length >> 2, (3 * pcm.length) >> 2))).toBeCloseTo(0.25, 1);
    });
  }

  it('silent, mono, 6-channel, 8 kHz and 192 kHz files decode and resample to 24 kHz', async () => {
    writeWav(join(dir, 'silent.wav'), [new Float32Array(RATE)], RATE, 'int16');
    const silent = await decodeAll(await probeAudio(join(dir, 'silent.wav')));
    expect(silent.length).toBe(RATE);
    expect(rms(silent)).toBe(0);

    writeWav(join(dir, 'mono.wav'), [left], RATE, 'int16');
    ffmpeg('-i', join(dir, 'mono.wav'), join(dir, 'mono.mp3'));
    const m = await decodeAll(await probeAudio(join(dir, 'mono.mp3')));
    expect(amplitudeAt(m, 440, RATE)).toBeCloseTo(0.5, 1);

    const six = [100, 200, 300, 400, 500, 600].map((f) => sine(f, 0.3, RATE, 1));
    writeWav(join(dir, 'six.wav'), six, RATE, 'int16');
    ffmpeg('-i', join(dir, 'six.wav'), '-c:a', 'flac', join(dir, 'six.flac'));
    for (const f of ['six.wav', 'six.flac']) {
      const info = await probeAudio(join(dir, f));
      expect(info.channels).toBe(6);
      const pcm = await decodeAll(info);
      const want = Float32Array.from(six[0]!, (_, i) => six.reduce((a, ch) => a + ch[i]!, 0) / 6);
      expect(maxAbsDiff(pcm, want)).toBeLessThan(5e-5);
    }

    const native = sine(440, 0.5, 24000, 40);
    writeWav(join(dir, 'r24000.wav'), [native], 24000, 'float32');
    const info24 = await probeAudio(join(dir, 'r24000.wav'));
    const cw = captionWindow(outputLength(info24));
    expect(cw.start).toBe(10 * 24000);
    expect(maxAbsDiff(await readWindow(info24, cw), native.subarray(cw.start, cw.start + cw.length))).toBe(0);

    for (const rate of [8000, 192000]) {
      const file = join(dir, `r${rate}.flac`);
      ffmpeg('-f', 'lavfi', '-i', `sine=f=440:r=${rate}:d=1.5`, '-c:a', 'flac', file);
      const info = await probeAudio(file);
      expect(info.sampleRateHz).toBe(rate);
      const win = allWindows(outputLength(info));
      expect(win).toHaveLength(1);
      const pcm = await readWindow(info, win[0]!);
      expect(pcm.length).toBe(Math.ceil((info.frames * 24000) / rate));
      expect(amplitudeAt(pcm, 440, 24000)).toBeGreaterThan(0.05);
      expect(amplitudeAt(pcm, 440, 24000) / amplitudeAt(pcm, 660, 24000)).toBeGreaterThan(20);
    }
  });
});

describe('windows of a long file', () => {
  let dir: string;
  const seconds = 70;
  let signal: Float32Array;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'windows-'));
    // A chirp so every window differs; stereo with different channels.
    const l = Float32Array.from({ length: RATE * seconds }, (_, i) => 0.4 * Math.sin(2 * Math.PI * (200 + (i / RATE) * 10) * (i / RATE)));
    const r = Float32Array.from({ length: RATE * seconds }, (_, i) => 0.2 * Math.sin(2 * Math.PI * 3000 * (i / RATE)));
    writeWav(join(dir, 'long.wav'), [l, r], RATE, 'float32');
    ffmpeg('-i', join(dir, 'long.wav'), '-c:a', 'flac', join(dir, 'long.flac'));
    signal = Float32Array.from(l, (v, i) => (v + r[i]!) / 2);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lays out the caption window at 35% and all windows with an end-aligned tail', () => {
    const total = 70 * 24000;
    expect(captionWindow(total)).toMatchObject({ start: 24.5 * 24000, length: 30 * 24000 });
    expect(captionWindow(40 * 24000).start).toBe(10 * 24000); // clamped so it fits
    expect(captionWindow(12 * 24000)).toMatchObject({ start: 0, length: 12 * 24000 });
    expect(allWindows(total).map((w) => w.startSec)).toEqual([0, 30, 40]);
    expect(allWindows(63 * 24000).map((w) => w.startSec)).toEqual([0, 30]); // 3 s tail < 5 s: left out
    expect(allWindows(7 * 24000)).toEqual([{ index: 0, start: 0, length: 7 * 24000, startSec: 0, durationSec: 7 }]);
    expect(allWindows(100, { windowSec: 0.001 }).length).toBe(4);
  });

  it('reads the caption window by seeking (WAV exactly, FLAC through ffmpeg) equal to a whole-file resample', async () => {
    const whole = resample(signal, RATE, 24000);
    for (const name of ['long.wav', 'long.flac']) {
      const info = await probeAudio(join(dir, name));
      const win = captionWindow(outputLength(info));
      const pcm = await readWindow(info, win);
      expect(pcm.length).toBe(30 * 24000);
      expect(maxAbsDiff(pcm, whole.subarray(win.start, win.start + win.length)), name).toBeLessThan(name.endsWith('wav') ? 1e-7 : 1e-4);
    }
  });

  it('streams all windows in one pass, equal to the whole-file resample', async () => {
    const whole = resample(signal, RATE, 24000);
    for (const name of ['long.wav', 'long.flac']) {
      const info = await probeAudio(join(dir, name));
      const got: number[] = [];
      for await (const { window, pcm } of streamWindows(info)) {
        got.push(window.startSec);
        expect(pcm.length).toBe(window.length);
        expect(maxAbsDiff(pcm, whole.subarray(window.start, window.start + window.length))).toBeLessThan(1e-4);
      }
      expect(got).toEqual([0, 30, 40]);
    }
  });
});

describe('cancellation', () => {
  it('an aborted signal stops ffmpeg and native reads with code "cancelled"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cancel-'));
    try {
      writeWav(join(dir, 'a.wav'), [sine(440, 0.5, RATE, 5)], RATE, 'int16');
      ffmpeg('-i', join(dir, 'a.wav'), '-c:a', 'flac', join(dir, 'a.flac'));
      for (const name of ['a.wav', 'a.flac']) {
        const ac = new AbortController();
        const info = await probeAudio(join(dir, name));
        const err = await (async () => {
          for await (const _ of decodeMonoChunks(info, { chunkFrames: 4096, signal: ac.signal })) ac.abort();
        })().catch((e: unknown) => e);
        expect(err, name).toBeInstanceOf(AudioDecodeError);
        expect((err as AudioDecodeError).code).toBe('cancelled');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad input', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bad-audio-'));
    writeWav(join(dir, 'ok.wav'), [sine(440, 0.5, RATE, 3)], RATE, 'int16');
    ffmpeg('-i', join(dir, 'ok.wav'), '-c:a', 'flac', join(dir, 'ok.flac'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function failure(file: string, decode = false): Promise<AudioDecodeError> {
    try {
      const info = await probeAudio(file);
      if (decode) await decodeAll(info);
    } catch (e) {
      expect(e).toBeInstanceOf(AudioDecodeError);
      expect((e as Error).message).toContain(file);
      return e as AudioDecodeError;
    }
    throw new Error(`expected ${file} to fail`);
  }

  it('a codec no decoder knows: "unsupported codec <name> in <file>"', async () => {
    // A WAV whose format tag (0x1234) no one registered: neither our reader nor ffmpeg can decode it.
    const wav = readFileSync(join(dir, 'ok.wav'));
    wav.writeUInt16LE(0x1234, 20);
    const file = join(dir, 'odd-codec.wav');
    writeFileSync(file, wav);
    const e = await failure(file, true);
    expect(e.code).toBe('unsupported');
    expect(e.message).toContain(`unsupported codec 0x1234 in ${file}`);
  });

  it('an ffmpeg without the decoder a stream needs: "unsupported codec <name> in <file>"', async () => {
    // An ffmpeg build that lacks a decoder says so on stderr and exits 1 (as ffmpeg itself does).
    const fake = join(dir, 'ffmpeg-without-flac');
    writeFileSync(fake, '#!/bin/sh\necho "Decoder (codec flac) not found for input stream #0:0" >&2\nexit 1\n');
    chmodSync(fake, 0o755);
    const saved = process.env.MUSILINGO_FFMPEG;
    process.env.MUSILINGO_FFMPEG = fake;
    try {
      const file = join(dir, 'ok.flac');
      const e = await failure(file, true);
      expect(e.code).toBe('unsupported');
      expect(e.message).toContain(`unsupported codec flac in ${file}`);
    } finally {
      if (saved === undefined) delete process.env.MUSILINGO_FFMPEG;
      else process.env.MUSILINGO_FFMPEG = saved;
    }
  });

  it('empty file', async () => {
    writeFileSync(join(dir, 'empty.mp3'), '');
    expect((await failure(join(dir, 'empty.mp3'))).code).toBe('empty');
  });

  it('missing file', async () => {
    expect((await failure(join(dir, 'nope.flac'))).code).toBe('not-found');
  });

  it('corrupt compressed file and corrupt WAV header', async () => {
    writeFileSync(join(dir, 'noise.mp3'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)));
    const e = await failure(join(dir, 'noise.mp3'), true);
    expect(['corrupt', 'no-audio']).toContain(e.code);
    const wav = readFileSync(join(dir, 'ok.wav'));
    wav.write('junk', 12, 'latin1'); // the fmt chunk id
    writeFileSync(join(dir, 'badfmt.wav'), wav);
    const w = await failure(join(dir, 'badfmt.wav'), true);
    expect(['corrupt', 'truncated']).toContain(w.code);
  });

  it('truncated WAV and FLAC', async () => {
    const wav = readFileSync(join(dir, 'ok.wav'));
    writeFileSync(join(dir, 'cut.wav'), wav.subarray(0, wav.length >> 1));
    const w = await failure(join(dir, 'cut.wav'));
    expect(w.code).toBe('truncated');
    expect(w.message).toMatch(/132300 frames but only/);
    const flac = readFileSync(join(dir, 'ok.flac'));
    writeFileSync(join(dir, 'cut.flac'), flac.subarray(0, flac.length >> 1));
    expect((await failure(join(dir, 'cut.flac'), true)).code).toBe('truncated');
  });

  it('names ffmpeg when it is not installed', async () => {
    const saved = process.env.MUSILINGO_FFPROBE;
    process.env.MUSILINGO_FFPROBE = join(dir, 'no-such-ffprobe');
    try {
      const e = await failure(join(dir, 'ok.flac'));
      expect(e.code).toBe('ffmpeg-missing');
      expect(e.message).toMatch(/no-such-ffprobe is not installed.*install ffmpeg/);
    } finally {
      if (saved === undefined) delete process.env.MUSILINGO_FFPROBE;
      else process.env.MUSILINGO_FFPROBE = saved;
    }
    // Native formats need no ffmpeg.
    const savedBin = process.env.MUSILINGO_FFMPEG;
    process.env.MUSILINGO_FFMPEG = join(dir, 'no-such-ffmpeg');
    try {
      expect((await decodeAll(await probeAudio(join(dir, 'ok.wav')))).length).toBe(3 * RATE);
    } finally {
      if (savedBin === undefined) delete process.env.MUSILINGO_FFMPEG;
      else process.env.MUSILINGO_FFMPEG = savedBin;
    }
  });
});
