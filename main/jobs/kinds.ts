/**
 * @file Job kinds of the analysis queue, their priorities and the functions that enqueue them. A job's
 * identity (payload schemas, de-duplication and batch keys) is ./identity.ts. Main process and CLI.
 */
import type Database from 'better-sqlite3';
import { enqueueJob } from '../db/jobs';
import { appendQaMessage, newThreadId } from '../db/qa';
import type { WindowSpec } from '../../model/inference/types';
import { batchKeyOf, captionDedupeKey, embedDedupeKey, groupDedupeKey } from './identity';

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

export {
  AskPayload,
  batchKeyOf,
  CaptionOnePayload,
  EmbedPayload,
  GroupPayload,
  windowKey,
} from './identity';

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
    dedupeKey: captionDedupeKey(req.trackId, req.model, adapter, window),
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
    dedupeKey: embedDedupeKey(req.trackId, req.model),
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
    dedupeKey: groupDedupeKey(req.kind, req.model, adapter, window),
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
