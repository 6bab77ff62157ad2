/**
 * @file `musilingo ask <track> "<question>"`: asks a question about a track; the answer streams as it is
 * generated and the exchange is kept in the track's Q&A thread. CLI.
 */
import { getJob } from '../../db/jobs';
import { qaThread, qaThreads } from '../../db/qa';
import { startCliAnalysis } from '../analysis-session';
import { parseWindow, requireTrack } from '../track-args';
import { resolveModel } from '../../models/registry';
import { enqueueAsk } from '../../jobs/kinds';
import { parseCommandArgs, UsageError, type CliCommand } from '../command';

const USAGE = `Usage: musilingo ask <track> "<question>" [options]

Asks a question about a track (an id or a path). Each question starts a new thread unless --continue or
--thread is given; earlier turns of the thread are part of the prompt.

Options:
  --continue          continue the track's most recent thread
  --thread <id>       continue this thread
  --window <w>        default (30 s from 35% of the track) or a start as <s> or <m:ss>
  --model <pack>      model pack id, model id or pack folder (default: the newest installed pack)
  --adapter <a>       adapter id or name, a .safetensors file, or none (default: the model's active adapter)
  --json              print {threadId, question, answer, …} as JSON`;

/** `musilingo ask`. */
export const command: CliCommand = {
  name: 'ask',
  summary: 'ask a question about a track (kept in its Q&A thread)',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, {
      continue: { type: 'boolean' },
      thread: { type: 'string' },
      window: { type: 'string' },
      model: { type: 'string' },
      adapter: { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
    });
    const [trackRef, question] = positionals;
    if (positionals.length !== 2 || !trackRef || !question?.trim()) throw new UsageError('Give a track and a question.');
    const window = parseWindow(values.window);
    if (window.kind === 'all') throw new UsageError('--window all is for captions; a question is about one window.');
    const db = ctx.db();
    const trackId = requireTrack(db, trackRef);
    // Fails now, naming the pack or adapter; without --adapter the model's active adapter answers.
    const resolved = resolveModel(db, ctx.dataDir, values.model, values.adapter);
    const model = resolved.ref;
    let threadId = values.thread;
    if (values.continue && !threadId) threadId = qaThreads(db, trackId)[0]?.threadId;
    if (threadId && values.thread && qaThread(db, trackId, threadId).length === 0) {
      throw new UsageError(`Track ${trackId} has no thread "${threadId}".`);
    }
    const ask = enqueueAsk(db, { trackId, question, model, adapter: resolved.adapter.id, window, ...(threadId ? { threadId } : {}) });
    let printed = '';
    const analysis = startCliAnalysis(ctx, {
      verbose: values.verbose ?? false,
      onEvent: (e) => {
        // The answer streams to a terminal's stderr as it is generated; stdout gets the final text only.
        if (e.type === 'token' && e.jobId === ask.jobId && !values.json && ctx.stderr.isTTY) {
          if (e.text.startsWith(printed)) ctx.stderr.write(e.text.slice(printed.length));
          printed = e.text;
        }
      },
    });
    try {
      await analysis.runner.waitFor(ask.jobId, ctx.signal);
    } catch (e) {
      await analysis.stop();
      if (ctx.signal.aborted) {
        ctx.stderr.write('\nStopped. The question stays queued; `musilingo jobs` shows it.\n');
        return 130;
      }
      throw e;
    }
    await analysis.stop();
    const job = getJob(db, ask.jobId);
    if (job?.state !== 'done') {
      if (values.json) ctx.stdout.write(`${JSON.stringify({ jobId: ask.jobId, threadId: ask.threadId, state: job?.state, error: job?.error })}\n`);
      else ctx.stderr.write(`${printed ? '\n' : ''}Could not answer: ${job?.error ?? job?.state ?? 'unknown'}\n`);
      return 1;
    }
    const thread = qaThread(db, trackId, ask.threadId);
    const answer = thread.filter((m) => m.role === 'assistant').at(-1)?.text ?? '';
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify({ jobId: ask.jobId, trackId, threadId: ask.threadId, question: question.trim(), answer, turns: thread.length / 2 })}\n`);
    } else {
      if (printed) ctx.stderr.write('\n');
      ctx.stdout.write(`${answer}\n`);
      ctx.stderr.write(`(thread ${ask.threadId})\n`);
    }
    return 0;
  },
};
