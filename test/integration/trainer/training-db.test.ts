/**
 * @file main/db/training.ts on a real migrated SQLite database: runs, loss points (a resumed run rewrites its
 * steps), adapter lineage and one active adapter per model, and the library rows the dataset reads.
 */
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import {
  activateAdapter,
  activeAdapter,
  createRun,
  finishRun,
  getAdapter,
  getRun,
  libraryForTraining,
  listAdapters,
  listPoints,
  recordProgress,
} from '../../../main/db/training';

function newRun(db: ReturnType<typeof openDatabase>, parent: string | null = null): number {
  return createRun(db, { modelId: 'm', modelPath: '/ck', encoderModelId: 'enc', parentAdapterId: parent, config: '{}', dataReport: null, totalSteps: 4, checkpointPath: null });
}
const adapterFields = (id: string) => ({ id, name: id, path: `/a/${id}`, sha256: 'x', inDim: 2, outDim: 3, heldOutLoss: 1.5, createdAt: 1 });

describe('training repository', () => {
  it('stores the curve; a resumed run replaces the steps after its checkpoint', () => {
    const db = openDatabase(':memory:');
    const id = newRun(db);
    recordProgress(db, id, { kind: 'eval', step: 0, heldOutLoss: 3 });
    for (const step of [1, 2, 3]) recordProgress(db, id, { kind: 'step', step, loss: 10 - step, lr: 1e-5, gradNorm: 0.5, tokens: 9 });
    recordProgress(db, id, { kind: 'checkpoint', step: 2, path: '/c' });
    recordProgress(db, id, { kind: 'step', step: 3, loss: 6.5, lr: 1e-5, gradNorm: 0.5, tokens: 9 }); // replayed after resume
    expect(listPoints(db, id, 'train').map((p) => [p.step, p.loss])).toEqual([[1, 9], [2, 8], [3, 6.5]]);
    const run = getRun(db, id);
    expect(run.initialHeldOutLoss).toBe(3);
    expect(run.step).toBe(2);
    expect(run.checkpointPath).toBe('/c');
    expect(() => getRun(db, 99)).toThrow(/No training run 99/);
  });

  it('records adapters with lineage and keeps one active adapter per model', () => {
    const db = openDatabase(':memory:');
    const r1 = newRun(db);
    const a1 = finishRun(db, r1, adapterFields('adp-1'), { step: 4, activate: true });
    expect(a1.isActive).toBe(true);
    expect(getRun(db, r1).state).toBe('done');
    const r2 = newRun(db, 'adp-1');
    finishRun(db, r2, adapterFields('adp-2'), { step: 4 });
    expect(getAdapter(db, 'adp-2').parentId).toBe('adp-1');
    expect(activeAdapter(db, 'm')!.id).toBe('adp-1');
    activateAdapter(db, 'adp-2');
    expect(listAdapters(db, 'm').filter((a) => a.isActive).map((a) => a.id)).toEqual(['adp-2']);
    activateAdapter(db, null, 'm');
    expect(activeAdapter(db, 'm')).toBeNull();
    expect(() => getAdapter(db, 'adp-')).toThrow(/ambiguous/);
    expect(() => getAdapter(db, 'nope')).toThrow(/No adapter "nope"/);
  });

  it('reads tracks with their windows and user captions only', () => {
    const db = openDatabase(':memory:');
    const t = Number(db.prepare("INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, genre, bpm, added_at, updated_at) VALUES ('/x.mp3', 1, 0, 'fp', 'Jazz', 120, 0, 0)").run().lastInsertRowid);
    const emb = Float32Array.from([1, 2, 3, 4]);
    db.prepare("INSERT INTO windows (track_id, model_id, start_ms, length_ms, rows, dim, embedding, created_at) VALUES (?, 'enc', 0, 30000, 2, 2, ?, 0)").run(t, Buffer.from(emb.buffer));
    db.prepare("INSERT INTO windows (track_id, model_id, start_ms, length_ms, rows, dim, embedding, created_at) VALUES (?, 'other', 0, 30000, 2, 2, ?, 0)").run(t, Buffer.from(emb.buffer));
    db.prepare("INSERT INTO captions (track_id, start_ms, length_ms, model_id, source, text, created_at) VALUES (?, 0, 30000, 'm', 'user', 'Mine.', 0), (?, 0, 30000, 'm', 'model', 'Generated.', 0)").run(t, t);
    const [row] = libraryForTraining(db, 'enc');
    expect(row!.genre).toBe('Jazz');
    expect(row!.windows.length).toBe(1);
    expect(Array.from(row!.windows[0]!.embedding)).toEqual([1, 2, 3, 4]);
    expect(row!.captions.map((c) => c.text)).toEqual(['Mine.']);
  });
});
