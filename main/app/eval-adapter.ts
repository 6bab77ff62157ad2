/**
 * @file The Evaluation page's backend (main process, E2E bridge): runs `musilingo eval` in its own process (the
 * CLI owns scoring; this file only builds its arguments and reads its JSON), forwards its progress lines, and
 * hands the paper's own rows (model/eval/paper-results.ts) to the page. Plain Node.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalDataset, EvalPair, EvalPaperRow, EvalRequest, EvalResult } from '../../preload/contract';
import { PAPER_RESULTS, paperRowsFor } from '../../model/eval/paper-results';
import { IpcError } from '../ipc/errors';
import type { EventHub } from './events';
import type { CliRunner } from './models-adapter';

/** The Evaluation page's calls. */
export interface EvalFacade {
  run(q: EvalRequest): Promise<EvalResult>;
  paper(): EvalPaperRow[];
}

/** The CLI's --json summary (main/cli/commands/eval.ts), as far as the page needs it. */
interface CliSummary {
  dataset: EvalDataset | null;
  count: number;
  paper: { bleu: number; meteor: number; rougeL: number; bertScore: number | null };
  notes?: string[];
}

/** Reads a JSONL file into objects (blank lines skipped). */
function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The pretty-printed JSON object at the end of the CLI's output lines. */
function lastJsonObject(lines: readonly string[]): unknown {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i] !== '{') continue;
    try {
      return JSON.parse(lines.slice(i).join('\n'));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Creates the facade; `runCli` null = the CLI bundle is missing (the page says evaluation is unavailable). */
export function createEvalFacade(opts: { dataDir: string; events: EventHub; runCli: CliRunner | null }): EvalFacade {
  let seq = 0;
  return {
    paper() {
      return Object.entries(PAPER_RESULTS).map(([dataset, r]) => ({
        dataset: dataset as EvalDataset,
        table: r.table,
        task: r.task,
        scale: r.scale,
        bleu: r.bleu,
        meteor: r.meteor,
        rougeL: r.rougeL,
        bertScore: r.bertScore,
        rows: paperRowsFor(dataset as EvalDataset).rows.map((row) => ({ ...row })),
      }));
    },
    async run(q) {
      if (!opts.runCli) throw new IpcError('unavailable', 'Evaluation is not available in this build (the command-line tool is missing).');
      const dir = join(opts.dataDir, 'eval-runs', `${Date.now()}-${++seq}`);
      mkdirSync(dir, { recursive: true });
      const perItem = join(dir, 'per-item.jsonl');
      const args = ['eval', '--json', '--per-item', perItem];
      if (q.predictionsPath) args.push('--predictions', q.predictionsPath);
      if (q.dataset) args.push('--dataset', q.dataset);
      if (q.annPath) args.push('--ann', q.annPath);
      if (q.audioDir) args.push('--audio', q.audioDir);
      if (q.limit !== null) args.push('--limit', String(q.limit));
      if (!q.bertScore) args.push('--no-bertscore');
      const lines: string[] = [];
      let isSummary = false;
      const run = opts.runCli(args, (line) => {
        lines.push(line);
        // The JSON summary comes last; everything before it is progress.
        if (line === '{') isSummary = true;
        if (!isSummary) opts.events.emit('eval:progress', { message: line });
      });
      try {
        const code = await run.exited;
        const summary = lastJsonObject(lines) as CliSummary | undefined;
        if (code !== 0 || !summary) {
          const reason = lines.filter((l) => /error|not|missing|give|needs/i.test(l)).at(-1) ?? lines.at(-1) ?? `exit code ${code ?? 'none'}`;
          throw new IpcError('invalid-argument', `The evaluation stopped: ${reason}`);
        }
        const texts = q.predictionsPath ? readJsonl(q.predictionsPath) : [];
        const pairs: EvalPair[] = readJsonl(perItem).map((s, index) => {
          const t = texts[index] ?? {};
          return {
            index,
            id: typeof s['id'] === 'string' ? s['id'] : null,
            reference: typeof t['reference'] === 'string' ? t['reference'] : null,
            candidate: typeof t['candidate'] === 'string' ? t['candidate'] : typeof t['prediction'] === 'string' ? t['prediction'] : null,
            bleu: Number(s['bleu']),
            meteor: Number(s['meteor']),
            rougeL: Number(s['rougeLRecall']),
            bertScore: typeof s['bertScoreRecall'] === 'number' ? s['bertScoreRecall'] : null,
          };
        });
        return {
          dataset: summary.dataset ?? q.dataset,
          count: summary.count,
          measured: { bleu: summary.paper.bleu, meteor: summary.paper.meteor, rougeL: summary.paper.rougeL, bertScore: summary.paper.bertScore },
          pairs,
          notes: summary.notes ?? [],
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
