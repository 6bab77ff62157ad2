/**
 * @file `musilingo search "<text>"`: ranked full-text search over tags and captions, with tag filters.
 * Plain Node (CLI).
 */
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { formatTrackLine, parseCommandArgs, parsePositiveInt } from '../library-output';
import { LibraryService } from '../../library/library-service';
import type { SearchQuery } from '../../db/search';

const USAGE = `Usage: musilingo search "<text>" [--genre <g>] [--artist <a>] [--year 1990-1999] [--captioned]
                        [--limit N] [--json]

Searches titles, artists, albums, genres, other tags and captions; best matches first. The last word also
matches as a prefix ("pian" finds piano). Words are all required; "quoted words" must be adjacent.
The text may be empty ("") to list tracks by the filters alone.

Options:
  --genre <g>        only this genre (case-insensitive)
  --artist <a>       only artists or album artists containing this
  --year <y>|<a-b>   a year or an inclusive range, e.g. 1995 or 1990-1999
  --captioned        only tracks that have a caption
  --limit N          at most N results (default 20)
  --json             JSON on stdout`;

/** Parses `1995` or `1990-1999` into an inclusive range. Exported for tests. */
export function parseYearRange(s: string): { yearFrom: number; yearTo: number } {
  const m = /^\s*(\d{1,4})\s*(?:-\s*(\d{1,4})\s*)?$/.exec(s);
  if (!m) throw new UsageError(`--year must be a year or a range like 1990-1999, got "${s}"`);
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > to) throw new UsageError(`--year range ${from}-${to} is backwards: the first year must come first`);
  return { yearFrom: from, yearTo: to };
}

/** Searches the library. */
export const command: CliCommand = {
  name: 'search',
  summary: 'search tracks by tags and caption text, with filters',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, {
      genre: { type: 'string' },
      artist: { type: 'string' },
      year: { type: 'string' },
      captioned: { type: 'boolean' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length > 1) throw new UsageError('put the search text in quotes: musilingo search "sad piano"');
    const text = positionals[0];
    if (text === undefined) throw new UsageError('missing search text (use "" to search by filters alone)');
    const q: SearchQuery = {
      text,
      limit: parsePositiveInt(values.limit, 'limit', 20),
      ...(values.genre !== undefined ? { genre: values.genre } : {}),
      ...(values.artist !== undefined ? { artist: values.artist } : {}),
      ...(values.year !== undefined ? parseYearRange(values.year) : {}),
      ...(values.captioned ? { captioned: true } : {}),
    };
    const hits = new LibraryService(ctx.db()).search.search(q);
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify(hits, null, 2)}\n`);
      return 0;
    }
    for (const h of hits) {
      ctx.stdout.write(`${formatTrackLine(h)}\n`);
      if (h.snippet) ctx.stdout.write(`        ${h.snippet}\n`);
    }
    if (!hits.length) ctx.stderr.write('No matches\n');
    return 0;
  },
};
