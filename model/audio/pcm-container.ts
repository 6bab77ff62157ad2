/**
 * @file Native readers for uncompressed PCM containers: WAV (RIFF/WAVE, PCM and IEEE float, 8/16/24/32-bit
 * integer, 32/64-bit float, WAVE_FORMAT_EXTENSIBLE) and AIFF/AIFC (NONE, twos, sowt, fl32, fl64). Reads any
 * frame range by position and downmixes to mono (mean of channels). Any Node process.
 *
 * [Note: Native WAV/AIFF]
 * Uncompressed files are the common case for music collections kept at full quality, and seeking in them is
 * arithmetic: a window of a one-hour file costs a single positional read, and the samples are exactly the
 * stored ones (no ffmpeg round trip, no process spawn). Integer samples are scaled the way libsndfile,
 * torchaudio and ffmpeg's f32 conversion do: x / 2^(bits−1) (8-bit WAV is unsigned: (x − 128) / 128).
 */
import type { FileHandle } from 'node:fs/promises';
import { AudioDecodeError } from './errors';

/** Where and how the samples of a PCM file are stored. */
export interface PcmLayout {
  readonly container: 'wav' | 'aiff';
  readonly sampleRateHz: number;
  readonly channels: number;
  /** Frames (one sample per channel) present in the file. */
  readonly frames: number;
  /** Absolute byte offset of frame 0. */
  readonly dataOffset: number;
  readonly sample: {
    readonly kind: 'int' | 'float';
    readonly bits: number;
    readonly bigEndian: boolean;
    /** 8-bit WAV samples are unsigned. */
    readonly unsigned: boolean;
  };
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, offset);
  return buf.subarray(0, bytesRead);
}

/** Reads the first bytes and says whether this is a WAV or AIFF file this module reads (else undefined). */
export function sniffPcmContainer(head: Buffer): 'wav' | 'aiff' | undefined {
  if (head.length < 12) return undefined;
  const id = head.toString('latin1', 0, 4);
  const form = head.toString('latin1', 8, 12);
  if (id === 'RIFF' && form === 'WAVE') return 'wav';
  if (id === 'FORM' && (form === 'AIFF' || form === 'AIFC')) return 'aiff';
  return undefined;
}

interface Chunk {
  id: string;
  offset: number; // offset of the chunk body
  size: number;
}

async function listChunks(file: string, handle: FileHandle, fileSize: number, bigEndian: boolean): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  let pos = 12;
  while (pos + 8 <= fileSize) {
    const h = await readAt(handle, pos, 8);
    if (h.length < 8) break;
    const id = h.toString('latin1', 0, 4);
    const size = bigEndian ? h.readUInt32BE(4) : h.readUInt32LE(4);
    chunks.push({ id, offset: pos + 8, size });
    if (id === 'data' || id === 'SSND') {
      // Audio data is usually last; a streaming writer may leave size 0 or 0xFFFFFFFF. Stop here and let the
      // caller decide how much is really present.
      const next = pos + 8 + size + (size & 1);
      if (size === 0 || size === 0xffffffff || next > fileSize) break;
      pos = next;
      continue;
    }
    pos += 8 + size + (size & 1);
    if (chunks.length > 10_000) throw new AudioDecodeError(file, 'corrupt', 'too many chunks (corrupt header?)');
  }
  return chunks;
}

