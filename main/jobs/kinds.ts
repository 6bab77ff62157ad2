/**
 * @file Job kinds of the analysis queue, their payloads (validated with zod when claimed), priorities and
 * de-duplication keys. Main process and CLI.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { enqueueJob } from '../db/jobs';
import { appendQaMessage, newThreadId } from '../db/qa';
import type { WindowSpec } from '../../model/inference/types';

/** Job kinds run by the analysis runner (main/jobs/runner.ts). */
export const ANALYSIS_KINDS = ['ask', 'caption-one', 'embed', 'caption-all', 'embed-all', 'suggest-tags'] as const;
/** One of {@link ANALYSIS_KINDS}. */
export type AnalysisKind = (typeof ANALYSIS_KINDS)[number];

/**
 * [Note: Job priorities]
 * A question the user is waiting for goes first, then a caption the user asked for, then fan-out of groups
 * (cheap, and it unlocks the rest), then background captions and embeddings. Claims order by priority, then
 * age; a batch is only formed from jobs of the same priority, so a background batch never delays a question
 * by more than one batch.
 */
export const JOB_PRIORITY = { ask: 100, userCaption: 50, group: 20, background: 0 } as const;

const WindowSpecSchema = z.union([
  z.object({ kind: z.literal('default') }),
  z.object({ kind: z.literal('all') }),
  z.object({ kind: z.literal('at'), startMs: z.number().int().nonnegative(), lengthMs: z.number().int().positive().optional() }),
]).transform((w): WindowSpec =>
  w.kind === 'at' ? { kind: 'at', startMs: w.startMs, ...(w.lengthMs !== undefined ? { lengthMs: w.lengthMs } : {}) } : w,
);

/** The model pack and adapter a job uses, as the user named them (resolved by the runner's resolvePack). */
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

/** Enqueues captioning of one track; the pending job is reused if there is one. */
export function enqueueCaption(
  db: Database.Database,
  req: { trackId: number; model: string; adapter?: string; window?: WindowSpec; priority?: number },
): { id: number; isNew: boolean } {
  const adapter = req.adapter ?? '';
  const window = req.window ?? { kind: 'default' };
  return enqueueJob(db, {
    kind: 'caption-one',
    payload: { trackId: req.trackId, model: req.model, adapter, window, batchKey: batchKeyOf(req.model, adapter) },
    priority: req.priority ?? JOB_PRIORITY.userCaption,
    dedupeKey: `caption:${req.trackId}:${req.model}:${adapter}:${windowKey(window)}`,
  });
}

/** Enqueues embedding of every window of one track. */
export function enqueueEmbed(
  db: Database.Database,
  req: { trackId: number; model: string; adapter?: string; priority?: number },
): { id: number; isNew: boolean } {
  const adapter = req.adapter ?? '';
  return enqueueJob(db, {
    kind: 'embed',
    payload: { trackId: req.trackId, model: req.model, adapter, window: { kind: 'all' }, batchKey: batchKeyOf(req.model, adapter) },
    priority: req.priority ?? JOB_PRIORITY.userCaption,
    dedupeKey: `embed:${req.trackId}:${req.model}`,
  });
}

/** Enqueues a library-wide group (caption-all or embed-all); a pending group for the same model is reused. */
export function enqueueGroup(
  db: Database.Database,
  req: { kind: 'caption-all' | 'embed-all'; model: string; adapter?: string; window?: WindowSpec; force?: boolean },
): { id: number; isNew: boolean } {
  const adapter = req.adapter ?? '';
  const window = req.window ?? { kind: req.kind === 'embed-all' ? 'all' : 'default' };
  return enqueueJob(db, {
    kind: req.kind,
    payload: { model: req.model, adapter, window, force: req.force ?? false },
    priority: JOB_PRIORITY.group,
    dedupeKey: `${req.kind}:${req.model}:${adapter}:${windowKey(window)}`,
    maxAttempts: 5,
  });
}

/**
 * Stores the user's question in its thread and enqueues the answer, in one transaction: the question is
 * never lost and never asked twice. Returns the job, the thread (new unless given) and the message id.
 */
export function enqueueAsk(
  db: Database.Database,
  req: { trackId: number; question: string; threadId?: string; model: string; adapter?: string; window?: WindowSpec },
): { jobId: number; threadId: string; messageId: number } {
  const threadId = req.threadId ?? newThreadId();
  return db.transaction(() => {
    const messageId = appendQaMessage(db, { trackId: req.trackId, threadId, role: 'user', text: req.question.trim() });
    const { id } = enqueueJob(db, {
      kind: 'ask',
      payload: {
        trackId: req.trackId,
        threadId,
        messageId,
        question: req.question.trim(),
        model: req.model,
        adapter: req.adapter ?? '',
        window: req.window ?? { kind: 'default' },
      },
      priority: JOB_PRIORITY.ask,
    });
    return { jobId: id, threadId, messageId };
  }).immediate();
}
