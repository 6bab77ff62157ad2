/**
 * @file The IPC contract's allow-lists, handlers and schemas name exactly the same channels (STYLE B9). The
 * types already force this; the test catches casts. Also checks the dispatch path: validation, Result
 * envelopes, unknown channels, and 'unavailable' for services missing from a build.
 */
import { describe, expect, it } from 'vitest';
import { EVENTS, INVOKE } from '../../../preload/contract';
import { createEventHub } from '../../../main/app/events';
import type { AppServices } from '../../../main/app/services';
import { dispatchInvoke } from '../../../main/ipc/dispatch';
import { IpcError } from '../../../main/ipc/errors';
import { createHandlers } from '../../../main/ipc/handlers';
import { schemas } from '../../../main/ipc/schemas';
import { createSupervisor } from '../../../main/workers/supervisor';

/** Services with no backends: enough to enumerate handlers and exercise dispatch without a database. */
function bareServices(overrides: Partial<AppServices> = {}): AppServices {
  return {
    db: null as never,
    dataDir: '/tmp/x',
    settings: { get: () => ({ theme: 'system' }), update: (p) => ({ theme: p.theme ?? 'system' }), getWindowState: () => ({ x: null, y: null, width: 800, height: 600, isMaximized: false }), setWindowState: () => {}, getActiveModel: () => null, setActiveModel: () => {} },
    events: createEventHub(),
    evaluation: { run: () => Promise.reject(new Error('no evaluation')), paper: () => [] },
    log: () => {},
    pickFolder: () => Promise.resolve(null),
    library: null,
    inference: null,
    jobs: null,
    models: null,
    training: null,
    workers: { inference: null, trainer: null },
    info: () => ({ version: 't', platform: 'linux', dataDir: '/tmp/x', hasNativeDialogs: false, mediaBase: 'musilingo-media://track/', features: { library: false, captions: false, qa: false, jobs: false, models: false, training: false } }),
    workerStatus: () => [],
    close: () => Promise.resolve(),
    ...overrides,
  };
}

describe('IPC contract', () => {
  it('INVOKE, the handlers and the schemas list the same channels', () => {
    const invoke = Object.keys(INVOKE).sort();
    expect(Object.keys(createHandlers(bareServices())).sort()).toEqual(invoke);
    expect(Object.keys(schemas).sort()).toEqual(invoke);
  });

  it('channel names are domain:verb', () => {
    for (const ch of [...Object.keys(INVOKE), ...Object.keys(EVENTS)]) expect(ch).toMatch(/^[a-z]+:[a-z-]+$/);
  });

  it('the event hub refuses channels outside the allow-list', () => {
    const hub = createEventHub();
    const seen: string[] = [];
    hub.subscribe((ch) => seen.push(ch));
    hub.emit('library:changed', { reason: 'scan', trackIds: [1] });
    expect(seen).toEqual(['library:changed']);
    expect(() => hub.emit('nope:x' as never, {} as never)).toThrow(/Unknown event channel 'nope:x'/);
  });
});

describe('dispatchInvoke', () => {
  const handlers = createHandlers(bareServices());

  it('wraps a value in { ok: true }', async () => {
    await expect(dispatchInvoke(handlers, 'settings:get', [])).resolves.toEqual({ ok: true, value: { theme: 'system' } });
  });

  it('rejects unknown channels and bad arguments as data, naming the problem', async () => {
    await expect(dispatchInvoke(handlers, 'fs:readFile', ['/etc/passwd'])).resolves.toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: "Unknown channel 'fs:readFile'" },
    });
    const bad = await dispatchInvoke(handlers, 'track:get', ['1; DROP TABLE tracks']);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.code).toBe('invalid-argument');
      expect(bad.error.message).toMatch(/^track:get: .*\(argument 0\)$/);
    }
    const extra = await dispatchInvoke(handlers, 'settings:set', [{ theme: 'dark', evil: true }]);
    expect(extra.ok).toBe(false);
    const inherited = await dispatchInvoke(handlers, 'constructor', []);
    expect(inherited).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
  });

  it("answers 'unavailable' for a service this build lacks", async () => {
    const r = await dispatchInvoke(handlers, 'jobs:list', []);
    expect(r).toEqual({ ok: false, error: { code: 'unavailable', message: 'The job queue is not available in this build.' } });
  });

  it('keeps typed error codes, maps *NotFound* names, and logs only internal failures', async () => {
    const logged: string[] = [];
    const notFound = Object.assign(new Error('Track 9 is gone'), { name: 'TrackNotFoundError' });
    const h = createHandlers(
      bareServices({
        library: {
          list: () => { throw new IpcError('cancelled', 'stopped'); },
          get: () => { throw notFound; },
          genres: () => { throw new Error('disk I/O error'); },
        } as unknown as AppServices['library'],
      }),
    );
    const q = { text: '', sort: 'title', direction: 'asc', offset: 0, limit: 10, genre: '', captioned: null };
    await expect(dispatchInvoke(h, 'library:list', [q])).resolves.toEqual({ ok: false, error: { code: 'cancelled', message: 'stopped' } });
    await expect(dispatchInvoke(h, 'track:get', [9])).resolves.toEqual({ ok: false, error: { code: 'not-found', message: 'Track 9 is gone' } });
    await expect(dispatchInvoke(h, 'library:genres', [], (m) => logged.push(m))).resolves.toEqual({
      ok: false,
      error: { code: 'internal', message: 'disk I/O error' },
    });
    expect(logged).toEqual(['ipc library:genres']);
  });

  it('restarts a worker the supervisor gave up on, and says when there is none', async () => {
    let launches = 0;
    const inference = createSupervisor<number>({
      name: 'inference',
      maxRestarts: 0,
      launch: () => {
        launches++;
        throw new Error('missing entry');
      },
    });
    inference.start();
    expect(inference.status().state).toBe('failed');
    const h = createHandlers(bareServices({ workers: { inference: inference as never, trainer: null } }));
    await expect(dispatchInvoke(h, 'workers:restart', ['inference'])).resolves.toEqual({ ok: true, value: null });
    expect(launches).toBe(2);
    await expect(dispatchInvoke(h, 'workers:restart', ['trainer'])).resolves.toMatchObject({ ok: false, error: { code: 'unavailable' } });
    await expect(dispatchInvoke(h, 'workers:restart', ['gpu'])).resolves.toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
  });
});
