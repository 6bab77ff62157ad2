/**
 * @file `musilingo adapters list|activate|export|show`: the versioned adapters fine-tuning produced. Plain Node (CLI).
 */
import { copyFile, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sha256File } from '../../../trainer/session';
import { activateAdapter, getAdapter, listAdapters, type AdapterRow } from '../../db/training';
import { findAdapter } from '../../models/registry';
import { parseCommandArgs, UsageError, type CliCommand } from '../command';

const USAGE = `Usage:
  musilingo adapters list [--model <id>] [--json]
  musilingo adapters show <id>              lineage: the adapter, its parents and the runs that made them
  musilingo adapters activate <id>          use this adapter for its model from now on
  musilingo adapters activate --none --model <id>   go back to the model's own adapter
  musilingo adapters export <id> <file.safetensors>

<id> may be an adapter id, its name (as listed) or a unique prefix of its id.`;

function describe(a: AdapterRow): string {
  const loss = a.heldOutLoss === null ? '-' : a.heldOutLoss.toFixed(4);
  return `${a.isActive ? '*' : ' '} ${a.id}  ${new Date(a.createdAt).toISOString().slice(0, 19).replace('T', ' ')}  held-out ${loss}  parent ${a.parentId ?? '(model)'}  run ${a.runId ?? '-'}  ${a.modelId}`;
}

/** `musilingo adapters` */
export const command: CliCommand = {
  name: 'adapters',
  summary: 'list, activate and export fine-tuned adapters',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { model: { type: 'string' }, json: { type: 'boolean' }, none: { type: 'boolean' } });
    const [sub, ...rest] = positionals;
    const db = ctx.db();
    const json = values['json'] === true;
    switch (sub) {
      case 'list': {
        const rows = listAdapters(db, values['model'] as string | undefined);
        if (json) ctx.stdout.write(`${JSON.stringify(rows)}\n`);
        else if (rows.length === 0) ctx.stdout.write('No fine-tuned adapters yet. Make one with `musilingo train --from-tags`.\n');
        else for (const a of rows) ctx.stdout.write(`${describe(a)}\n`);
        return 0;
      }
      case 'show': {
        if (!rest[0]) throw new UsageError('adapters show needs an adapter id');
        let a: AdapterRow | null = findAdapter(db, rest[0]);
        const chain: AdapterRow[] = [];
        while (a && chain.length < 100) {
          chain.push(a);
          a = a.parentId ? getAdapter(db, a.parentId) : null;
        }
        if (json) ctx.stdout.write(`${JSON.stringify(chain)}\n`);
        else chain.forEach((c, i) => ctx.stdout.write(`${'  '.repeat(i)}${describe(c).trim()}\n    ${c.path}\n`));
        return 0;
      }
      case 'activate': {
        if (values['none']) {
          const model = values['model'] as string | undefined;
          if (!model) throw new UsageError('adapters activate --none needs --model <id>');
          activateAdapter(db, null, model);
          ctx.stdout.write(`Model ${model} uses its own adapter again.\n`);
          return 0;
        }
        if (!rest[0]) throw new UsageError('adapters activate needs an adapter id or name (or --none --model <id>)');
        const a = activateAdapter(db, findAdapter(db, rest[0]).id);
        ctx.stdout.write(`Active adapter for ${a!.modelId}: ${a!.id}\n`);
        return 0;
      }
      case 'export': {
        const [id, dest] = rest;
        if (!id || !dest) throw new UsageError('adapters export needs an adapter id and a destination file');
        const a = findAdapter(db, id);
        const sha = await sha256File(a.path).catch((e: unknown) => {
          throw new Error(`Adapter file ${a.path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        });
        if (sha !== a.sha256) throw new Error(`Adapter file ${a.path} changed since it was made (sha256 ${sha.slice(0, 12)}…, expected ${a.sha256.slice(0, 12)}…); not exporting it`);
        const target = resolve(dest);
        const tmp = `${target}.tmp-${process.pid}`;
        try {
          await copyFile(a.path, tmp);
          await rename(tmp, target);
        } catch (e) {
          await rm(tmp, { force: true });
          throw new Error(`Cannot write ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        ctx.stdout.write(`${target}\n`);
        return 0;
      }
      default:
        throw new UsageError(sub ? `Unknown subcommand "${sub}". Expected one of: list, show, activate, export` : 'Say what to do: list, show, activate or export');
    }
  },
};
