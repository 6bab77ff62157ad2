/**
 * @file `musilingo watch [dir…]`: rescans the library, then keeps it in step with the disk until Ctrl-C.
 * Plain Node (CLI).
 */
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { createProgressDisplay, formatSummary, parseCommandArgs } from '../library-output';
import { FolderError } from '../../library/errors';
import { checkFolderPath } from '../../library/folder-path';
import { LibraryService } from '../../library/library-service';

const USAGE = `Usage: musilingo watch [dir…]

Adds the given folders (if any) to the library, rescans every folder (unchanged files cost one stat each),
then watches them: added, changed, moved and deleted files are applied in batches and reported, one line per
batch. Runs until Ctrl-C.`;

/** Watches the library folders. */
export const command: CliCommand = {
  name: 'watch',
  summary: 'keep the library in step with its folders until Ctrl-C',
  usage: USAGE,
  async run(argv, ctx) {
    const { positionals } = parseCommandArgs(argv, {});
    const lib = new LibraryService(ctx.db());
    for (const dir of positionals) {
      try {
        lib.addFolder(checkFolderPath(dir, { origin: 'cli', dataDir: ctx.dataDir }));
      } catch (e) {
        if (e instanceof FolderError) throw new UsageError(e.message);
        throw e;
      }
    }
    if (!lib.folders.list().length) throw new UsageError('the library has no folders yet: name a folder to watch');
    const progress = createProgressDisplay(ctx);
    const offProgress = lib.on('progress', (p) => progress.update(p));
    const r = await lib.rescanAll({ signal: ctx.signal });
    progress.clear();
    offProgress();
    for (const s of r.summaries) ctx.stdout.write(`${formatSummary(s)}\n`);
    for (const f of r.failed) ctx.stderr.write(`musilingo watch: ${f.message}\n`);
    if (r.purged) ctx.stdout.write(`Purged ${r.purged} track(s) missing for longer than the grace period\n`);
    if (ctx.signal.aborted) return 130;

    lib.on('watch-batch', (summaries) => {
      for (const s of summaries) {
        const parts = [
          s.added && `${s.added} added`,
          s.updated && `${s.updated} updated`,
          s.moved && `${s.moved} moved`,
          s.restored && `${s.restored} back`,
          s.missing && `${s.missing} missing`,
          s.errors && `${s.errors} unreadable`,
          s.skipped && `${s.skipped} skipped`,
        ].filter(Boolean);
        if (parts.length) ctx.stdout.write(`${new Date().toISOString()} ${s.folderPath}: ${parts.join(', ')}\n`);
      }
    });
    lib.on('watch-error', (e) => ctx.stderr.write(`musilingo watch: ${e.message}\n`));
    // Ctrl-C also stops setting up the watches (a large tree takes a while).
    const stopped = new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    }).then(() => lib.stop());
    const t0 = performance.now();
    await Promise.race([lib.watch(), stopped]);
    if (!ctx.signal.aborted) {
      const folders = lib.folders.list().map((f) => f.path).join(', ');
      ctx.stdout.write(`Watching ${folders} (${lib.watchedFolders} folders, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; Ctrl-C to stop)\n`);
    }
    await stopped;
    return 0;
  },
};
