/**
 * @file `musilingo list`: lists tracks (or scan errors) of the library. Plain Node (CLI).
 */
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { formatTrackLine, parseCommandArgs, parsePositiveInt } from '../library-output';
import { LibraryService, normalizeFolderPath } from '../../library/library-service';

const USAGE = `Usage: musilingo list [--missing | --all] [--folder <dir>] [--limit N] [--offset N] [--json]
       musilingo list --errors [--json]
       musilingo list --skipped [--json]

Lists tracks by artist, album and track number: id, artist – title (album, year), duration, path.

Options:
  --missing       only tracks whose file is gone (kept for 30 days, see \`musilingo purge\`)
  --all           present and missing tracks
  --folder <dir>  only tracks of this library folder
  --limit N       at most N tracks (default 100)
  --offset N      skip the first N
  --errors        list files that could not be read, with the cause
  --skipped       list audio files in formats the library does not read, with the reason
  --json          JSON on stdout`;

/** Lists tracks or scan errors. */
export const command: CliCommand = {
  name: 'list',
  summary: 'list the tracks in the library (or files that could not be read)',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, {
      missing: { type: 'boolean' },
      all: { type: 'boolean' },
      folder: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      errors: { type: 'boolean' },
      skipped: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.missing && values.all) throw new UsageError('--missing and --all cannot be combined');
    const limit = parsePositiveInt(values.limit, 'limit', 100);
    const offset = values.offset === undefined ? 0 : values.offset === '0' ? 0 : parsePositiveInt(values.offset, 'offset', 0);
    const lib = new LibraryService(ctx.db());
    if (values.errors && values.skipped) throw new UsageError('--errors and --skipped cannot be combined');
    if (values.errors || values.skipped) {
      const errors = lib.scanErrors.list({ limit, skipped: values.skipped === true });
      if (values.json) ctx.stdout.write(`${JSON.stringify(errors, null, 2)}\n`);
      else for (const e of errors) ctx.stdout.write(`[${e.code}] ${e.message}\n`);
      return 0;
    }
    let folderId: number | undefined;
    if (values.folder !== undefined) {
      const f = lib.folders.getByPath(normalizeFolderPath(values.folder));
      if (!f) throw new UsageError(`"${values.folder}" is not a library folder (see \`musilingo folders list\`)`);
      folderId = f.id;
    }
    const tracks = lib.tracks.list({
      state: values.missing ? 'missing' : values.all ? 'all' : 'present',
      limit,
      offset,
      ...(folderId === undefined ? {} : { folderId }),
    });
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify(tracks.map(({ nativeTags: _n, ...t }) => t), null, 2)}\n`);
      return 0;
    }
    for (const t of tracks) ctx.stdout.write(`${formatTrackLine(t)}${t.missingSince !== null ? '  [missing]' : ''}\n`);
    const c = lib.tracks.count();
    ctx.stderr.write(`${tracks.length} shown; ${c.present} tracks in the library, ${c.missing} missing\n`);
    return 0;
  },
};
