/**
 * @file `musilingo caption [--all | <track>]`: captions tracks (or stores their embeddings) through the
 * persistent job queue, with a progress bar. Interrupted runs (Ctrl-C, kill, crash) resume where they stopped
 * the next time the command runs. CLI.
 */
import { captionsForTrack, editCaption } from '../../db/captions';
import { childJobs, getJob, groupCounts, resumeJob, type Job } from '../../db/jobs';
import { staleCaptionTrackIds } from '../../db/stale-captions';
import { startCliAnalysis } from '../analysis-session';
import { progressBar } from '../progress-bar';
import { parseWindow, requireTrack } from '../track-args';
import { enqueueCaption, enqueueEmbed, enqueueGroup, JOB_PRIORITY } from '../../jobs/kinds';
import { resolveModel } from '../../models/registry';
import { parseCommandArgs, UsageError, type CliCommand } from '../command';

const USAGE = `Usage: musilingo caption [--all | --stale | <track>] [options]
       musilingo caption <track> --edit "<your words>" [--window <start>]

Captions one track (an id or a path) or every track of the library that has no caption from this model yet.
Captions use the model's active adapter (see \`musilingo adapters activate\`) unless --adapter says otherwise.
The work is kept in the job queue: stopping (Ctrl-C, a crash) loses nothing, and running the same command
again resumes it. See \`musilingo jobs\`.

Options:
  --all               every track without a caption (or without embeddings, with --embed)
  --stale             every track whose caption came from an older adapter of this model (tracks with an
                      edited caption are left alone)
  --window <w>        default (30 s from 35% of the track), all (every 30 s window), or a start as <s> or <m:ss>
  --model <pack>      pack id (demo@float32), model id (demo) or pack folder (default: this machine's pack)
  --adapter <a>       adapter id, id prefix or name (see \`musilingo adapters list\`), a .safetensors file, or
                      none for the model's own (default: the model's active adapter)
  --embed             store audio embeddings of every window (for \`similar\`) instead of captioning
  --force             caption again tracks that already have a caption
  --edit <text>       replace the track's caption with your own words (the caption of --window's start, else
                      the latest one); edited captions teach \`train --from-tags\` and are never re-captioned
  --batch <n>         tracks per decoder batch (default 4)
  --no-wait           only queue the work (a running app or another \`caption\` picks it up)
  --json              print the result as JSON
  --verbose           print timing lines of every model run`;