async function parseWav(file: string, handle: FileHandle, fileSize: number): Promise<PcmLayout> {
  const chunks = await listChunks(file, handle, fileSize, false);
  const fmt = chunks.find((c) => c.id === 'fmt ');
  const data = chunks.find((c) => c.id === 'data');
  if (!fmt || fmt.size < 16) throw new AudioDecodeError(file, 'corrupt', 'WAV file has no valid "fmt " chunk');
  if (!data) throw new AudioDecodeError(file, 'truncated', 'WAV file has no "data" chunk (truncated?)');
  const f = await readAt(handle, fmt.offset, Math.min(fmt.size, 40));
  if (f.length < 16) throw new AudioDecodeError(file, 'truncated', 'WAV "fmt " chunk is cut short');
  let tag = f.readUInt16LE(0);
  const channels = f.readUInt16LE(2);
  const sampleRateHz = f.readUInt32LE(4);
  const blockAlign = f.readUInt16LE(12);
  const bits = f.readUInt16LE(14);
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    if (f.length < 40) throw new AudioDecodeError(file, 'corrupt', 'WAVE_FORMAT_EXTENSIBLE header is cut short');
    // The sub-format GUID's first two bytes carry the plain format tag.
    tag = f.readUInt16LE(24);
  }
  if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_IEEE_FLOAT) {
    throw new AudioDecodeError(file, 'unsupported', `WAV sample format 0x${tag.toString(16)} is not supported natively`);
  }
  const kind = tag === WAVE_FORMAT_IEEE_FLOAT ? 'float' : 'int';
  const okBits = kind === 'float' ? [32, 64] : [8, 16, 24, 32];
  if (!okBits.includes(bits)) {
    throw new AudioDecodeError(file, 'unsupported', `${bits}-bit ${kind} WAV samples are not supported. Expected one of: ${okBits.join(', ')} bits`);
  }
  if (channels < 1 || sampleRateHz < 1) throw new AudioDecodeError(file, 'corrupt', `WAV header says ${channels} channels at ${sampleRateHz} Hz`);
  const frameBytes = (bits / 8) * channels;
  if (blockAlign !== 0 && blockAlign !== frameBytes) {
    throw new AudioDecodeError(file, 'unsupported', `WAV block align ${blockAlign} does not match ${channels} × ${bits}-bit samples`);
  }
  const present = Math.max(0, fileSize - data.offset);
  let bytes = data.size;
  if (data.size === 0 || data.size === 0xffffffff) bytes = present; // streaming writer: data runs to end of file
  else if (data.size > present) {
    throw new AudioDecodeError(file, 'truncated',
      `file is truncated: the WAV header announces ${Math.floor(data.size / frameBytes)} frames but only ${Math.floor(present / frameBytes)} are present`);
  }
  return {
    container: 'wav', sampleRateHz, channels, frames: Math.floor(bytes / frameBytes), dataOffset: data.offset,
    sample: { kind, bits, bigEndian: false, unsigned: bits === 8 },
  };
}

/** Decodes an 80-bit IEEE 754 extended float (AIFF's sample rate). */
function readExtended(b: Buffer, off: number): number {
  const exp = b.readUInt16BE(off) & 0x7fff;
  const sign = b.readUInt16BE(off) & 0x8000 ? -1 : 1;
  const hi = b.readUInt32BE(off + 2);
  const lo = b.readUInt32BE(off + 6);
  if (exp === 0 && hi === 0 && lo === 0) return 0;
  return sign * (hi * 2 ** (exp - 16383 - 31) + lo * 2 ** (exp - 16383 - 63));
}

async function parseAiff(file: string, handle: FileHandle, fileSize: number, isAifc: boolean): Promise<PcmLayout> {
  const chunks = await listChunks(file, handle, fileSize, true);
  const comm = chunks.find((c) => c.id === 'COMM');
  const ssnd = chunks.find((c) => c.id === 'SSND');
  if (!comm || comm.size < 18) throw new AudioDecodeError(file, 'corrupt', 'AIFF file has no valid COMM chunk');
  if (!ssnd) throw new AudioDecodeError(file, 'truncated', 'AIFF file has no SSND chunk (truncated?)');
  const c = await readAt(handle, comm.offset, Math.min(comm.size, 64));
  if (c.length < 18) throw new AudioDecodeError(file, 'truncated', 'AIFF COMM chunk is cut short');
  const channels = c.readUInt16BE(0);
  const declaredFrames = c.readUInt32BE(2);
  const bits = c.readUInt16BE(6);
  const sampleRateHz = Math.round(readExtended(c, 8));
  let kind: 'int' | 'float' = 'int';
  let bigEndian = true;
  if (isAifc && c.length >= 22) {
    const comp = c.toString('latin1', 18, 22);
    if (comp === 'sowt') bigEndian = false;
    else if (comp === 'fl32' || comp === 'FL32' || comp === 'fl64' || comp === 'FL64') kind = 'float';
    else if (comp !== 'NONE' && comp !== 'twos') {
      throw new AudioDecodeError(file, 'unsupported', `AIFF-C compression "${comp}" is not supported natively`);
    }
  }
  const sampleBits = kind === 'float' ? (bits === 64 || c.toString('latin1', 18, 22).toLowerCase() === 'fl64' ? 64 : 32) : bits;
  const okBits = kind === 'float' ? [32, 64] : [8, 16, 24, 32];
  if (!okBits.includes(sampleBits)) {
    throw new AudioDecodeError(file, 'unsupported', `${sampleBits}-bit AIFF samples are not supported. Expected one of: ${okBits.join(', ')} bits`);
  }
  if (channels < 1 || sampleRateHz < 1) throw new AudioDecodeError(file, 'corrupt', `AIFF header says ${channels} channels at ${sampleRateHz} Hz`);
  const s = await readAt(handle, ssnd.offset, 8);
  if (s.length < 8) throw new AudioDecodeError(file, 'truncated', 'AIFF SSND chunk is cut short');
  const dataOffset = ssnd.offset + 8 + s.readUInt32BE(0);
  const frameBytes = (sampleBits / 8) * channels;
  const presentFrames = Math.floor(Math.max(0, fileSize - dataOffset) / frameBytes);
  if (declaredFrames > presentFrames) {
    throw new AudioDecodeError(file, 'truncated',
      `file is truncated: the AIFF header announces ${declaredFrames} frames but only ${presentFrames} are present`);
  }
  return {
    container: 'aiff', sampleRateHz, channels, frames: declaredFrames, dataOffset,
    sample: { kind, bits: sampleBits, bigEndian, unsigned: false },
  };
}

