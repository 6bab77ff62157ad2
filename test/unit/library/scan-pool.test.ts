/**
 * @file ScanThreadPool's scheduling with fake threads (main/library/scan-pool.ts): the main thread reads only
 * while no thread is ready and at most MAIN_THREAD_READS at once; a ready thread gets batches up to its fill and
 * the rest wait; closing ends waiting reads without reading them; a thread that ends before it is ready costs
 * no file and is not replaced.
 */
import { describe, expect, it } from 'vitest';
import type { ReadOutcome, TrackReader } from '../../../main/library/read-track';
import {
  MAIN_THREAD_READS,
  READS_IN_FLIGHT_PER_THREAD,
  SCAN_THREAD_READY,
  ScanThreadPool,
  type ScanThread,
  type ScanThreadReplies,
  type ScanThreadRequests,
} from '../../../main/library/scan-pool';

/** A thread driven by the test: it records batches and says ready, answers or exits when told. */
class FakeThread implements ScanThread {
  readonly batches: ScanThreadRequests[] = [];
  #onMessage: ((m: ScanThreadReplies | typeof SCAN_THREAD_READY) => void) | undefined;
  #onExit: ((code: number) => void) | undefined;
  postMessage(m: ScanThreadRequests): void {
    this.batches.push(m);
  }
  on(event: string, listener: (x: never) => void): this {
    if (event === 'message') this.#onMessage = listener as (m: ScanThreadReplies | typeof SCAN_THREAD_READY) => void;
    if (event === 'exit') this.#onExit = listener as (code: number) => void;
    return this;
  }
  terminate(): Promise<number> {
    return Promise.resolve(0);
  }
  ready(): void {
    this.#onMessage?.(SCAN_THREAD_READY);
  }
  answerAll(): void {
    const replies = this.batches.splice(0).flat().map((r) => ({ id: r.id, outcome: ok(`thread:${r.path}`) }));
    this.#onMessage?.(replies);
  }
  exit(code: number): void {
    this.#onExit?.(code);
  }
}

function ok(fingerprint: string): ReadOutcome {
  return { ok: true, fingerprint, meta: {} as never, after: { sizeBytes: 1, mtimeMs: 1 } };
}

/** A main-thread reader that records how many reads it has at once; each takes one timer turn. */
function countingReader(): TrackReader & { calls: number; maxAtOnce: number } {
  let now = 0;
  const r = {
    calls: 0,
    maxAtOnce: 0,
    read(path: string): Promise<ReadOutcome> {
      r.calls++;
      r.maxAtOnce = Math.max(r.maxAtOnce, ++now);
      return new Promise((resolve) =>
        setTimeout(() => {
          now--;
          resolve(ok(`main:${path}`));
        }, 1),
      );
    },
  };
  return r;
}

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('ScanThreadPool', () => {
  it('reads in the main thread while no thread is ready (a few at once), then hands reads to the thread', async () => {
    const thread = new FakeThread();
    const main = countingReader();
    const pool = new ScanThreadPool(() => thread, 1, main);
    const early = await Promise.all(Array.from({ length: 20 }, (_, i) => pool.read(`/a${i}`, 1)));
    expect(early.every((o) => o.ok && o.fingerprint.startsWith('main:'))).toBe(true);
    expect(main.maxAtOnce).toBe(MAIN_THREAD_READS);
    expect(thread.batches).toHaveLength(0);

    thread.ready();
    const later = Promise.all(Array.from({ length: 5 }, (_, i) => pool.read(`/b${i}`, 1)));
    await flush();
    expect(thread.batches.map((b) => b.length)).toEqual([5]); // one message for the reads of one turn
    thread.answerAll();
    expect((await later).map((o) => o.ok && o.fingerprint)).toEqual(['/b0', '/b1', '/b2', '/b3', '/b4'].map((p) => `thread:${p}`));
    expect(main.calls).toBe(20);
    await pool.close();
  });

  it('keeps reads waiting beyond a thread\'s fill, and closing ends them without reading them', async () => {
    const thread = new FakeThread();
    const main = countingReader();
    const pool = new ScanThreadPool(() => thread, 1, main);
    thread.ready();
    const all = Array.from({ length: READS_IN_FLIGHT_PER_THREAD + 3 }, (_, i) => pool.read(`/c${i}`, 1));
    await flush();
    expect(thread.batches.flat()).toHaveLength(READS_IN_FLIGHT_PER_THREAD);
    await pool.close();
    const waiting = await Promise.all(all.slice(READS_IN_FLIGHT_PER_THREAD));
    for (const o of waiting) expect(o).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(!waiting[0]!.ok && waiting[0]!.error.message).toMatch(/"\/c\d+" was not read: the scan ended first/);
    expect(main.calls).toBe(0);
  });

  it('does not blame a file on a thread that ended before it was ready, nor start another', async () => {
    let launched = 0;
    const thread = new FakeThread();
    const main = countingReader();
    const pool = new ScanThreadPool(() => (launched++, thread), 1, main);
    const reads = Promise.all([pool.read('/d0', 1), pool.read('/d1', 1)]);
    thread.exit(1);
    expect((await reads).every((o) => o.ok)).toBe(true);
    expect(launched).toBe(1);
    expect(pool.threads).toBe(0);
    await pool.close();
  });
});
