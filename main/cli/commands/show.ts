/**
 * @file `musilingo show <track>`: everything stored about one track (by id or path). Plain Node (CLI).
 */
import { resolve } from 'node:path';
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { formatDuration, parseCommandArgs } from '../library-output';
import { LibraryService } from '../../library/library-service';
import type { Track } from '../../db/tracks';

const USAGE = `Usage: musilingo show <track id | path> [--json] [--native]

Shows a track's tags, stream properties, identity and captions.

Options:
  --native   also print the file's raw native tags
  --json     JSON on stdout`;

/** Shows one track. */
export const command: CliCommand = {
  name: 'show',
  summary: 'show everything stored about one track (by id or path)',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, native: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('name exactly one track, by id or path');
    const arg = positionals[0]!;
    const db = ctx.db();
    const lib = new LibraryService(db);
    const track: Track | undefined = /^\d+$/.test(arg) ? lib.tracks.getById(Number(arg)) : lib.tracks.getByPath(resolve(arg));
    if (!track) {
      const err = /^\d+$/.test(arg) ? undefined : lib.scanErrors.getByPath(resolve(arg));
      if (err) {
        ctx.stderr.write(`musilingo show: "${arg}" is not in the library: [${err.code}] ${err.message}\n`);
        return 1;
      }
      throw new UsageError(`no track with ${/^\d+$/.test(arg) ? 'id' : 'path'} "${arg}"`);
    }
    const captions = db
      .prepare<[number], { start_ms: number; length_ms: number; model_id: string; source: string; text: string }>(
        'SELECT start_ms, length_ms, model_id, source, text FROM captions WHERE track_id = ? ORDER BY start_ms, id',
      )
      .all(track.id);
    if (values.json) {
      const { nativeTags, ...rest } = track;
      ctx.stdout.write(`${JSON.stringify({ ...rest, ...(values.native ? { nativeTags } : {}), captions }, null, 2)}\n`);
      return 0;
    }
    const rows: [string, string | number | null][] = [
      ['id', track.id],
      ['path', track.path],
      ['state', track.missingSince === null ? 'present' : `missing since ${new Date(track.missingSince).toISOString()}`],
      ['title', track.title],
      ['artist', track.artists.length > 1 ? track.artists.join(' / ') : track.artist],
      ['album', track.album],
      ['album artist', track.albumArtist],
      ['track', track.trackNo === null ? null : `${track.trackNo}${track.trackOf ? `/${track.trackOf}` : ''}`],
      ['disc', track.discNo === null ? null : `${track.discNo}${track.discOf ? `/${track.discOf}` : ''}`],
      ['year', track.year],
      ['genre', track.genres.length ? track.genres.join(' / ') : null],
      ['mood', track.mood],
      ['bpm', track.bpm],
      ['key', track.musicalKey],
      ['comment', track.comment],
      ['duration', formatDuration(track.durationMs, track.durationEstimated)],
      ['format', [track.codec, track.container].filter(Boolean).join(' in ')],
      ['sample rate', track.sampleRateHz === null ? null : `${track.sampleRateHz} Hz`],
      ['channels', track.channels],
      ['bitrate', track.bitrateBps === null ? null : `${Math.round(track.bitrateBps / 1000)} kb/s`],
      ['size', `${track.sizeBytes} bytes`],
      ['fingerprint', track.fingerprint],
    ];
    for (const [k, v] of rows) if (v !== null && v !== '') ctx.stdout.write(`${k.padEnd(13)}${v}\n`);
    ctx.stdout.write(`${'captions'.padEnd(13)}${captions.length || 'none yet'}\n`);
    for (const c of captions) ctx.stdout.write(`  [${formatDuration(c.start_ms)}+${Math.round(c.length_ms / 1000)}s ${c.model_id}${c.source === 'user' ? ', edited' : ''}] ${c.text}\n`);
    if (values.native && track.nativeTags) ctx.stdout.write(`native tags  ${JSON.stringify(track.nativeTags, null, 2)}\n`);
    return 0;
  },
};
