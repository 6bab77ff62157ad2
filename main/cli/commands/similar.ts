/**
 * @file `musilingo similar <track>`: tracks that sound like this one (cosine similarity of pooled audio
 * embeddings, brute force). CLI.
 */
import { trackForAnalysis } from '../../db/captions';
import { NoEmbeddingError, similarTracks } from '../../db/windows';
import { requireTrack } from '../track-args';
import { parseCommandArgs, UsageError, type CliCommand } from '../command';

const USAGE = `Usage: musilingo similar <track> [--limit <n>] [--json]

Lists the tracks whose audio embeddings are closest to this track's (a track gets an embedding when it is
captioned, or with \`musilingo caption --embed\`).

Options:
  --limit <n>   how many (default 10)
  --json        print [{trackId, score, path, title, artist}] as JSON`;

/** `musilingo similar`. */
export const command: CliCommand = {
  name: 'similar',
  summary: 'find tracks that sound like a track ("more like this")',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { limit: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('Give one track.');
    const limit = values.limit === undefined ? 10 : Number(values.limit);
    if (!(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--limit "${values.limit}" must be a positive whole number.`);
    const db = ctx.db();
    const trackId = requireTrack(db, positionals[0] ?? '');
    let hits;
    try {
      hits = similarTracks(db, trackId, { limit });
    } catch (e) {
      if (e instanceof NoEmbeddingError) {
        ctx.stderr.write(`musilingo similar: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    const rows = hits.map((h) => {
      const t = trackForAnalysis(db, h.trackId);
      return { trackId: h.trackId, score: Number(h.score.toFixed(6)), path: t?.path ?? null, title: t?.title ?? null, artist: t?.artist ?? null };
    });
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    if (rows.length === 0) ctx.stdout.write('No other track has an embedding yet.\n');
    rows.forEach((r, i) => {
      const name = r.title ? `${r.artist ? `${r.artist} – ` : ''}${r.title}` : (r.path ?? '');
      ctx.stdout.write(`${String(i + 1).padStart(3)}. ${r.score.toFixed(3)}  #${r.trackId}  ${name}\n`);
    });
    return 0;
  },
};
