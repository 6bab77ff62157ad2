/**
 * @file `musilingo tags …`: suggest tags from the audio, review them, write them into the files with a dry run,
 * and undo a write. Plain Node (CLI). See docs/tagging.md.
 */
import type Database from 'better-sqlite3';
import { getJob } from '../../db/jobs';
import { getBatch, lastUndoableBatch, listBatches, setUserValues, suggestionsOf, tracksWithAccepted } from '../../db/tags';
import { TracksRepo, type Track } from '../../db/tracks';
import { resolveModel, type ResolvedModel } from '../../models/registry';
import { startCliAnalysis } from '../analysis-session';
import { requireTrack } from '../track-args';
import { isTagField, parseFieldList, TAG_FIELDS, type TagField } from '../../tags/fields';
import { decideField, pendingValues, reviewTrack } from '../../tags/review';
import { enqueueSuggestTags, suggestFromStoredCaption } from '../../tags/suggest';
import { TagWriter, type BatchResult, type FieldValues } from '../../tags/writer';
import { parseCommandArgs, UsageError, type CliCommand, type CliContext } from '../command';

const USAGE = `Usage: musilingo tags <command> [options]

Suggested tags from the audio, reviewed by you, written into the files with a preview and an exact undo.

Commands:
  suggest [--all | <track…>] [--model <pack>] [--adapter <file>] [--no-questions]
        suggestions from each track's caption, and from short questions to the model (needs a model pack)
  list <track> [--json]
        file tags, suggestions and pending edits side by side
  set <track> FIELD=VALUE…
        your own value (repeat a field for several values; FIELD= removes the field from the file)
  accept <track> FIELD [--value V]    accept a field's suggestions (or one value)
  accept FIELD --all-tracks [--where-empty]
        accept a field on every track with suggestions (only where the file has none, with --where-empty)
  reject <track> FIELD [--value V] | reject FIELD --all-tracks [--where-empty]
  write [--dry-run] [--fields genre,mood,…] [<track…> | --all]
        write the accepted values into the files; --dry-run prints old → new per file and field
  undo [<batch>]     restore the files of a write batch (default: the last one) exactly as they were
  history            list write and undo batches

Fields: ${TAG_FIELDS.join(', ')}. Tracks are ids or paths.`;

