/**
 * @file The worker supervisor restarts crashed workers with exponential backoff, gives up after a bounded
 * number of crashes in its window, resets after a stable run, and stops cleanly.
 */
import { describe, expect, it } from 'vitest';
import type { WorkerStatus } from '../../../preload/contract';
import { backoffDelayMs, createSupervisor, type LaunchedWorker } from '../../../main/workers/supervisor';

/** A fake process whose exit the test triggers, and a manual clock and timer queue. */
function harness(opts: { maxRestarts?: number; failLaunch?: boolean } = {}) {
  let now = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const workers: { port: number; exit: (code: number | null) => void; killed: boolean }[] = [];
  const statuses: WorkerStatus[] = [];
  const stopped: string[] = [];
  const sup = createSupervisor<number>({
    name: 'inference',
    launch: (): LaunchedWorker<number> => {
      if (opts.failLaunch) throw new Error('bad module path');
      let onExit: (code: number | null) => void = () => {};
      const w = { port: workers.length + 1, exit: (c: number | null) => onExit(c), killed: false };
      workers.push(w);
      return { port: w.port, kill: () => { w.killed = true; queueMicrotask(() => onExit(null)); }, onExit: (l) => { onExit = l; } };
    },
    onStatus: (s) => statuses.push(s),
    onStop: (_port, reason) => stopped.push(reason),
    maxRestarts: opts.maxRestarts ?? 3,
    windowMs: 60_000,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    stableAfterMs: 30_000,
    now: () => now,
    setTimer: (fn, ms) => { const id = nextId++; timers.push({ at: now + ms, fn, id }); return id; },
    clearTimer: (h) => { const i = timers.findIndex((t) => t.id === h); if (i >= 0) timers.splice(i, 1); },
  });
  function advance(ms: number): void {
    now += ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.splice(timers.indexOf(due), 1);
      due.fn();
    }
  }
  return { sup, workers, statuses, stopped, advance, timers };
}

describe('backoffDelayMs', () => {
  it('doubles from the base and is capped', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelayMs(n, 500, 15_000))).toEqual([500, 1000, 2000, 4000, 8000, 15_000]);
  });
});

describe('createSupervisor', () => {
  it('restarts a crashed worker after the backoff and exposes the new port', () => {
    const h = harness();
    h.sup.start();
    expect(h.sup.port()).toBe(1);
    h.workers[0]!.exit(134);
    expect(h.sup.status()).toMatchObject({ state: 'restarting', restarts: 1, lastError: 'The inference worker exited unexpectedly (code 134).' });
    expect(h.sup.port()).toBeNull();
    expect(h.stopped).toEqual(['The inference worker exited unexpectedly (code 134).']);
    h.advance(99);
    expect(h.workers).toHaveLength(1);
    h.advance(1);
    expect(h.workers).toHaveLength(2);
    expect(h.sup.status().state).toBe('running');
    expect(h.sup.port()).toBe(2);
  });

  it('backs off exponentially and gives up after maxRestarts crashes in the window', () => {
    const h = harness({ maxRestarts: 3 });
    h.sup.start();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      h.workers.at(-1)!.exit(1);
      delays.push(h.timers[0]!.at - 0);
      h.advance(h.timers[0]!.at);
    }
    expect(h.workers).toHaveLength(4);
    h.workers.at(-1)!.exit(1);
    expect(h.sup.status().state).toBe('failed');
    expect(h.sup.status().lastError).toMatch(/Gave up after 3 restarts in 60 s/);
    expect(h.timers).toHaveLength(0);
    // A manual start after giving up begins afresh.
    h.sup.start();
    expect(h.sup.status().state).toBe('running');
    expect(h.workers).toHaveLength(5);
  });

  it('forgets old crashes once a worker ran stably', () => {
    const h = harness({ maxRestarts: 1 });
    h.sup.start();
    h.workers[0]!.exit(1);
    h.advance(100);
    h.advance(40_000); // stable for longer than stableAfterMs
    h.workers[1]!.exit(1);
    expect(h.sup.status().state).toBe('restarting');
  });

  it('counts a launch that throws as a crash', () => {
    const h = harness({ failLaunch: true, maxRestarts: 0 });
    h.sup.start();
    expect(h.sup.status()).toMatchObject({ state: 'failed' });
    expect(h.sup.status().lastError).toContain('could not start: bad module path');
  });

  it('stop() kills the worker and does not restart it', async () => {
    const h = harness();
    h.sup.start();
    await h.sup.stop();
    expect(h.workers[0]!.killed).toBe(true);
    expect(h.sup.status().state).toBe('stopped');
    expect(h.timers.filter((t) => t.at < 5_000)).toHaveLength(0);
  });
});