/** `musilingo caption`. */
export const command: CliCommand = {
  name: 'caption',
  summary: 'caption tracks (or the whole library) in the background job queue',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, {
      all: { type: 'boolean' },
      stale: { type: 'boolean' },
      window: { type: 'string' },
      model: { type: 'string' },
      adapter: { type: 'string' },
      embed: { type: 'boolean' },
      force: { type: 'boolean' },
      edit: { type: 'string' },
      batch: { type: 'string' },
      'no-wait': { type: 'boolean' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
    });
    if (values.all && values.stale) throw new UsageError('Give --all or --stale, not both.');
    if (values.all || values.stale ? positionals.length > 0 : positionals.length !== 1) {
      throw new UsageError('Give one track, or --all, or --stale.');
    }
    if (values.edit !== undefined && (values.all || values.stale || values.embed)) throw new UsageError('--edit changes one track\'s caption; give one track.');
    if (values.edit !== undefined && !values.edit.trim()) throw new UsageError('--edit needs the caption\'s text.');
    if (values.stale && values.embed) throw new UsageError('--stale re-captions tracks; it does not go with --embed.');
    const batch = values.batch === undefined ? undefined : Number(values.batch);
    if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1 && batch <= 64)) {
      throw new UsageError(`--batch "${values.batch}" must be a whole number from 1 to 64.`);
    }
    const window = parseWindow(values.window);
    const db = ctx.db();
    if (values.edit !== undefined) return editOne(requireTrack(db, positionals[0] ?? ''), values.edit);
    // Fails now, naming the pack or adapter, rather than in every job.
    const resolved = resolveModel(db, ctx.dataDir, values.model, values.adapter);
    const model = resolved.ref;
    const adapter = resolved.adapter.id;
    if (values.stale) return captionStale();

    let jobId: number;
    let trackId: number | undefined;
    if (values.all) {
      const kind = values.embed ? 'embed-all' : 'caption-all';
      jobId = enqueueGroup(db, { kind, model, adapter, window, force: values.force ?? false }).id;
      resumeJob(db, jobId); // a paused group the user asks for again runs again
    } else {
      trackId = requireTrack(db, positionals[0] ?? '');
      jobId = values.embed
        ? enqueueEmbed(db, { trackId, model, adapter }).id
        : enqueueCaption(db, { trackId, model, adapter, window }).id;
    }
    if (values['no-wait']) {
      ctx.stdout.write(values.json ? `${JSON.stringify({ jobId, queued: true })}\n` : `Queued job ${jobId}.\n`);
      return 0;
    }

    const bar = values.json ? null : progressBar(ctx.stderr, values.embed ? 'embedding' : 'captioning');
    let lastText = '';
    const analysis = startCliAnalysis(ctx, {
      ...(batch ? { maxBatch: batch } : {}),
      verbose: values.verbose ?? false,
      onEvent: (e) => {
        if (e.type === 'job' && e.job.id === jobId && values.all) {
          const c = groupCounts(db, jobId);
          bar?.update(c.done + c.failed + c.cancelled, c.total, c.failed ? `${c.failed} failed` : '');
        } else if (e.type === 'token' && !values.all && !values.json && ctx.stderr.isTTY) {
          ctx.stderr.write(`\r${e.text.slice(-100)}`);
          lastText = e.text;
        }
      },
    });
    let job: Job;
    try {
      job = await analysis.runner.waitFor(jobId, ctx.signal, { orPaused: true });
    } catch (e) {
      await analysis.stop();
      bar?.end();
      if (ctx.signal.aborted) {
        ctx.stderr.write('Stopped. Run the same command again to resume.\n');
        return 130;
      }
      throw e;
    }
    await analysis.stop();
    bar?.end();
    if (lastText) ctx.stderr.write('\n');
    if (job.state === 'paused') {
      const c = groupCounts(db, jobId);
      const done = c.total > 0 ? ` at ${c.done + c.failed + c.cancelled}/${c.total}` : '';
      if (values.json) ctx.stdout.write(`${JSON.stringify({ jobId, state: 'paused', ...(c.total > 0 ? { total: c.total, done: c.done, failed: c.failed } : {}) })}\n`);
      else ctx.stdout.write(`Paused${done}. Resume with \`musilingo jobs resume ${jobId}\` and run this command again.\n`);
      return 0;
    }
    return report(job);

    /** `--edit`: the user's words for a captioned window of one track (no model is run). */
    function editOne(trackId: number, text: string): number {
      const caps = captionsForTrack(db, trackId);
      const target = window.kind === 'at' ? caps.find((c) => c.startMs === window.startMs) : caps[0];
      if (!target) {
        const which = window.kind === 'at' ? `at ${Math.round(window.startMs / 1000)} s` : 'yet';
        ctx.stderr.write(`musilingo caption: track ${trackId} has no caption ${which} to edit; caption it first (musilingo caption ${trackId}).\n`);
        return 1;
      }
      const saved = editCaption(db, { trackId, startMs: target.startMs, lengthMs: target.lengthMs, text: text.trim() });
      if (values.json) ctx.stdout.write(`${JSON.stringify({ trackId, caption: saved })}\n`);
      else ctx.stdout.write(`Edited the caption of track ${trackId} (${Math.round(saved.startMs / 1000)}–${Math.round((saved.startMs + saved.lengthMs) / 1000)} s).\n`);
      return 0;
    }

    /** `--stale`: one caption job per track written by an older adapter, waited for in turn. */
    async function captionStale(): Promise<number> {
      const ids = staleCaptionTrackIds(db, `${resolved.pack.modelId}@${resolved.pack.variant ?? ''}`, adapter);
      const label = resolved.adapter.id ? `adapter ${resolved.adapter.id}` : "the model's own adapter";
      if (ids.length === 0) {
        ctx.stdout.write(values.json ? `${JSON.stringify({ total: 0, done: 0, failed: 0, trackIds: [] })}\n` : `No track has a caption from an older adapter (captions use ${label}).\n`);
        return 0;
      }
      const jobs = ids.map((trackId) => ({ trackId, jobId: enqueueCaption(db, { trackId, model, adapter, window, priority: JOB_PRIORITY.userCaption }).id }));
      if (values['no-wait']) {
        ctx.stdout.write(values.json ? `${JSON.stringify({ jobIds: jobs.map((j) => j.jobId), queued: true })}\n` : `Queued ${jobs.length} job(s).\n`);
        return 0;
      }
      const progress = values.json ? null : progressBar(ctx.stderr, 're-captioning');
      const session = startCliAnalysis(ctx, { ...(batch ? { maxBatch: batch } : {}), verbose: values.verbose ?? false });
      const failures: { trackId: number; error: string | null }[] = [];
      try {
        let n = 0;
        for (const j of jobs) {
          const done = await session.runner.waitFor(j.jobId, ctx.signal);
          if (done.state !== 'done') failures.push({ trackId: j.trackId, error: done.error });
          progress?.update(++n, jobs.length);
        }
      } catch (e) {
        if (ctx.signal.aborted) {
          ctx.stderr.write('Stopped. Run the same command again to resume.\n');
          return 130;
        }
        throw e;
      } finally {
        await session.stop();
        progress?.end();
      }
      if (values.json) ctx.stdout.write(`${JSON.stringify({ total: jobs.length, done: jobs.length - failures.length, failed: failures.length, trackIds: ids, adapterId: adapter, failures })}\n`);
      else {
        ctx.stdout.write(`Re-captioned ${jobs.length - failures.length} of ${jobs.length} track(s) with ${label}.\n`);
        for (const f of failures) ctx.stdout.write(`  track ${f.trackId}: ${f.error ?? 'failed'}\n`);
      }
      return failures.length > 0 && failures.length === jobs.length ? 1 : 0;
    }

    function report(j: Job): number {
      if (values.all) {
        const c = groupCounts(db, j.id);
        const failures = childJobs(db, j.id).filter((x) => x.state === 'failed').map((x) => ({ jobId: x.id, trackId: (x.payload as { trackId?: number }).trackId, error: x.error }));
        if (values.json) {
          ctx.stdout.write(`${JSON.stringify({ jobId: j.id, state: j.state, total: c.total, done: c.done, failed: c.failed, cancelled: c.cancelled, failures })}\n`);
        } else {
          ctx.stdout.write(`${values.embed ? 'Embedded' : 'Captioned'} ${c.done} of ${c.total} track(s)${c.failed ? `; ${c.failed} failed` : ''}${c.cancelled ? `; ${c.cancelled} cancelled` : ''}.\n`);
          for (const f of failures.slice(0, 20)) ctx.stdout.write(`  track ${f.trackId}: ${f.error}\n`);
          if (failures.length > 20) ctx.stdout.write(`  … and ${failures.length - 20} more (musilingo jobs list --all)\n`);
        }
        return c.failed > 0 && c.done === 0 && c.total > 0 ? 1 : 0;
      }
      const fresh = getJob(db, j.id) ?? j;
      if (fresh.state !== 'done') {
        if (values.json) ctx.stdout.write(`${JSON.stringify({ jobId: j.id, state: fresh.state, error: fresh.error })}\n`);
        else ctx.stderr.write(`Track ${trackId}: ${fresh.state}${fresh.error ? `: ${fresh.error}` : ''}\n`);
        return 1;
      }
      const captions = trackId === undefined ? [] : captionsForTrack(db, trackId).filter((c) => c.source === 'model');
      if (values.json) {
        ctx.stdout.write(`${JSON.stringify({ jobId: j.id, state: fresh.state, trackId, result: fresh.result, captions })}\n`);
      } else if (values.embed) {
        ctx.stdout.write(`Stored the embeddings of ${(fresh.result as { windows?: number } | null)?.windows ?? 0} window(s).\n`);
      } else {
        for (const c of captions.sort((a, b) => a.startMs - b.startMs)) {
          ctx.stdout.write(`[${formatTime(c.startMs)}–${formatTime(c.startMs + c.lengthMs)}] ${c.text}\n`);
        }
      }
      return 0;
    }
  },
};

function formatTime(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
