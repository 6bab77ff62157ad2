/**
 * @file The media protocol (main process, E2E bridge): streams the audio of library tracks to the renderer's
 * <audio> player, with range requests so seeking works. URLs name a track id (musilingo-media://track/42), never
 * a path: only files that are present tracks of the library can be reached, and nothing else on disk. Plain
 * Node (web Request/Response): main/index.ts registers it with Electron's `protocol`, injected, and the E2E
 * bridge serves the same handler over HTTP.
 */
import { createReadStream, statSync } from 'node:fs';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import type Database from 'better-sqlite3';

/** The custom scheme (registered as privileged before app ready, handled after). */
export const MEDIA_SCHEME = 'musilingo-media';

/** The URL prefix the renderer puts a track id after, in the Electron app. */
export const MEDIA_URL_BASE = `${MEDIA_SCHEME}://track/`;

/** Content types of the formats Chromium plays; other formats are refused with 415 and a reason. */
const PLAYABLE: Record<string, string> = {
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.flac': 'audio/flac',
  '.wav': 'audio/wav',
  '.m4a': 'audio/mp4',
  '.mp4': 'audio/mp4',
  '.aac': 'audio/aac',
  '.webm': 'audio/webm',
};

/** True when Chromium's <audio> can play files with this name (by extension; the renderer says so otherwise). */
export function isPlayable(path: string): boolean {
  return extname(path).toLowerCase() in PLAYABLE;
}

/** The subset of Electron's `protocol` this module uses (injected, so tests need no Electron). */
export interface ProtocolLike {
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
}

function refuse(status: number, message: string): Response {
  return new Response(message, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/** Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against `size`; null = unsatisfiable, undefined = no range. */
export function parseRange(header: string | null, size: number): { start: number; end: number } | null | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return null;
  return { start, end };
}

/**
 * Creates the request handler. `trackId` is the only input taken from the URL; the path comes from the
 * tracks table, and only for tracks that are present (missing_since IS NULL).
 */
export function createMediaHandler(db: Database.Database): (request: Request) => Promise<Response> {
  const lookup = db.prepare<[number], { path: string }>('SELECT path FROM tracks WHERE id = ? AND missing_since IS NULL');
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'Only GET and HEAD are allowed.');
    const url = new URL(request.url);
    // musilingo-media://track/42 (host "track") or, through the bridge, http://host/__bridge/media/42.
    const idText = url.pathname.split('/').filter(Boolean).at(-1) ?? '';
    if (!/^\d{1,15}$/.test(idText)) return refuse(404, `Not a track: ${url.pathname}`);
    const row = lookup.get(Number(idText));
    if (!row) return refuse(404, `Track ${idText} is not in the library (or its file is missing).`);
    const type = PLAYABLE[extname(row.path).toLowerCase()];
    if (!type) return refuse(415, `${extname(row.path) || 'This format'} cannot be played in the app; open the file in another player.`);
    let size: number;
    try {
      const st = statSync(row.path);
      if (!st.isFile()) return refuse(404, `${row.path} is not a file.`);
      size = st.size;
    } catch {
      return refuse(404, `The file of track ${idText} is missing: ${row.path}`);
    }
    const range = parseRange(request.headers.get('range'), size);
    if (range === null) return new Response(null, { status: 416, headers: { 'content-range': `bytes */${size}` } });
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const headers = {
      'content-type': type,
      'accept-ranges': 'bytes',
      'content-length': String(end - start + 1),
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    };
    const body = request.method === 'HEAD' || size === 0 ? null : (Readable.toWeb(createReadStream(row.path, { start, end })) as ReadableStream<Uint8Array>);
    return new Response(body, { status: range ? 206 : 200, headers });
  };
}

/** Registers the handler for MEDIA_SCHEME on Electron's `protocol` (after app ready). */
export function registerMediaProtocol(protocol: ProtocolLike, db: Database.Database): void {
  protocol.handle(MEDIA_SCHEME, createMediaHandler(db));
}
