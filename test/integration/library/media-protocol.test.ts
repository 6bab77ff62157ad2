/**
 * Tests main/library/media-protocol.ts against a real SQLite library and real files, with a fake `protocol`
 * object in place of Electron's: a range request is played from a library track, and nothing outside the
 * library (another file, a path in the URL, a missing track) is served.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/db/open';
import { MEDIA_SCHEME, parseRange, registerMediaProtocol, type ProtocolLike } from '../../../main/library/media-protocol';

describe('media protocol', () => {
  let dir: string;
  let db: Database.Database;
  let handler: (r: Request) => Response | Promise<Response>;
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

  function addTrack(path: string, missingSince: number | null = null): number {
    const info = db
      .prepare(`INSERT INTO tracks (path, size_bytes, mtime_ms, fingerprint, title, added_at, updated_at, missing_since) VALUES (?, 1000, 0, ?, 't', 0, 0, ?)`)
      .run(path, `fp-${path}`, missingSince);
    return Number(info.lastInsertRowid);
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'musilingo-media-'));
    db = openDatabase(join(dir, 'lib.sqlite'));
    writeFileSync(join(dir, 'song.mp3'), bytes);
    writeFileSync(join(dir, 'secret.txt'), 'not music');
    // Registered the way main/index.ts does, through an injected protocol object.
    const protocol: ProtocolLike = {
      handle(scheme, h) {
        expect(scheme).toBe(MEDIA_SCHEME);
        handler = h;
      },
    };
    registerMediaProtocol(protocol, db);
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays a range of a library track (206, Content-Range, exactly those bytes)', async () => {
    const id = addTrack(join(dir, 'song.mp3'));
    const res = await handler(new Request(`${MEDIA_SCHEME}://track/${id}`, { headers: { range: 'bytes=100-199' } }));
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe('bytes 100-199/1000');
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes.subarray(100, 200));

    const whole = await handler(new Request(`${MEDIA_SCHEME}://track/${id}`));
    expect(whole.status).toBe(200);
    expect((await whole.arrayBuffer()).byteLength).toBe(1000);

    const tail = await handler(new Request(`${MEDIA_SCHEME}://track/${id}`, { headers: { range: 'bytes=-10' } }));
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(bytes.subarray(990));
    expect((await handler(new Request(`${MEDIA_SCHEME}://track/${id}`, { headers: { range: 'bytes=5000-' } }))).status).toBe(416);
  });

  it('refuses paths outside the library, missing tracks and unknown ids', async () => {
    addTrack(join(dir, 'song.mp3'));
    const secret = join(dir, 'secret.txt');
    for (const url of [
      `${MEDIA_SCHEME}://track/${encodeURIComponent(secret)}`,
      `${MEDIA_SCHEME}://track/..%2Fsecret.txt`,
      `${MEDIA_SCHEME}://track/99999`,
      `${MEDIA_SCHEME}:///etc/passwd`,
    ]) {
      const res = await handler(new Request(url));
      expect(res.status, url).toBe(404);
      expect(await res.text()).not.toContain('not music');
    }
    const gone = addTrack(join(dir, 'gone.mp3'), Date.now());
    expect((await handler(new Request(`${MEDIA_SCHEME}://track/${gone}`))).status).toBe(404);
    const deleted = addTrack(join(dir, 'deleted.mp3'));
    expect((await handler(new Request(`${MEDIA_SCHEME}://track/${deleted}`))).status).toBe(404);
  });

  it('says a format Chromium cannot play is not playable (415) instead of sending bytes', async () => {
    writeFileSync(join(dir, 'old.wma'), bytes);
    const id = addTrack(join(dir, 'old.wma'));
    const res = await handler(new Request(`${MEDIA_SCHEME}://track/${id}`));
    expect(res.status).toBe(415);
    expect(await res.text()).toContain('cannot be played');
  });

  it('parses ranges', () => {
    expect(parseRange(null, 10)).toBeUndefined();
    expect(parseRange('bytes=0-', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=2-100', 10)).toEqual({ start: 2, end: 9 });
    expect(parseRange('bytes=9-2', 10)).toBeNull();
    expect(parseRange('items=0-1', 10)).toBeNull();
  });
});
