/**
 * @file `musilingo jobs [list|pause|resume|cancel|retry]`: the background job queue. CLI.
 */
import { applyToAll, cancelJob, getJob, groupCounts, listJobs, pauseJob, resumeJob, retryJob, type Job, type JobState } from '../../db/jobs';
import { parseCommandArgs, UsageError, type CliCommand } from '../command';

const USAGE = `Usage: musilingo jobs [list|pause|resume|cancel|retry] [<job id> | --all] [--json]

  list              unfinished jobs (with --all: finished ones and each track's job too)
  pause <id>|--all  stop starting new work of a job (a group's remaining tracks wait)
  resume <id>|--all run paused work again
  cancel <id>|--all drop queued work; running work stops and its result is discarded
  retry <id>        queue failed or cancelled work again (a group: its failed tracks)

A running \`musilingo caption\` or the app picks up queued work.`;

function describe(db: Parameters<typeof groupCounts>[0], j: Job): string {
  const p = j.payload as { trackId?: number; question?: string; model?: string } | null;
  const c = j.kind.endsWith('-all') ? groupCounts(db, j.id) : null;
  const what = c
    ? `${c.done + c.failed + c.cancelled}/${c.total} tracks${c.failed ? `, ${c.failed} failed` : ''}`
    : p?.trackId !== undefined
      ? `track ${p.trackId}${p.question ? `: "${p.question.slice(0, 40)}"` : ''}`
      : '';
  return `${String(j.id).padStart(6)}  ${j.kind.padEnd(11)} ${j.state.padEnd(9)} ${(Math.round(j.progress * 100) + '%').padStart(4)}  ${what}${j.error ? `\n        error: ${j.error}` : ''}`;
}

/** `musilingo jobs`. */
export const command: CliCommand = {
  name: 'jobs',
  summary: 'list, pause, resume, cancel or retry background jobs',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { all: { type: 'boolean' }, json: { type: 'boolean' } });
    const [action = 'list', idArg] = positionals;
    const db = ctx.db();
    if (action === 'list') {
      const states: JobState[] = values.all ? ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'] : ['queued', 'running', 'paused'];
      const jobs = listJobs(db, { states, withChildren: values.all ?? false, limit: 500 });
      if (values.json) {
        ctx.stdout.write(`${JSON.stringify(jobs.map((j) => ({ ...j, ...(j.kind.endsWith('-all') ? { children: groupCounts(db, j.id) } : {}) })))}\n`);
      } else if (jobs.length === 0) {
        ctx.stdout.write(values.all ? 'No jobs.\n' : 'No unfinished jobs.\n');
      } else {
        for (const j of jobs) ctx.stdout.write(`${describe(db, j)}\n`);
      }
      return 0;
    }
    if (!['pause', 'resume', 'cancel', 'retry'].includes(action)) {
      throw new UsageError(`Unknown action "${action}". Expected one of: list, pause, resume, cancel, retry.`);
    }
    if (values.all && action !== 'retry') {
      const n = applyToAll(db, action as 'pause' | 'resume' | 'cancel');
      ctx.stdout.write(values.json ? `${JSON.stringify({ action, changed: n })}\n` : `${action}: ${n} job(s) changed.\n`);
      return 0;
    }
    const id = Number(idArg);
    if (!idArg || !Number.isInteger(id) || id <= 0) throw new UsageError(`Give a job id${action === 'retry' ? '' : ' or --all'}.`);
    const before = getJob(db, id);
    if (!before) throw new UsageError(`No job ${id}.`);
    const fn = { pause: pauseJob, resume: resumeJob, cancel: cancelJob, retry: retryJob }[action as 'pause'];
    const changed = fn(db, id);
    const after = getJob(db, id);
    if (values.json) ctx.stdout.write(`${JSON.stringify({ action, jobId: id, changed, state: after?.state })}\n`);
    else ctx.stdout.write(changed ? `Job ${id}: ${before.state} → ${after?.state}.\n` : `Job ${id} is ${before.state}: nothing to ${action}.\n`);
    return changed ? 0 : 1;
  },
};
