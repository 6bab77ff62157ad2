/**
 * @file `musilingo train`: fine-tune the adapter on the library's tags and edited captions; list and inspect runs.
 * Plain Node (CLI). The work is the training service (main/training/service.ts) running the job in a worker
 * thread; this file parses options and prints the service's events.
 */
import type { WeightStorage } from '../../../trainer/graph/llama-train-graph';
import { formatDataReport } from '../../../trainer/data/dataset';
import { defaultTrainOptions } from '../../../trainer/run/train-loop';
import type { GraphSettings } from '../../../trainer/session';
import { getRun, listPoints, listRuns } from '../../db/training';
import { runTraining, startTraining, TrainingRequestError, type TrainingContext, type TrainingEvent } from '../../training/service';
import { workerThreadExecutor } from '../../training/worker-thread';
import { ExecutionProviderError, parseProviderList } from '../../../model/ort/providers';
import { parseCommandArgs, UsageError, type CliCommand, type CliContext } from '../command';

const USAGE = `Usage:
  musilingo train --from-tags [--model <pack, model or checkpoint folder>] [options]
  musilingo train --resume <run>
  musilingo train --list
  musilingo train --show <run>

Fine-tunes the adapter (llama_proj) on your library: tags (genre, mood, instruments, BPM, key, comments)
become captions and Q&A pairs, and captions you edited count most. Tracks need cached analysis windows
(run \`musilingo caption\` first); skipped tracks are listed with the reason.

Options:
  --model <m>            pack id (demo@float32), model id (demo), pack folder, or a checkpoint folder
                         (config.json + safetensors); default: this machine's pack (see \`models list\`)
  --adapter <id|file>    start from this adapter (default: the model's active adapter, else its own)
  --steps <n>            optimizer steps (default 200)
  --lr <x>               peak learning rate (default 3e-5; cosine to --min-lr)
  --min-lr <x>           final learning rate (default 1e-5)
  --warmup <n>           warmup steps (default steps/10, at most 100)
  --accumulation <n>     micro-batches per step (default 8)
  --batch <n>            sequences per micro-batch, one padded graph run (default 1)
  --weight-decay <x>     AdamW weight decay (default 0.05)
  --clip <x>             gradient-norm clip, 0 = off (default 1)
  --checkpoint-every <n> checkpoint interval in steps (default 25)
  --eval-every <n>       held-out loss interval in steps (default 25)
  --held-out <f>         fraction of tracks held out (default 0.1)
  --seed <n>             sampling seed (default 0)
  --encoder <id>         windows.model_id of the cached embeddings (default: the one with most windows)
  --dtype <t>            float32 | float16 (default float32)
  --weights <w>          dense | int4-transposed | int4-dequant (default dense)
  --ep <list>            execution providers, e.g. webgpu,cpu (default cpu)
  --threads <n>          CPU threads (default 1)
  --activate             make the new adapter active when the run finishes
  --json                 machine-readable output (one JSON object per line)`;


/** `--ep webgpu,cpu`: the shared parser (model/ort/providers.ts), so the names doctor and caption accept work here. */
function parseEpList(value: string): string[] {
  try {
    return parseProviderList(value, '--ep');
  } catch (e) {
    if (e instanceof ExecutionProviderError) throw new UsageError(e.message);
    throw e;
  }
}

function num(v: string | undefined, name: string, fallback: number, opts: { int?: boolean; min?: number } = {}): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new UsageError(`--${name} must be a${opts.int ? 'n integer' : ' number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got "${v}"`);
  }
  return n;
}




function trainingContext(ctx: CliContext): TrainingContext {
  return { db: ctx.db(), dbPath: ctx.dbPath, dataDir: ctx.dataDir };
}

/** Runs (or resumes) a run through the training service in a worker thread, printing its events. */
async function runOrResume(ctx: CliContext, runId: number, json: boolean): Promise<number> {
  const out = (line: string, obj: object): void => {
    ctx.stdout.write(json ? `${JSON.stringify(obj)}\n` : `${line}\n`);
  };
  const onEvent = (e: TrainingEvent): void => {
    switch (e.event) {
      case 'log':
        if (!json) ctx.stderr.write(`${e.line}\n`);
        break;
      case 'tokenizer':
        if (!json) ctx.stdout.write(`Run ${e.runId}: tokenizer ${e.source}\n`);
        break;
      case 'data':
        out(formatDataReport(e.report), e);
        break;
      case 'step': {
        const rate = e.elapsedMs > 0 ? ` ${(1000 / (e.elapsedMs / e.step)).toFixed(2)} steps/s` : '';
        out(`step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} lr ${e.lr.toExponential(2)} |g| ${e.gradNorm.toExponential(2)}${rate}`, e);
        break;
      }
      case 'eval':
        out(`held-out loss ${e.heldOutLoss.toFixed(4)} at step ${e.step} (${e.examples} examples)`, e);
        break;
      case 'checkpoint':
        out(`checkpoint at step ${e.step}: ${e.path}`, e);
        break;
      case 'cancelled':
        out(`Run ${e.runId} stopped at step ${e.step}. Resume with: musilingo train --resume ${e.runId}`, e);
        break;
      case 'done': {
        const cmp = e.heldOutLoss !== null && e.initialHeldOutLoss !== null ? ` Held-out loss ${e.initialHeldOutLoss.toFixed(4)} → ${e.heldOutLoss.toFixed(4)}.` : '';
        out(`Run ${e.runId} done: adapter ${e.adapterId}${e.activated ? ' (active)' : ''}.${cmp}`, e);
        break;
      }
      case 'started':
        break;
    }
  };
  try {
    const outcome = await runTraining(trainingContext(ctx), runId, { execute: workerThreadExecutor(), onEvent, signal: ctx.signal });
    return outcome === 'cancelled' ? 130 : 0;
  } catch (e) {
    if (e instanceof TrainingRequestError) throw new UsageError(e.message);
    throw e;
  }
}

