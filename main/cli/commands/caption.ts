/**
 * @file `musilingo caption [--all | <track>]`: captions tracks (or stores their embeddings) through the
 * persistent job queue, with a progress bar. Interrupted runs (Ctrl-C, kill, crash) resume where they stopped
 * the next time the command runs. CLI.
 */
import { captionsForTrack } from '../../db/captions';
import { childJobs, getJob, groupCounts, resumeJob, type Job } from '../../db/jobs';
import { chooseModel, parseWindow, progressBar, requireTrack, resolvePackRef, startCliAnalysis } from '../../jobs/cli-support';
import { enqueueCaption, enqueueEmbed, enqueueGroup } from '../../jobs/kinds';
import { parseCommandArgs, UsageError, type CliCommand } from '../command';

const USAGE = `Usage: musilingo caption [--all | <track>] [options]

Captions one track (an id or a path) or every track of the library that has no caption from this model yet.
The work is kept in the job queue: stopping (Ctrl-C, a crash) loses nothing, and running the same command
again resumes it. See \`musilingo jobs\`.

Options:
  --all               every track without a caption (or without embeddings, with --embed)
  --window <w>        default (30 s from 35% of the track), all (every 30 s window), or a start as <s> or <m:ss>
  --model <pack>      model pack id, model id or pack folder (default: the newest installed pack)
  --adapter <file>    a fine-tuned adapter (.safetensors) instead of the pack's own
  --embed             store audio embeddings of every window (for \`similar\`) instead of captioning
  --force             caption again tracks that already have a caption
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
      window: { type: 'string' },
      model: { type: 'string' },
      adapter: { type: 'string' },
      embed: { type: 'boolean' },
      force: { type: 'boolean' },
      batch: { type: 'string' },
      'no-wait': { type: 'boolean' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
    });
    if (values.all ? positionals.length > 0 : positionals.length !== 1) {
      throw new UsageError('Give one track, or --all.');
    }
    const batch = values.batch === undefined ? undefined : Number(values.batch);
    if (batch !== undefined && !(Number.isInteger(batch) && batch >= 1 && batch <= 64)) {
      throw new UsageError(`--batch "${values.batch}" must be a whole number from 1 to 64.`);
    }
    const window = parseWindow(values.window);
    const db = ctx.db();
    const model = chooseModel(db, ctx.dataDir, values.model);
    const adapter = values.adapter ?? '';
    resolvePackRef(db, ctx.dataDir, model, adapter); // fail now, naming the pack, rather than in every job

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