const SUB_OPTIONS = {
  all: { type: 'boolean' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  fields: { type: 'string' },
  'all-tracks': { type: 'boolean' },
  'where-empty': { type: 'boolean' },
  value: { type: 'string' },
  model: { type: 'string' },
  adapter: { type: 'string' },
  'no-questions': { type: 'boolean' },
} as const;

function show(values: readonly string[] | null | undefined): string {
  if (values === undefined) return '';
  if (values === null || values.length === 0) return '(none)';
  return values.join(' | ');
}

function trackOf(tracks: TracksRepo, db: Database.Database, ref: string): Track {
  const t = tracks.getById(requireTrack(db, ref));
  if (!t) throw new UsageError(`no track "${ref}"`);
  return t;
}

function fieldArg(s: string | undefined): TagField {
  const f = (s ?? '').toLowerCase();
  if (!isTagField(f)) throw new UsageError(`unknown field "${s ?? ''}". Expected one of: ${TAG_FIELDS.join(', ')}`);
  return f;
}

/** A test hook: pause before the rename so a test can kill the process between journal and rename. */
function pauseHook(ctx: CliContext): ((path: string) => Promise<void>) | undefined {
  const ms = Number(process.env.MUSILINGO_TEST_TAG_PAUSE_BEFORE_RENAME_MS ?? '');
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return async (path) => {
    ctx.stderr.write(`paused before rename: ${path}\n`);
    await new Promise((r) => setTimeout(r, ms));
  };
}

function printOutcomes(ctx: CliContext, r: BatchResult, verb: string): number {
  let bad = 0;
  const n = { written: 0, unchanged: 0, skipped: 0, failed: 0 };
  for (const f of r.files) {
    n[f.status]++;
    if (f.status === 'failed' || f.status === 'skipped') {
      bad++;
      ctx.stderr.write(`${f.status.padEnd(9)} ${f.message ?? f.path}\n`);
    } else ctx.stdout.write(`${f.status.padEnd(9)} ${f.path}\n`);
  }
  ctx.stdout.write(`batch ${r.batchId ?? '-'}: ${n.written} ${verb}, ${n.unchanged} unchanged, ${n.skipped} skipped, ${n.failed} failed\n`);
  return bad ? 1 : 0;
}

async function runSuggest(ctx: CliContext, db: Database.Database, tracks: TracksRepo, v: Record<string, unknown>, positionals: string[]): Promise<number> {
  const ids = v.all ? tracks.list({ state: 'present', limit: Number.MAX_SAFE_INTEGER }).map((t) => t.id) : positionals.map((p) => requireTrack(db, p));
  if (!ids.length) throw new UsageError('name tracks or use --all');
  let fromCaptions = 0;
  for (const id of ids) fromCaptions += suggestFromStoredCaption(db, id);
  ctx.stdout.write(`${fromCaptions} suggestions from captions on ${ids.length} track(s)\n`);
  if (v['no-questions']) return 0;
  // Which pack and adapter: the model registry decides, as for caption and ask (no --adapter = the active one).
  let model: ResolvedModel;
  try {
    model = resolveModel(db, ctx.dataDir, v.model as string | undefined, v.adapter as string | undefined);
  } catch (e) {
    ctx.stderr.write(`No questions asked: ${(e as Error).message}\n`);
    return v.model === undefined ? 0 : 1;
  }
  const jobs = ids.map((trackId) => enqueueSuggestTags(db, { trackId, model: model.ref, adapter: model.adapter.id }).id);
  const analysis = startCliAnalysis(ctx, {});
  try {
    for (const id of jobs) await analysis.runner.waitFor(id, ctx.signal);
  } finally {
    await analysis.stop();
  }
  let failed = 0;
  for (const id of jobs) {
    const j = getJob(db, id);
    if (j?.state !== 'done') {
      failed++;
      ctx.stderr.write(`questions for job ${id} ${j?.state ?? 'vanished'}: ${j?.error ?? ''}\n`);
    }
  }
  ctx.stdout.write(`asked the tag questions about ${jobs.length - failed} track(s)\n`);
  return failed ? 1 : 0;
}

function runList(ctx: CliContext, db: Database.Database, track: Track, json: boolean): number {
  const r = reviewTrack(db, track);
  if (json) {
    ctx.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  ctx.stdout.write(`track ${r.trackId}  ${r.path}${r.readError ? `\n  (${r.readError})` : ''}\n`);
  for (const f of r.fields) {
    ctx.stdout.write(`${f.field}\n  file     ${show(f.fileValues)}\n`);
    for (const s of f.suggestions) {
      ctx.stdout.write(`  ${s.state.padEnd(8)} ${s.value || '(remove)'}  [${s.source}${s.inVocabulary ? '' : ', free text'}${s.evidence ? `: ${s.evidence}` : ''}]\n`);
    }
    if (f.pending !== undefined) ctx.stdout.write(`  write    ${show(f.pending)}\n`);
  }
  return 0;
}

function runSet(ctx: CliContext, db: Database.Database, track: Track, assignments: string[]): number {
  if (!assignments.length) throw new UsageError('give FIELD=VALUE pairs');
  const byField = new Map<TagField, string[]>();
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${a}" is not FIELD=VALUE`);
    const field = fieldArg(a.slice(0, eq));
    const value = a.slice(eq + 1).trim();
    byField.set(field, [...(byField.get(field) ?? []), value]);
  }
  for (const [field, values] of byField) {
    // FIELD= (empty) means remove; it cannot be mixed with values.
    const v = values.some((x) => x !== '') ? values.filter((x) => x !== '') : [''];
    setUserValues(db, track.id, field, v, Date.now());
    ctx.stdout.write(`${field}: ${v[0] === '' ? '(remove)' : v.join(' | ')}\n`);
  }
  return 0;
}

async function runWrite(ctx: CliContext, db: Database.Database, tracks: TracksRepo, v: Record<string, unknown>, positionals: string[]): Promise<number> {
  let fields: TagField[] | undefined;
  try {
    fields = typeof v.fields === 'string' ? parseFieldList(v.fields) : undefined;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!v.all && !positionals.length) throw new UsageError('name tracks or use --all');
  // --all means every track with accepted values: none is "nothing to write", not a usage error.
  const ids = v.all ? tracksWithAccepted(db) : positionals.map((p) => requireTrack(db, p));
  const items: { track: Track; values: FieldValues }[] = [];
  for (const id of ids) {
    const track = tracks.getById(id);
    if (!track) continue;
    const values = pendingValues(suggestionsOf(db, id), fields);
    if (Object.keys(values).length) items.push({ track, values });
  }
  if (!items.length) {
    ctx.stdout.write('Nothing accepted to write. Accept suggestions with `musilingo tags accept`, or set values with `musilingo tags set`.\n');
    return 0;
  }
  const hook = pauseHook(ctx);
  const writer = new TagWriter({ db, tracks, ...(hook ? { beforeRename: hook } : {}) });
  if (v['dry-run']) {
    let changing = 0;
    for (const { track, values } of items) {
      const plan = writer.plan(track, values);
      if (plan.error) {
        ctx.stdout.write(`${track.path}\n  cannot write: ${plan.error}\n`);
        continue;
      }
      ctx.stdout.write(`${track.path}${plan.changes.length ? '' : '  (no change)'}\n`);
      if (plan.changes.length) changing++;
      for (const c of plan.changes) ctx.stdout.write(`  ${c.field} (${c.key}): ${show(c.oldValues)} → ${show(c.newValues)}\n`);
    }
    ctx.stdout.write(`dry run: ${changing} of ${items.length} file(s) would change; nothing was written\n`);
    return 0;
  }
  const used = fields ?? TAG_FIELDS.filter((f) => items.some((i) => f in i.values));
  return printOutcomes(ctx, await writer.write(items, used), 'written');
}

/** `musilingo tags`. */
export const command: CliCommand = {
  name: 'tags',
  summary: 'suggest tags from the audio, review them, write them into files (dry run, undo)',
  usage: USAGE,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (!sub) throw new UsageError('name a tags command');
    const { values: v, positionals } = parseCommandArgs(rest, SUB_OPTIONS);
    const db = ctx.db();
    const tracks = new TracksRepo(db);
    switch (sub) {
      case 'suggest':
        return runSuggest(ctx, db, tracks, v, positionals);
      case 'list':
        if (positionals.length !== 1) throw new UsageError('name exactly one track');
        return runList(ctx, db, trackOf(tracks, db, positionals[0]!), v.json ?? false);
      case 'set': {
        const [ref, ...assignments] = positionals;
        if (!ref) throw new UsageError('name a track');
        return runSet(ctx, db, trackOf(tracks, db, ref), assignments);
      }
      case 'accept':
      case 'reject': {
        const decision = sub === 'accept' ? 'accepted' : 'rejected';
        if (v['all-tracks']) {
          if (positionals.length !== 1) throw new UsageError(`with --all-tracks give only the field: tags ${sub} FIELD --all-tracks`);
          const field = fieldArg(positionals[0]);
          const changed = decideField(db, tracks, { field, decision, allTracks: true, whereEmpty: v['where-empty'] ?? false, ...(v.value !== undefined ? { value: v.value } : {}) });
          ctx.stdout.write(`${field}: ${decision} on ${changed.length} track(s)\n`);
          return 0;
        }
        if (v['where-empty']) throw new UsageError('--where-empty goes with --all-tracks');
        if (positionals.length !== 2) throw new UsageError(`give a track and a field: tags ${sub} <track> FIELD`);
        const track = trackOf(tracks, db, positionals[0]!);
        const field = fieldArg(positionals[1]);
        const changed = decideField(db, tracks, { field, decision, trackId: track.id, ...(v.value !== undefined ? { value: v.value } : {}) });
        if (!changed.length) {
          ctx.stderr.write(`track ${track.id} has no ${decision === 'accepted' ? 'pending ' : ''}${field} suggestion${v.value !== undefined ? ` "${v.value}"` : ''}\n`);
          return 1;
        }
        ctx.stdout.write(`${field}: ${decision} on track ${track.id}\n`);
        return 0;
      }
      case 'write':
        return runWrite(ctx, db, tracks, v, positionals);
      case 'undo': {
        const batch = positionals[0] ?? lastUndoableBatch(db);
        if (!batch) {
          ctx.stdout.write('Nothing to undo.\n');
          return 0;
        }
        if (!getBatch(db, batch)) throw new UsageError(`no batch "${batch}"; see musilingo tags history`);
        const writer = new TagWriter({ db, tracks });
        try {
          return printOutcomes(ctx, await writer.undo(batch), 'restored');
        } catch (e) {
          ctx.stderr.write(`${(e as Error).message}\n`);
          return 1;
        }
      }
      case 'history': {
        const list = listBatches(db);
        if (v.json) {
          ctx.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return 0;
        }
        if (!list.length) ctx.stdout.write('No tag writes yet.\n');
        for (const b of list) {
          ctx.stdout.write(
            `${b.id}  ${b.kind.padEnd(5)} ${new Date(b.createdAt).toISOString()}  ${b.kind === 'undo' ? `undoes ${b.undoes ?? '?'}` : b.fields.join(',')}  ` +
              `${b.written} written, ${b.failed} failed${b.pending ? `, ${b.pending} interrupted` : ''}${b.undoneBy ? `  (undone by ${b.undoneBy})` : ''}\n`,
          );
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown tags command "${sub}". Expected one of: suggest, list, set, accept, reject, write, undo, history`);
    }
  },
};
