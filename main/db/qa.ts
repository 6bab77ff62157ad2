/**
 * @file Repository for question-and-answer threads per track (qa_messages). Main process and CLI (the writer).
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { statementsPerConnection } from './statements';
import { returningRow } from './write';

/** One message of a thread. */
export interface QaMessage {
  readonly id: number;
  readonly trackId: number;
  readonly threadId: string;
  readonly role: 'user' | 'assistant';
  readonly text: string;
  readonly modelId: string | null;
  readonly createdAt: number;
}

/** A finished question-answer pair, as the prompt builder takes earlier turns. */
export interface QaTurn {
  readonly question: string;
  readonly answer: string;
}

interface Row {
  id: number;
  track_id: number;
  thread_id: string;
  role: 'user' | 'assistant';
  text: string;
  model_id: string | null;
  created_at: number;
}


function prepare(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO qa_messages (track_id, thread_id, role, text, model_id, adapter_id, created_at)
       VALUES (@trackId, @threadId, @role, @text, @modelId, @adapterId, @now) RETURNING id`,
    ),
    thread: db.prepare<[number, string], Row>(
      'SELECT * FROM qa_messages WHERE track_id = ? AND thread_id = ? ORDER BY id',
    ),
    threads: db.prepare<[number], { thread_id: string; n: number; last: number }>(
      `SELECT thread_id, count(*) AS n, max(created_at) AS last FROM qa_messages WHERE track_id = ?
       GROUP BY thread_id ORDER BY last DESC`,
    ),
  };
}

const statements = statementsPerConnection(prepare);

/** A fresh thread id (a UUID). */
export function newThreadId(): string {
  return randomUUID();
}

/** Appends a message to a thread and returns its id. */
export function appendQaMessage(
  db: Database.Database,
  m: { trackId: number; threadId: string; role: 'user' | 'assistant'; text: string; modelId?: string | null; adapterId?: string },
  now: number = Date.now(),
): number {
  // adapterId: the adapter an answer came from ('' = the model's own; 0060), as captions record it.
  const r = returningRow<{ id: number }>(db, statements(db).insert, { ...m, modelId: m.modelId ?? null, adapterId: m.adapterId ?? '', now });
  if (!r) throw new Error(`The message was not stored in ${db.name}.`);
  return r.id;
}

/** Every message of a thread, oldest first. */
export function qaThread(db: Database.Database, trackId: number, threadId: string): QaMessage[] {
  return statements(db)
    .thread.all(trackId, threadId)
    .map((r) => ({
      id: r.id,
      trackId: r.track_id,
      threadId: r.thread_id,
      role: r.role,
      text: r.text,
      modelId: r.model_id,
      createdAt: r.created_at,
    }));
}

/** The threads of a track, most recently active first. */
export function qaThreads(db: Database.Database, trackId: number): { threadId: string; messages: number; lastAt: number }[] {
  return statements(db)
    .threads.all(trackId)
    .map((r) => ({ threadId: r.thread_id, messages: r.n, lastAt: r.last }));
}

/**
 * The answered turns of a thread before message `beforeId` (all when omitted): each user message paired with
 * the assistant message that follows it. An unanswered question (a failed ask) is skipped.
 */
export function qaTurns(db: Database.Database, trackId: number, threadId: string, beforeId?: number): QaTurn[] {
  const msgs = qaThread(db, trackId, threadId).filter((m) => beforeId === undefined || m.id < beforeId);
  const turns: QaTurn[] = [];
  for (let i = 0; i < msgs.length; i++) {
    const q = msgs[i];
    const a = msgs[i + 1];
    if (q?.role === 'user' && a?.role === 'assistant') {
      turns.push({ question: q.text, answer: a.text });
      i++;
    }
  }
  return turns;
}
