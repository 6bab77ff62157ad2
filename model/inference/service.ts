/**
 * @file The inference service: loads a model pack and answers caption, ask and embed calls. Runs inside the
 * inference utility process (app) or a worker thread (CLI), behind {@link rpcServe}; tests call it directly.
 * Electron-free: it gets paths and a pack loader, never `app`.
 *
 * A caption, step by step (docs/captions.md): probe the file (model/audio/decode.ts) → choose the window
 * (model/audio/windows.ts) → read it as 24 kHz mono → pack.encodeAudio (MERT, mean of 25 hidden states,
 * 325-frame pooling) → pack.projectAudio (adapter) → prompt embeddings ([Note: MusiLingo prompt]) →
 * pack.generate (batched across tracks, streamed) → decode → postprocessAnswer.
 */
import { AudioDecodeError } from '../audio/errors';
import { probeAudio, type AudioInfo } from '../audio/decode';
import { allWindows, captionWindow, MERT_SAMPLE_RATE_HZ, outputLength, readWindow, type AudioWindow } from '../audio/windows';
import { MERT_V1_330M, mertMinSamples } from '../mert/config';
import { buildPromptIds, CAPTION_QUESTION, MAX_NEW_TOKENS, postprocessAnswer, stopAfter, type PromptTurn } from './prompt';
import { InferenceError, type CallContext } from './protocol';
import type {
  AskArgs,
  AskValue,
  CaptionArgs,
  CaptionedWindow,
  EmbedArgs,
  InferencePack,
  ItemResult,
  LoadRequest,
  PackInfo,
  ProgressEventData,
  TokenEventData,
  TrackItem,
  WindowResult,
  WindowSpec,
} from './types';

/** Reads audio for the service; the default uses model/audio. Injected by tests. */
export interface AudioReader {
  /** Length in 24 kHz samples, or throws an AudioDecodeError naming the file. */
  probe(path: string): Promise<{ totalSamples: number; handle: unknown }>;
  read(handle: unknown, start: number, length: number, signal?: AbortSignal): Promise<Float32Array>;
}

/** The default reader: model/audio (native WAV/AIFF, ffmpeg otherwise, torchaudio-exact resampling). */
export const MODEL_AUDIO_READER: AudioReader = {
  async probe(path) {
    const info = await probeAudio(path);
    return { totalSamples: outputLength(info, MERT_SAMPLE_RATE_HZ), handle: info };
  },
  read: (handle, start, length, signal) => readWindow(handle as AudioInfo, { start, length }, MERT_SAMPLE_RATE_HZ, signal),
};

/** Options of {@link createInferenceService}. */
export interface InferenceServiceOptions {
  /** Builds an {@link InferencePack} from a pack folder (model/inference/pack.ts in the app). */
  readonly loadPack: (req: LoadRequest) => Promise<InferencePack>;
  readonly audio?: AudioReader;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Most sequences per decoder batch (GPU throughput); default 8. */
  readonly maxBatch?: number;
}

/** The handlers {@link rpcServe} serves; each takes plain-data args and a {@link CallContext}. */
export interface InferenceHandlers {
  load(args: LoadRequest, ctx: CallContext): Promise<PackInfo>;
  status(args: Record<string, never>, ctx: CallContext): Promise<PackInfo | null>;
  caption(args: CaptionArgs, ctx: CallContext): Promise<ItemResult<CaptionedWindow[]>[]>;
  ask(args: AskArgs, ctx: CallContext): Promise<AskValue>;
  embed(args: EmbedArgs, ctx: CallContext): Promise<ItemResult<WindowResult[]>[]>;
  unload(args: Record<string, never>, ctx: CallContext): Promise<void>;
}

const SAMPLES_PER_MS = MERT_SAMPLE_RATE_HZ / 1000;

/** Least time between two token events of one sequence. See [Note: Token events are throttled]. */
export const TOKEN_EVENT_INTERVAL_MS = 50;

function msOf(samples: number): number {
  return Math.round(samples / SAMPLES_PER_MS);
}

