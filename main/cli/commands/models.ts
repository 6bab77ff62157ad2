/**
 * @file `musilingo models list|download|import|convert|remove|doctor`: model packs from the command line
 * (plain Node). Progress bars go to stderr on a terminal; `--json` prints one JSON result on stdout.
 */
import { basename } from 'node:path';
import { formatBytes, licenseSummary } from '../../models/catalog';
import { describeCheckpoint, type FolderSelection } from '../../models/checkpoint-files';
import { DEMO_LABEL, installDemoModel, modelLabel } from '../../models/demo';
import { formatDoctor, runDoctor } from '../../models/doctor';
import {
  checkPack,
  convertModel,
  defaultVariant,
  downloadModel,
  importModel,
  listModels,
  removeModel,
  type ManagerContext,
  type ModelProgress,
} from '../../models/manager';
import { MODEL_VARIANTS, packId, type ModelPackRow, type ModelVariant } from '../../db/models';
import { modelsDir } from '../../paths';
import { parseCommandArgs, UsageError, type CliCommand, type CliContext } from '../command';

const USAGE = `Usage: musilingo models <subcommand> [options]

Subcommands:
  list                         catalog models and packs on this machine (size, licence, state)
  download <id>                download a model and its tokenizer from the Hugging Face Hub (resumes)
  import <dir> [<dir>…]        use a local checkpoint folder (shards + model.safetensors.index.json), or
                               separate MERT, Llama and adapter folders together; files a model does not
                               need are listed and ignored
  demo                         install the demo pack "demo" (tiny, random weights, writes gibberish):
                               try every feature offline in seconds
  convert <id>                 convert a downloaded/imported model into an ONNX model pack
  remove <id>                  delete a pack (<model>@<variant> or <model>); --download also its checkpoint
  doctor                       GPUs, execution providers, memory, and what would run

Options:
  --variant <v>                int4 | float16 | float32 (default: what suits this machine, see doctor)
  --convert                    download/import: convert right after
  --tokenizer <dir>            import: folder holding Vicuna's tokenizer.model
  --id <name>                  import: the model id to use (default local-<folder name>)
  --activations <dtype>        convert int4: float32 (CPU) | float16 (GPU); default from the chosen provider
  --attention <a>              convert: ops | gqa (GroupQueryAttention; unpadded prompts; default for CPU packs)
  --force                      convert: rebuild a pack that is already ready
  --download                   remove: also delete the downloaded checkpoint
  --no-probe                   doctor: skip the test sessions on GPU providers
  --json                       machine-readable output

Environment: HF_ENDPOINT, HF_TOKEN, HF_HOME (already-downloaded files are reused), MUSILINGO_EP (auto|cuda|webgpu|cpu).`;

function parseVariant(v: string | undefined): ModelVariant | undefined {
  if (v === undefined) return undefined;
  if (!(MODEL_VARIANTS as readonly string[]).includes(v)) throw new UsageError(`Unsupported variant "${v}". Expected one of: ${MODEL_VARIANTS.join(', ')}`);
  return v as ModelVariant;
}