/** `musilingo train` */
export const command: CliCommand = {
  name: 'train',
  summary: 'fine-tune the adapter on your tags and edited captions',
  usage: USAGE,
  async run(argv, ctx) {
    const values: Record<string, string | boolean | undefined> = parseCommandArgs(
      argv,
      {
        'from-tags': { type: 'boolean' }, resume: { type: 'string' }, list: { type: 'boolean' }, show: { type: 'string' },
        model: { type: 'string' }, adapter: { type: 'string' }, steps: { type: 'string' }, lr: { type: 'string' },
        'min-lr': { type: 'string' }, warmup: { type: 'string' }, accumulation: { type: 'string' }, 'weight-decay': { type: 'string' }, batch: { type: 'string' },
        clip: { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'eval-every': { type: 'string' }, 'held-out': { type: 'string' },
        seed: { type: 'string' }, encoder: { type: 'string' }, dtype: { type: 'string' }, weights: { type: 'string' },
        ep: { type: 'string' }, threads: { type: 'string' }, activate: { type: 'boolean' }, json: { type: 'boolean' },
      },
      false,
    ).values;
    const json = values['json'] === true;
    const s = (k: string): string | undefined => values[k] as string | undefined;
    if (values['list']) {
      for (const r of listRuns(ctx.db())) {
        const line = `${String(r.id).padStart(4)}  ${r.state.padEnd(9)} step ${r.step}/${r.totalSteps}  held-out ${r.initialHeldOutLoss?.toFixed(4) ?? '-'} → ${r.heldOutLoss?.toFixed(4) ?? '-'}  ${r.adapterId ?? ''}  ${r.modelId}`;
        ctx.stdout.write(json ? `${JSON.stringify(r)}\n` : `${line}\n`);
      }
      return 0;
    }
    if (s('show') !== undefined) {
      const id = num(s('show'), 'show', 0, { int: true, min: 1 });
      const run = getRun(ctx.db(), id);
      const points = listPoints(ctx.db(), id);
      if (json) ctx.stdout.write(`${JSON.stringify({ run, points })}\n`);
      else {
        ctx.stdout.write(`Run ${run.id} (${run.state}), model ${run.modelId}, ${run.step}/${run.totalSteps} steps\n`);
        for (const p of points) ctx.stdout.write(`${p.kind.padEnd(8)} step ${String(p.step).padStart(5)} loss ${p.loss.toFixed(4)}\n`);
      }
      return 0;
    }
    if (s('resume') !== undefined) {
      const id = num(s('resume'), 'resume', 0, { int: true, min: 1 });
      return runOrResume(ctx, id, json);
    }
    if (!values['from-tags']) throw new UsageError('Say what to train on: --from-tags (or --resume <run>, --list, --show <run>)');
    const steps = num(s('steps'), 'steps', 200, { int: true, min: 1 });
    const peakLr = num(s('lr'), 'lr', 3e-5, { min: 0 });
    const options = defaultTrainOptions(steps, {
      peakLr,
      minLr: num(s('min-lr'), 'min-lr', Math.min(1e-5, peakLr), { min: 0 }),
      warmupStartLr: Math.min(1e-6, peakLr),
      ...(s('warmup') !== undefined ? { warmupSteps: num(s('warmup'), 'warmup', 0, { int: true, min: 0 }) } : {}),
      accumulation: num(s('accumulation'), 'accumulation', 8, { int: true, min: 1 }),
      batchSize: num(s('batch'), 'batch', 1, { int: true, min: 1 }),
      weightDecay: num(s('weight-decay'), 'weight-decay', 0.05, { min: 0 }),
      maxGradNorm: num(s('clip'), 'clip', 1, { min: 0 }),
      checkpointEvery: num(s('checkpoint-every'), 'checkpoint-every', 25, { int: true, min: 1 }),
      evalEvery: num(s('eval-every'), 'eval-every', 25, { int: true, min: 1 }),
      seed: num(s('seed'), 'seed', 0, { int: true }),
    });
    const dtype = s('dtype') ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float16') throw new UsageError(`--dtype "${dtype}" is not supported. Expected one of: float32, float16`);
    const weights = s('weights') ?? 'dense';
    if (!['dense', 'int4-transposed', 'int4-dequant'].includes(weights)) {
      throw new UsageError(`--weights "${weights}" is not supported. Expected one of: dense, int4-transposed, int4-dequant`);
    }
    const graph: GraphSettings = {
      dtype,
      weights: weights as WeightStorage,
      executionProviders: parseEpList(s('ep') ?? 'cpu'),
      threads: num(s('threads'), 'threads', 1, { int: true, min: 1 }),
    };
    const heldOutFraction = num(s('held-out'), 'held-out', 0.1, { min: 0 });
    if (heldOutFraction >= 1) throw new UsageError('--held-out must be below 1');
    let started;
    try {
      started = await startTraining(trainingContext(ctx), {
        model: s('model'), adapter: s('adapter'), encoder: s('encoder'), options, graph, heldOutFraction, activate: values['activate'] === true,
      });
    } catch (e) {
      if (e instanceof TrainingRequestError) throw new UsageError(e.message);
      throw e;
    }
    if (!json) ctx.stdout.write(`Run ${started.runId}: model ${started.modelId}, encoder windows "${started.encoder}", ${steps} steps; frozen decoder from the ${started.decoderFrom} ${started.decoderPath}.\n`);
    else ctx.stdout.write(`${JSON.stringify(started)}\n`);
    return runOrResume(ctx, started.runId, json);
  },
};