/** The windows of a track for a spec, in 24 kHz samples. Exported for tests. */
export function resolveWindows(totalSamples: number, spec: WindowSpec, path = 'the track'): AudioWindow[] {
  if (spec.kind === 'default') return [captionWindow(totalSamples)];
  if (spec.kind === 'all') return allWindows(totalSamples);
  const start = Math.round(spec.startMs * SAMPLES_PER_MS);
  if (!(start >= 0) || start >= totalSamples) {
    throw new InferenceError(
      'invalid-argument',
      `Window start ${spec.startMs} ms lies outside ${path} (${msOf(totalSamples)} ms long).`,
    );
  }
  const length = Math.min(Math.round((spec.lengthMs ?? 30_000) * SAMPLES_PER_MS), totalSamples - start);
  return [{ index: 0, start, length, startSec: start / MERT_SAMPLE_RATE_HZ, durationSec: length / MERT_SAMPLE_RATE_HZ }];
}

/**
 * The fewest 24 kHz samples the encoder can take: one frame of its conv front end (MERT-v1: 400 samples,
 * 17 ms). Shorter audio fails inside ONNX Runtime with a shape error that says nothing to a user.
 */
export const MIN_AUDIO_SAMPLES = mertMinSamples(MERT_V1_330M);

/** Peak level below which a window counts as digital silence (about -80 dBFS). */
const SILENCE_PEAK = 1e-4;

/** Refuses audio the encoder cannot caption, with its own code and a message naming the file. */
export function checkCaptionable(path: string, totalSamples: number): void {
  if (totalSamples < MIN_AUDIO_SAMPLES) {
    throw new InferenceError(
      'too-short',
      `${path} is too short to caption (${msOf(totalSamples)} ms; needs at least ${Math.ceil(MIN_AUDIO_SAMPLES / SAMPLES_PER_MS)} ms)`,
    );
  }
}

function isDigitalSilence(pcm: Float32Array): boolean {
  for (let i = 0; i < pcm.length; i++) if (Math.abs(pcm[i]!) >= SILENCE_PEAK) return false;
  return true;
}

function toItemError(e: unknown): { code: string; message: string } {
  if (e instanceof AudioDecodeError) return { code: e.code === 'not-found' ? 'not-found' : 'bad-audio', message: e.message };
  if (e instanceof InferenceError) return { code: e.code, message: e.message };
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) };
}

/** True for errors of the model runtime (a lost GPU, a failing session), as opposed to bad input. */
function isSessionError(e: unknown): boolean {
  return !(e instanceof AudioDecodeError) && !(e instanceof InferenceError) && !(e instanceof RangeError);
}

/**
 * [Note: One call at a time, questions first]
 * ORT sessions are shared; two calls interleaving would double activation memory on the GPU. The service
 * runs one call at a time and lets a waiting `ask` (a user is watching) go before waiting caption and embed
 * batches. The job runner already sends questions first; this also covers several clients.
 */
function createGate(): <T>(isUrgent: boolean, fn: () => Promise<T>) => Promise<T> {
  let isBusy = false;
  const urgent: (() => void)[] = [];
  const normal: (() => void)[] = [];
  const next = (): void => {
    const run = urgent.shift() ?? normal.shift();
    if (run) run();
    else isBusy = false;
  };
  return async (isUrgent, fn) => {
    if (isBusy) await new Promise<void>((resolve) => (isUrgent ? urgent : normal).push(resolve));
    isBusy = true;
    try {
      return await fn();
    } finally {
      next();
    }
  };
}

/** The same pack with different info (methods bound to the original, which may be a class instance). */
function withInfo(p: InferencePack, info: PackInfo): InferencePack {
  return {
    info,
    encodeText: (t) => p.encodeText(t),
    decodeText: (ids) => p.decodeText(ids),
    encodeAudio: (pcm, signal) => p.encodeAudio(pcm, signal),
    projectAudio: (pooled) => p.projectAudio(pooled),
    embedTokens: (ids) => p.embedTokens(ids),
    generate: (req) => p.generate(req),
    dispose: () => p.dispose(),
  };
}