function formatDuration(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A one-line progress bar: redrawn in place on a terminal, a line every few seconds otherwise. */
function progressPrinter(ctx: CliContext, isJson: boolean): { onProgress: (p: ModelProgress) => void; end: () => void } {
  const tty = ctx.stderr.isTTY === true;
  let last = 0;
  let lastText = '';
  const draw = (text: string, force = false): void => {
    const now = Date.now();
    if (!force && now - last < (tty ? 150 : 5000)) return;
    last = now;
    lastText = text;
    ctx.stderr.write(tty ? `\r${text.padEnd(100).slice(0, 118)}` : `${text}\n`);
  };
  const bar = (f: number): string => {
    const n = Math.max(0, Math.min(24, Math.round(f * 24)));
    return `[${'#'.repeat(n)}${'-'.repeat(24 - n)}] ${(f * 100).toFixed(0).padStart(3)}%`;
  };
  return {
    onProgress(p) {
      if (isJson) return;
      if (p.kind === 'download') {
        const d = p.progress;
        if (d.phase === 'resolving') return draw(`${d.repo}: asking the Hub…`, true);
        const f = d.bytesTotal > 0 ? d.bytesDone / d.bytesTotal : 0;
        draw(`${bar(f)} ${formatBytes(d.bytesDone)} / ${formatBytes(d.bytesTotal)}  ${formatBytes(d.rateBytesPerSec)}/s  ETA ${formatDuration(d.etaSeconds)}  ${d.phase === 'verifying' ? 'checking ' : ''}${d.file ?? ''}`, d.phase !== 'downloading');
      } else {
        const c = p.progress;
        draw(`${bar(c.fraction)} converting: ${c.stage}${c.isResumed ? ' (already done)' : ''}${c.detail ? ` ${c.detail}` : ''}`, c.stage !== 'decoder');
      }
    },
    end() {
      if (tty && lastText) ctx.stderr.write('\n');
    },
  };
}

/** The import summary: which files each folder gives, and which it leaves out and why. */
function formatSelection(selection: readonly FolderSelection[]): string {
  let text = '';
  for (const s of selection) {
    text += `${s.dir}\n  taking: ${s.taken.map((f) => basename(f)).join(', ')}\n`;
    for (const i of s.ignored) text += `  ignoring ${basename(i.file)}: ${i.reason}\n`;
  }
  return text;
}

function rowLine(r: ModelPackRow): string {
  const extra = r.state === 'failed' ? `: ${r.error ?? ''}` : r.state === 'ready' ? `  ${formatBytes(r.sizeBytes ?? 0)}  ${r.path ?? ''}` : r.state === 'downloading' || r.state === 'converting' ? ` ${(r.progress * 100).toFixed(0)}%` : '';
  return `    ${r.id.padEnd(28)} ${r.state}${extra}`;
}

/** `musilingo models …`. */
export const command: CliCommand = {
  name: 'models',
  summary: 'download, import and convert model packs; install the demo; check GPUs (models doctor)',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, {
      variant: { type: 'string' },
      convert: { type: 'boolean' },
      tokenizer: { type: 'string' },
      id: { type: 'string' },
      activations: { type: 'string' },
      download: { type: 'boolean' },
      force: { type: 'boolean' },
      attention: { type: 'string' },
      'no-probe': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const [sub, arg] = positionals;
    const isJson = values.json === true;
    const out = (v: unknown): void => void ctx.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    if (values.activations !== undefined && values.activations !== 'float32' && values.activations !== 'float16') {
      throw new UsageError(`Unsupported --activations "${values.activations}". Expected one of: float32, float16`);
    }
    const printer = progressPrinter(ctx, isJson);
    const mctx = (): ManagerContext => ({ db: ctx.db(), modelsDir: modelsDir(ctx.dataDir), signal: ctx.signal, onProgress: printer.onProgress });
    const variantOr = async (): Promise<ModelVariant> => parseVariant(values.variant) ?? (await defaultVariant(process.env, { probe: true })).variant;
    const act = values.activations as 'float32' | 'float16' | undefined;
    if (values.attention !== undefined && values.attention !== 'ops' && values.attention !== 'gqa') {
      throw new UsageError(`Unsupported --attention "${values.attention}". Expected one of: ops, gqa`);
    }
    const attention = values.attention as 'ops' | 'gqa' | undefined;

    switch (sub) {
      case 'list': {
        const m = mctx();
        for (const l of listModels(m)) for (const p of l.packs) await checkPack(m, p.id);
        const listing = listModels(m);
        if (isJson) {
          out(listing.map((l) => ({ modelId: l.modelId, title: l.entry?.title ?? modelLabel(l.modelId), repo: l.entry?.repo, approxSizeBytes: l.entry?.approxSizeBytes, licenses: l.entry?.licenses, goodFor: l.entry?.goodFor, packs: l.packs })));
          return 0;
        }
        for (const l of listing) {
          if (l.entry) {
            ctx.stdout.write(`${l.entry.id}  ${l.entry.title}  (${l.entry.repo}, approx. ${formatBytes(l.entry.approxSizeBytes)} download)\n`);
            ctx.stdout.write(`    ${l.entry.goodFor}\n    Licence: ${licenseSummary(l.entry)}\n`);
          } else {
            ctx.stdout.write(`${l.modelId}  (${modelLabel(l.modelId) ?? 'imported folder'})\n`);
          }
          for (const p of l.packs) ctx.stdout.write(`${rowLine(p)}\n`);
          if (l.packs.length === 0) ctx.stdout.write('    not downloaded\n');
        }
        return 0;
      }
      case 'download': {
        if (!arg) throw new UsageError('download needs a model id (see `musilingo models list`)');
        const variant = await variantOr();
        try {
          let row = await downloadModel(mctx(), arg, variant);
          if (values.convert) row = await convertModel(mctx(), row.modelId, variant, act ? { activationDtype: act } : {});
          printer.end();
          if (isJson) out(row);
          else ctx.stdout.write(values.convert ? `Ready: ${row.id} in ${row.path ?? ''}\n` : `Downloaded ${row.modelId} (${row.revision ?? ''}). Next: musilingo models convert ${row.modelId} --variant ${variant}\n`);
          return 0;
        } finally {
          printer.end();
        }
      }
      case 'import': {
        if (!arg) throw new UsageError('import needs a folder');
        const variant = await variantOr();
        const selection = await describeCheckpoint(positionals.slice(1));
        if (!isJson) ctx.stdout.write(formatSelection(selection));
        let row = await importModel(mctx(), positionals.slice(1), variant, { ...(values.id ? { modelId: values.id } : {}), ...(values.tokenizer ? { tokenizerDir: values.tokenizer } : {}) });
        try {
          if (values.convert) row = await convertModel(mctx(), row.modelId, variant, act ? { activationDtype: act } : {});
        } finally {
          printer.end();
        }
        if (isJson) out(row);
        else ctx.stdout.write(values.convert ? `Ready: ${row.id} in ${row.path ?? ''}\n` : `Imported ${row.sourcePath ?? ''} as ${row.modelId}. Next: musilingo models convert ${row.modelId} --variant ${variant}\n`);
        return 0;
      }
      case 'convert': {
        if (!arg) throw new UsageError('convert needs a model id');
        const [modelId, fromId] = arg.includes('@') ? arg.split('@') : [arg, undefined];
        const variant = parseVariant(values.variant) ?? parseVariant(fromId) ?? (await variantOr());
        let row: ModelPackRow;
        try {
          row = await convertModel(mctx(), modelId ?? arg, variant, { ...(act ? { activationDtype: act } : {}), ...(attention ? { attention } : {}), force: values.force === true });
        } finally {
          printer.end();
        }
        if (isJson) out(row);
        else ctx.stdout.write(`Ready: ${packId(row.modelId, row.variant)} (${formatBytes(row.sizeBytes ?? 0)}) in ${row.path ?? ''}\n`);
        return 0;
      }
      case 'remove': {
        if (!arg) throw new UsageError('remove needs a pack id (<model>@<variant>) or a model id');
        await removeModel(mctx(), arg, { deleteDownload: values.download === true });
        if (isJson) out({ removed: arg });
        else ctx.stdout.write(`Removed ${arg}${values.download ? ' and its download' : ''}\n`);
        return 0;
      }
      case 'demo': {
        let row: ModelPackRow;
        try {
          row = await installDemoModel(mctx());
        } finally {
          printer.end();
        }
        if (isJson) out({ ...row, label: DEMO_LABEL });
        else ctx.stdout.write(`Ready: ${row.id} (${DEMO_LABEL}) in ${row.path ?? ''}\nTry it: musilingo scan <folder>, then musilingo caption --all\n`);
        return 0;
      }
      case 'doctor': {
        const report = await runDoctor({ probe: values['no-probe'] !== true });
        if (isJson) out(report);
        else ctx.stdout.write(formatDoctor(report));
        return 0;
      }
      default:
        throw new UsageError(sub ? `Unknown subcommand "${sub}". Expected one of: list, download, import, demo, convert, remove, doctor` : 'Missing subcommand');
    }
  },
};
