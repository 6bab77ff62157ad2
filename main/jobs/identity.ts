/**
 * @file A job's identity, in one place: the payload of each analysis kind (zod schemas, parsed when a job is
 * claimed), its de-duplication key (a pending job with the same key is reused instead of queued twice) and its
 * batch key (jobs that may share one decoder batch). The enqueue functions (./kinds.ts), the SQL fan-out of a
 * group (main/db/jobs.ts fanOutTrackJobs) and the runner all take them from here, so a caption a user asks for
 * and the same caption queued by "caption all" are the same job. Main process and CLI; no I/O.
 */
import { z } from 'zod';
import type { WindowSpec } from '../../model/inference/types';

export const WindowSpecSchema = z.union([
  z.object({ kind: z.literal('default') }),
  z.object({ kind: z.literal('all') }),
  z.object({ kind: z.literal('at'), startMs: z.number().int().nonnegative(), lengthMs: z.number().int().positive().optional() }),
]).transform((w): WindowSpec =>
  w.kind === 'at' ? { kind: 'at', startMs: w.startMs, ...(w.lengthMs !== undefined ? { lengthMs: w.lengthMs } : {}) } : w,
);

/**
 * The model pack and adapter a job uses: the registry's stored reference (a pack id or pack folder) and the
 * adapter id ('' = the model's own), resolved again by the runner's resolvePack (main/models/registry.ts).
 */
const ModelRef = { model: z.string().min(1), adapter: z.string().default('') };

/** caption-one: caption one track's window(s). */
export const CaptionOnePayload = z.object({ trackId: z.number().int().positive(), ...ModelRef, window: WindowSpecSchema, batchKey: z.string() });
/** embed: store every window's embedding of one track (no captions). */
export const EmbedPayload = z.object({ trackId: z.number().int().positive(), ...ModelRef, window: WindowSpecSchema, batchKey: z.string() });
/** caption-all / embed-all: fan out to one child job per track that lacks the result. */
export const GroupPayload = z.object({ ...ModelRef, window: WindowSpecSchema, force: z.boolean().default(false) });
/** ask: answer the user message `messageId` of a thread. */
export const AskPayload = z.object({
  trackId: z.number().int().positive(),
  threadId: z.string().min(1),
  messageId: z.number().int().positive(),
  question: z.string().min(1),
  ...ModelRef,
  window: WindowSpecSchema,
});

/** A window spec as a short stable string for keys: 'default', 'all', 'at:<startMs>:<lengthMs>'. */
export function windowKey(w: WindowSpec): string {
  return w.kind === 'at' ? `at:${w.startMs}:${w.lengthMs ?? 30_000}` : w.kind;
}

/** The key that groups jobs into one decoder batch: same pack and adapter. */
export function batchKeyOf(model: string, adapter: string): string {
  return `${model}|${adapter}`;
}

/** De-duplication key of a caption of one track: same track, pack, adapter and window. */
export function captionDedupeKey(trackId: number | string, model: string, adapter: string, window: WindowSpec | string): string {
  return `caption:${trackId}:${model}:${adapter}:${typeof window === 'string' ? window : windowKey(window)}`;
}

/** De-duplication key of the embeddings of one track: same track and pack (the adapter does not change them). */
export function embedDedupeKey(trackId: number | string, model: string): string {
  return `embed:${trackId}:${model}`;
}

/** De-duplication key of a library-wide group. */
export function groupDedupeKey(kind: 'caption-all' | 'embed-all', model: string, adapter: string, window: WindowSpec): string {
  return `${kind}:${model}:${adapter}:${windowKey(window)}`;
}

/**
 * The per-track key of a fan-out child split around the track id, for SQL that builds it per row
 * (`prefix || ':' || t.id || tail`); equal to {@link captionDedupeKey} / {@link embedDedupeKey}.
 */
export function trackDedupeKeyParts(childKind: 'caption-one' | 'embed', model: string, adapter: string, windowKeyText: string): { prefix: string; tail: string } {
  const marker = '\u0000';
  const key = childKind === 'caption-one' ? captionDedupeKey(marker, model, adapter, windowKeyText) : embedDedupeKey(marker, model);
  const [prefix, tail] = key.split(`:${marker}`) as [string, string];
  return { prefix, tail };
}