/** One generated answer, or the error of a prompt that failed alone (see [Note: Isolating a failed batch]). */
type GenResult = { text: string; tokens: number } | { error: InferenceError };

/** Creates the service. Nothing is loaded until `load` (or the first call after it). */
export function createInferenceService(opts: InferenceServiceOptions): InferenceHandlers {
  const audio = opts.audio ?? MODEL_AUDIO_READER;
  const log = opts.log ?? (() => undefined);
  const maxBatch = Math.max(1, opts.maxBatch ?? 8);
  const gate = createGate();
  let pack: InferencePack | null = null;
  let lastLoad: LoadRequest | null = null;
  let isBroken = false;
  let brokenReason = '';

  async function requirePack(): Promise<InferencePack> {
    if (pack && !isBroken) return pack;
    if (!lastLoad) throw new InferenceError('model-unavailable', 'No model pack is loaded. Load one first (musilingo models).');
    // A session failed during an earlier call: build fresh sessions before going on. A GPU that failed while
    // running is not trusted again in this process: the new sessions run on the CPU (and say why).
    const failedOn = pack?.info.executionProvider;
    await pack?.dispose().catch(() => undefined);
    pack = null;
    isBroken = false;
    if (failedOn !== undefined && failedOn !== 'cpu') {
      lastLoad = { ...lastLoad, executionProvider: 'cpu' };
      const p = await loadWithFallback(lastLoad);
      pack = withInfo(p, { ...p.info, fallbackReason: `${failedOn} failed while running: ${brokenReason}` });
      log('warn', `[inference] ${failedOn} failed while running (${brokenReason}); continuing on the CPU`);
      return pack;
    }
    pack = await loadWithFallback(lastLoad);
    return pack;
  }

  async function loadWithFallback(req: LoadRequest): Promise<InferencePack> {
    const t0 = performance.now();
    try {
      const p = await opts.loadPack(req);
      log('info', `[inference] loaded ${p.info.modelId} on ${p.info.executionProvider} in ${Math.round(performance.now() - t0)} ms`);
      return p;
    } catch (e) {
      if (e instanceof InferenceError && e.code === 'model-unavailable') throw e;
      const ep = req.executionProvider ?? 'auto';
      if (ep === 'cpu') throw asModelError(req, e);
      // [Note: Session fallback] A GPU session that cannot be created (no adapter, driver error, out of memory)
      // must not stop captioning: load again on the CPU and say why.
      const reason = `${ep} failed: ${e instanceof Error ? e.message : String(e)}`;
      log('warn', `[inference] ${reason}; falling back to the CPU`);
      try {
        const p = await opts.loadPack({ ...req, executionProvider: 'cpu' });
        log('info', `[inference] loaded ${p.info.modelId} on ${p.info.executionProvider} after the fallback`);
        return withInfo(p, { ...p.info, fallbackReason: reason });
      } catch (e2) {
        throw asModelError(req, e2);
      }
    }
  }

  function asModelError(req: LoadRequest, e: unknown): InferenceError {
    return new InferenceError('session-failed', `Cannot run the model pack ${req.packDir}: ${e instanceof Error ? e.message : String(e)}`);
  }

  /** Runs `fn`; a runtime error marks the sessions for rebuilding and surfaces as 'session-failed'. */
  async function guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isSessionError(e) && !(e instanceof Error && e.name === 'AbortError')) {
        isBroken = true;
        brokenReason = e instanceof Error ? e.message : String(e);
        throw new InferenceError('session-failed', `The model failed while running: ${e instanceof Error ? e.message : String(e)}`);
      }
      throw e;
    }
  }

  /** Decodes and encodes the windows of one item. */
  async function analyse(p: InferencePack, item: TrackItem, signal: AbortSignal): Promise<WindowResult[]> {
    const probe = await audio.probe(item.path);
    checkCaptionable(item.path, probe.totalSamples);
    const windows = resolveWindows(probe.totalSamples, item.window, item.path).filter((w, i) => i === 0 || w.length >= MIN_AUDIO_SAMPLES);
    const out: WindowResult[] = [];
    for (const w of windows) {
      signal.throwIfAborted();
      const t0 = performance.now();
      const pcm = await audio.read(probe.handle, w.start, w.length, signal);
      const t1 = performance.now();
      checkCaptionable(item.path, pcm.length);
      // A track's only window being digital silence has nothing to describe (a silent window among many is
      // encoded like any other: it is part of the track).
      if (windows.length === 1 && isDigitalSilence(pcm)) {
        throw new InferenceError('silent', `${item.path} is silent (digital silence from ${msOf(w.start)} to ${msOf(w.start + pcm.length)} ms): nothing to caption`);
      }
      const embedding = await guarded(() => p.encodeAudio(pcm, signal));
      log('info', `[inference] window ${msOf(w.start)} ms of ${item.path}: read ${Math.round(t1 - t0)} ms, encode ${Math.round(performance.now() - t1)} ms`);
      out.push({ startMs: msOf(w.start), lengthMs: msOf(pcm.length), embedding });
    }
    return out;
  }

  async function promptEmbeds(p: InferencePack, ids: { bosId: number; before: readonly number[]; after: readonly number[] }, audioRows: Float32Array, rows: number): Promise<Float32Array> {
    const h = p.info.hiddenSize;
    const bos = await p.embedTokens([ids.bosId]);
    const before = await p.embedTokens(ids.before);
    const after = await p.embedTokens(ids.after);
    const out = new Float32Array((1 + ids.before.length + rows + ids.after.length) * h);
    let off = 0;
    for (const part of [bos, before, audioRows, after]) {
      out.set(part, off);
      off += part.length;
    }
    if (off !== out.length) throw new InferenceError('internal', `Prompt assembly mismatch: ${off} ≠ ${out.length} values.`);
    return out;
  }

  /** Generates answers for prepared sequences in batches of maxBatch, streaming text events. */
  async function generateTexts(
    p: InferencePack,
    seqs: { key: string; startMs: number; embeds: Float32Array }[],
    gen: CaptionArgs['generation'],
    ctx: CallContext,
    batchSize: number,
  ): Promise<GenResult[]> {
    const results: GenResult[] = [];
    for (let b = 0; b < seqs.length; b += batchSize) {
      const batch = seqs.slice(b, b + batchSize);
      try {
        results.push(...(await generateBatch(p, batch, gen, ctx)));
      } catch (e) {
        // [Note: Isolating a failed batch] One prompt that breaks the decoder must not fail its neighbours:
        // run each alone. If none of them runs either, it is the session (the call fails and is retried);
        // otherwise only the ones that fail alone carry the error. The prompts run again on the same session: a
        // bad input says nothing about the device, and a device that is really lost fails them all, which takes
        // the path of any session failure (rebuilt, on the CPU when the GPU failed; see requirePack).
        if (batch.length === 1 || ctx.signal.aborted || !(e instanceof InferenceError && e.code === 'session-failed')) throw e;
        log('warn', `[inference] a batch of ${batch.length} failed (${e.message}); running its prompts one by one`);
        const singles: GenResult[] = [];
        for (const s of batch) {
          try {
            singles.push(...(await generateBatch(p, [s], gen, ctx)));
          } catch (e2) {
            if (ctx.signal.aborted || !(e2 instanceof InferenceError && e2.code === 'session-failed')) throw e2;
            singles.push({ error: e2 });
          }
        }
        if (singles.every((r) => 'error' in r)) throw e;
        isBroken = false; // the session ran the others
        results.push(...singles);
      }
      ctx.emit('progress', { stage: 'generate', done: Math.min(b + batch.length, seqs.length), total: seqs.length } satisfies ProgressEventData);
    }
    return results;
  }

  /** Generates answers for one decoder batch. */
  async function generateBatch(
    p: InferencePack,
    batch: { key: string; startMs: number; embeds: Float32Array }[],
    gen: CaptionArgs['generation'],
    ctx: CallContext,
  ): Promise<{ text: string; tokens: number }[]> {
    const results: { text: string; tokens: number }[] = [];
    // The answer gets what the context has left after the longest prompt of the batch.
    const longest = Math.max(...batch.map((s) => s.embeds.length / p.info.hiddenSize));
    const maxNew = Math.max(1, Math.min(gen?.maxNewTokens ?? MAX_NEW_TOKENS, p.info.maxPositions - longest));
    const ids: number[][] = batch.map(() => []);
    const lastEmit: number[] = batch.map(() => 0);
    const t0 = performance.now();
    const out = await guarded(() =>
      p.generate({
        prompts: batch.map((s) => s.embeds),
        ...(gen?.temperature !== undefined ? { temperature: gen.temperature } : {}),
        ...(gen?.topP !== undefined ? { topP: gen.topP } : {}),
        ...(gen?.repetitionPenalty !== undefined ? { repetitionPenalty: gen.repetitionPenalty } : {}),
        ...(gen?.seed !== undefined ? { seed: gen.seed } : {}),
        maxNewTokens: maxNew,
        signal: ctx.signal,
        isDone: (_i, newIds) => newIds.length >= maxNew || stopAfter(newIds).isStop,
        onToken: (i, tok) => {
          const s = batch[i];
          const list = ids[i];
          if (!s || !list) return;
          list.push(tok);
          if (stopAfter(list).isStop) return;
          // [Note: Token events are throttled] Decoding the whole answer so far for every token costs O(n²)
          // per answer; a reader needs no more than ~20 updates a second. The first token always goes out.
          const now = performance.now();
          if (list.length > 1 && now - (lastEmit[i] ?? 0) < TOKEN_EVENT_INTERVAL_MS) return;
          lastEmit[i] = now;
          const text = p.decodeText(list);
          const cut = text.indexOf('###');
          ctx.emit('token', { key: s.key, startMs: s.startMs, text: (cut >= 0 ? text.slice(0, cut) : text).trimStart() } satisfies TokenEventData);
        },
      }),
    );
    const total = out.reduce((n, o) => n + o.length, 0);
    const ms = performance.now() - t0;
    log('info', `[inference] generate batch=${batch.length} tokens=${total} ${Math.round(ms)} ms (${(total / Math.max(ms / 1000, 1e-6)).toFixed(1)} tok/s)`);
    for (const o of out) {
      const stop = stopAfter(o);
      const kept = stop.isStop ? o.slice(0, o.length - stop.markerLength) : o;
      results.push({ text: postprocessAnswer(p.decodeText(kept)), tokens: o.length });
    }
    return results;
  }

  function questionIds(p: InferencePack, question: string, rows: number, history: readonly PromptTurn[] = [], maxNew: number): { bosId: number; before: number[]; after: number[]; turnsKept: number } {
    try {
      const r = buildPromptIds((t) => p.encodeText(t), question, {
        history,
        bosId: p.info.bosId,
        audioRows: rows,
        // Room for at least a short answer; generation then takes what is left (see generateTexts).
        maxPromptTokens: p.info.maxPositions - Math.min(maxNew, Math.max(16, Math.floor(p.info.maxPositions / 4))),
      });
      return { bosId: r.bosId, before: [...r.before], after: [...r.after], turnsKept: r.turnsKept };
    } catch (e) {
      throw new InferenceError('invalid-argument', (e as Error).message);
    }
  }

  return {
    async load(args) {
      return gate(true, async () => {
        if (pack) await pack.dispose().catch(() => undefined);
        pack = null;
        lastLoad = args;
        pack = await loadWithFallback(args);
        isBroken = false;
        return pack.info;
      });
    },

    async status() {
      return pack?.info ?? null;
    },

    async caption(args, ctx) {
      return gate(false, async () => {
        const p = await requirePack();
        const question = args.question ?? CAPTION_QUESTION;
        const maxNew = args.generation?.maxNewTokens ?? MAX_NEW_TOKENS;
        const results = new Map<string, ItemResult<CaptionedWindow[]>>();
        const analysed: { item: TrackItem; windows: WindowResult[] }[] = [];
        let done = 0;
        // [Note: Isolating a failed batch] An encoder failure on one item fails that item only. When no item
        // of the call encodes at all, the session is at fault: the whole call fails, as before, to be retried.
        let sessionFailure: InferenceError | null = null;
        for (const item of args.items) {
          ctx.signal.throwIfAborted();
          try {
            analysed.push({ item, windows: await analyse(p, item, ctx.signal) });
            if (sessionFailure) isBroken = false; // it ran again: the failure belonged to an earlier item
          } catch (e) {
            if (ctx.signal.aborted) throw e;
            if (e instanceof InferenceError && e.code === 'session-failed') sessionFailure ??= e;
            results.set(item.key, { key: item.key, ok: false, error: toItemError(e) });
          }
          ctx.emit('progress', { stage: 'encode', done: ++done, total: args.items.length } satisfies ProgressEventData);
        }
        if (sessionFailure && analysed.length === 0) throw sessionFailure;
        const seqs: { key: string; startMs: number; embeds: Float32Array; w: WindowResult }[] = [];
        for (const a of analysed) {
          for (const w of a.windows) {
            const ids = questionIds(p, question, w.embedding.rows, [], maxNew);
            seqs.push({ key: a.item.key, startMs: w.startMs, w, embeds: await promptEmbeds(p, ids, p.projectAudio(w.embedding), w.embedding.rows) });
          }
        }
        const texts = await generateTexts(p, seqs, args.generation, ctx, maxBatch);
        const perItem = new Map<string, CaptionedWindow[]>();
        const failedKeys = new Map<string, InferenceError>();
        seqs.forEach((s, i) => {
          const t = texts[i];
          if (!t) return;
          if ('error' in t) {
            failedKeys.set(s.key, t.error);
            return;
          }
          const list = perItem.get(s.key) ?? [];
          list.push({ ...s.w, text: t.text, tokens: t.tokens });
          perItem.set(s.key, list);
        });
        for (const a of analysed) {
          const failed = failedKeys.get(a.item.key);
          results.set(a.item.key, failed ? { key: a.item.key, ok: false, error: toItemError(failed) } : { key: a.item.key, ok: true, value: perItem.get(a.item.key) ?? [] });
        }
        return args.items.map((i) => results.get(i.key) ?? { key: i.key, ok: false, error: { code: 'internal', message: 'No result.' } });
      });
    },

    async ask(args, ctx) {
      return gate(true, async () => {
        const p = await requirePack();
        if (!args.question.trim()) throw new InferenceError('invalid-argument', 'The question is empty.');
        const maxNew = args.generation?.maxNewTokens ?? MAX_NEW_TOKENS;
        let windows: WindowResult[];
        try {
          windows = await analyse(p, args.item, ctx.signal);
        } catch (e) {
          if (e instanceof InferenceError) throw e;
          const err = toItemError(e);
          throw new InferenceError(err.code as 'bad-audio', err.message);
        }
        const w = windows[0];
        if (!w) throw new InferenceError('bad-audio', `No audio window could be read from ${args.item.path}.`);
        const ids = questionIds(p, args.question, w.embedding.rows, args.history ?? [], maxNew);
        const [t] = await generateBatch(p, [{ key: args.item.key, startMs: w.startMs, embeds: await promptEmbeds(p, ids, p.projectAudio(w.embedding), w.embedding.rows) }], args.generation, ctx);
        return { ...w, text: t?.text ?? '', tokens: t?.tokens ?? 0, turnsKept: ids.turnsKept };
      });
    },

    async embed(args, ctx) {
      return gate(false, async () => {
        const p = await requirePack();
        const out: ItemResult<WindowResult[]>[] = [];
        for (const item of args.items) {
          ctx.signal.throwIfAborted();
          try {
            out.push({ key: item.key, ok: true, value: await analyse(p, item, ctx.signal) });
          } catch (e) {
            if ((e instanceof InferenceError && e.code === 'session-failed') || ctx.signal.aborted) throw e;
            out.push({ key: item.key, ok: false, error: toItemError(e) });
          }
          ctx.emit('progress', { stage: 'encode', done: out.length, total: args.items.length } satisfies ProgressEventData);
        }
        return out;
      });
    },

    async unload() {
      return gate(true, async () => {
        await pack?.dispose();
        pack = null;
        lastLoad = null;
      });
    },
  };
}
