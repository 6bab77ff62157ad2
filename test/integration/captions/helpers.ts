/**
 * @file Test helpers for the caption pipeline: a deterministic stand-in model pack (to test the queue, runner
 * and storage without ONNX models), audio files made with sox, and track rows.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { GenerateRequest, InferencePack, LoadRequest, PooledEmbedding } from '../../../model/inference/types';

const WORDS = ['calm', 'piano', 'ballad', 'energetic', 'drums', 'guitar', 'female', 'vocals', 'ambient', 'synth', 'bass', 'slow', 'bright', 'dark', 'warm', 'noisy'];
const WORD_BASE = 3000;

/** Knobs of {@link fakePack}. */
export interface FakePackOptions {
  /** Milliseconds to wait per generated token (lets tests act mid-run). */
  tokenDelayMs?: number;
  /** Generate calls that throw a runtime error (like a lost GPU) before succeeding. */
  failGenerateTimes?: number;
  /** Execution providers whose load throws (like a machine without a GPU adapter). */
  failLoadOn?: string[];
  /** Execution providers whose generate always throws (a GPU that fails while running). */
  failRunOn?: string[];
  /** Records the execution provider of every generate call. */
  runEps?: string[];
  /** Records every prompt length (inputs_embeds rows) and batch size seen. */
  calls?: { batch: number; promptRows: number[] }[];
}

/**
 * A deterministic stand-in for a model pack: the "encoder" pools simple signal statistics of each 325-frame
 * stretch, the "decoder" picks words from a hash of its prompt. Same audio and prompt → same caption; different
 * audio → different vectors and words.
 */
export function fakePackLoader(opts: FakePackOptions = {}): (req: LoadRequest) => Promise<InferencePack> {
  let failures = opts.failGenerateTimes ?? 0;
  return async (req) => {
    const ep = req.executionProvider ?? 'auto';
    if (opts.failLoadOn?.includes(ep)) throw new Error(`${ep} execution provider: no adapter found`);
    const dim = 8;
    const hidden = 8;
    const runsOn = ep === 'auto' ? 'webgpu' : ep;
    return {
      info: { modelId: 'fake-pack', adapterId: req.adapterId ?? '', encoderId: 'fake-encoder', dir: req.packDir, hiddenSize: hidden, maxPositions: 512, bosId: 1, executionProvider: runsOn, variant: 'float32' },
      encodeText: (t) => t.split(/\s+/).filter(Boolean).map((w) => 100 + (hash(w) % 500)),
      decodeText: (ids) => ids.filter((i) => i >= WORD_BASE).map((i) => WORDS[(i - WORD_BASE) % WORDS.length]).join(' '),
      async encodeAudio(pcm): Promise<PooledEmbedding> {
        const frames = Math.max(1, Math.floor(pcm.length / 320));
        const rows = Math.ceil(frames / 325);
        const data = new Float32Array(rows * dim);
        for (let r = 0; r < rows; r++) {
          const a = r * 325 * 320;
          const b = Math.min(pcm.length, (r + 1) * 325 * 320);
          let sum = 0, sq = 0, zc = 0, diff = 0;
          for (let i = a; i < b; i++) {
            const x = pcm[i] ?? 0;
            sum += x;
            sq += x * x;
            if (i > a && Math.sign(x) !== Math.sign(pcm[i - 1] ?? 0)) zc++;
            if (i > a) diff += Math.abs(x - (pcm[i - 1] ?? 0));
          }
          const n = Math.max(1, b - a);
          const feats = [sum / n, Math.sqrt(sq / n), zc / n, diff / n, (zc / n) ** 2, Math.sqrt(sq / n) * (zc / n), 0.1, diff / n / (Math.sqrt(sq / n) + 1e-6)];
          data.set(feats, r * dim);
        }
        return { rows, dim, data };
      },
      projectAudio: (p) => p.data.slice(),
      embedTokens: async (ids) => {
        const out = new Float32Array(ids.length * hidden);
        ids.forEach((id, i) => {
          for (let d = 0; d < hidden; d++) out[i * hidden + d] = ((id * (d + 3)) % 17) / 17;
        });
        return out;
      },
      async generate(g: GenerateRequest): Promise<number[][]> {
        opts.calls?.push({ batch: g.prompts.length, promptRows: g.prompts.map((p) => p.length / hidden) });
        opts.runEps?.push(runsOn);
        if (opts.failRunOn?.includes(runsOn)) throw new Error(`${runsOn}: device lost (simulated)`);
        if (failures > 0) {
          failures--;
          throw new Error('GPU device lost (simulated)');
        }
        return Promise.all(
          g.prompts.map(async (p, i) => {
            // Quantised prompt features → a stable seed.
            let seed = 0;
            for (let k = 0; k < p.length; k++) seed = (seed * 31 + Math.round((p[k] ?? 0) * 1000)) >>> 0;
            const ids: number[] = [];
            for (let step = 0; step < (g.maxNewTokens ?? 300) && !g.isDone(i, ids); step++) {
              g.signal?.throwIfAborted();
              if (opts.tokenDelayMs) await new Promise((r) => setTimeout(r, opts.tokenDelayMs));
              seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
              const tok = step === 5 ? 835 : WORD_BASE + (seed % WORDS.length);
              ids.push(tok);
              g.onToken?.(i, tok);
            }
            return ids;
          }),
        );
      },
      async dispose() {},
    };
  };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** Writes a short audio file with sox: `synth` arguments such as ['sine', '440'] or ['whitenoise']. */
export function makeAudio(dir: string, name: string, seconds: number, synth: string[], rate = 44100): string {
  const path = join(dir, name);
  execFileSync('sox', ['-n', '-r', String(rate), '-c', '2', path, 'synth', String(seconds), ...synth, 'vol', '0.5'], { stdio: 'ignore' });
  return path;
}

/** Writes a file that claims to be audio but is not. */
export function makeCorrupt(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([Buffer.from('RIFF\u0000\u0000\u0000\u0000WAVEjunk'), Buffer.alloc(2000, 7)]));
  return path;
}

/** Inserts a track row as the scanner would (the columns captioning needs). */
export function insertTrack(db: Database.Database, path: string, meta: { title?: string; durationMs?: number } = {}): number {
  const now = Date.now();
  const r = db
    .prepare(
      `INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, title, duration_ms, added_at, updated_at)
       VALUES (?, 1, ?, ?, ?, ?, ?, ?)`,
    )
    .run(path, now, `fp:${path}`, meta.title ?? null, meta.durationMs ?? null, now, now);
  return Number(r.lastInsertRowid);
}