/** Parses a WAV or AIFF header. Throws an {@link AudioDecodeError} naming the file for anything wrong. */
export async function readPcmLayout(file: string, handle: FileHandle): Promise<PcmLayout> {
  const { size } = await handle.stat();
  const head = await readAt(handle, 0, 12);
  const kind = sniffPcmContainer(head);
  if (kind === 'wav') return parseWav(file, handle, size);
  if (kind === 'aiff') return parseAiff(file, handle, size, head.toString('latin1', 8, 12) === 'AIFC');
  throw new AudioDecodeError(file, 'unsupported', 'not a WAV or AIFF file');
}

/**
 * Reads frames [start, start + count) (clipped to the file) and returns them downmixed to mono float32
 * (mean of channels).
 */
export async function readPcmFramesMono(handle: FileHandle, layout: PcmLayout, start: number, count: number): Promise<Float32Array> {
  const from = Math.max(0, Math.min(layout.frames, start));
  const to = Math.max(from, Math.min(layout.frames, start + count));
  const n = to - from;
  const bps = layout.sample.bits / 8;
  const frameBytes = bps * layout.channels;
  const buf = await readAt(handle, layout.dataOffset + from * frameBytes, n * frameBytes);
  const frames = Math.floor(buf.length / frameBytes);
  return decodeInterleavedMono(buf, frames, layout);
}

/** Converts interleaved stored samples to mono float32 (mean of channels). */
export function decodeInterleavedMono(buf: Buffer, frames: number, layout: Pick<PcmLayout, 'channels' | 'sample'>): Float32Array {
  const { channels } = layout;
  const { kind, bits, bigEndian, unsigned } = layout.sample;
  const bps = bits / 8;
  const out = new Float32Array(frames);
  const inv = 1 / channels;
  if (kind === 'int' && bits === 16 && !bigEndian) {
    // The common case (CD audio) without a per-sample closure.
    const src = buf.byteOffset % 2 === 0
      ? new Int16Array(buf.buffer, buf.byteOffset, frames * channels)
      : new Int16Array(Uint8Array.prototype.slice.call(buf, 0, frames * channels * 2).buffer);
    const scale = inv / 32768;
    for (let f = 0, i = 0; f < frames; f++) {
      let acc = 0;
      for (let c = 0; c < channels; c++) acc += src[i++]!;
      out[f] = acc * scale;
    }
    return out;
  }
  const read = sampleReader(buf, kind, bits, bigEndian, unsigned);
  for (let f = 0; f < frames; f++) {
    let acc = 0;
    const base = f * channels * bps;
    for (let ch = 0; ch < channels; ch++) acc += read(base + ch * bps);
    out[f] = channels === 1 ? acc : acc * inv;
  }
  return out;
}

function sampleReader(b: Buffer, kind: 'int' | 'float', bits: number, be: boolean, unsigned: boolean): (o: number) => number {
  if (kind === 'float') {
    if (bits === 32) return be ? (o) => b.readFloatBE(o) : (o) => b.readFloatLE(o);
    return be ? (o) => b.readDoubleBE(o) : (o) => b.readDoubleLE(o);
  }
  switch (bits) {
    case 8:
      return unsigned ? (o) => (b[o]! - 128) / 128 : (o) => b.readInt8(o) / 128;
    case 16:
      return be ? (o) => b.readInt16BE(o) / 32768 : (o) => b.readInt16LE(o) / 32768;
    case 24:
      return be ? (o) => b.readIntBE(o, 3) / 8388608 : (o) => b.readIntLE(o, 3) / 8388608;
    default:
      return be ? (o) => b.readInt32BE(o) / 2147483648 : (o) => b.readInt32LE(o) / 2147483648;
  }
}
