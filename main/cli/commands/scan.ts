/**
 * @file `musilingo scan <dir…>`: adds folders to the library (if needed) and scans them. Plain Node (CLI).
 */
import type { CliCommand } from '../command';
import { UsageError } from '../command';
import { createProgressDisplay, formatSummary, parseCommandArgs } from '../library-output';
import { FolderError } from '../../library/errors';
import { checkFolderPath } from '../../library/folder-path';
import { LibraryService } from '../../library/library-service';

const USAGE = `Usage: musilingo scan <dir…> [--json]

Adds each folder to the library (once) and scans it: new and changed files are read, moved files keep their
identity, deleted ones are marked missing. Unreadable files are listed with the cause and the scan goes on.
A progress bar is shown on a terminal; Ctrl-C stops cleanly, keeping what was read.

Options:
  --json   print the scan summaries as JSON on stdout`;

/** Scans folders. */
export const command: CliCommand = {
  name: 'scan',
  summary: 'add music folders and scan them for audio files',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    if (!positionals.length) throw new UsageError('name at least one folder to scan');
    const lib = new LibraryService(ctx.db());
    const progress = createProgressDisplay(ctx);
    lib.on('progress', (p) => progress.update(p));
    const summaries = [];
    let failed = 0;
    for (const dir of positionals) {
      try {
        const s = await lib.scan(checkFolderPath(dir, { origin: 'cli', dataDir: ctx.dataDir }), { signal: ctx.signal });
        progress.clear();
        summaries.push(s);
        if (!values.json) ctx.stdout.write(`${formatSummary(s)}\n`);
        if (s.cancelled) break;
      } catch (e) {
        progress.clear();
        if (!(e instanceof FolderError)) throw e;
        ctx.stderr.write(`musilingo scan: ${e.message}\n`);
        failed++;
      }
    }
    // A scan that wrote many tracks is followed by a merge of the search index (stopped by Ctrl-C like the scan).
    await lib.idle();
    const errors = summaries.flatMap((s) => lib.scanErrors.list({ folderId: s.folderId, limit: 50 }));
    if (values.json) {
      ctx.stdout.write(`${JSON.stringify({ summaries, errors }, null, 2)}\n`);
    } else if (errors.length) {
      ctx.stderr.write(`${errors.length} file(s) could not be read:\n`);
      for (const e of errors.slice(0, 20)) ctx.stderr.write(`  [${e.code}] ${e.message}\n`);
      if (errors.length > 20) ctx.stderr.write(`  … and ${errors.length - 20} more (musilingo list --errors)\n`);
    }
    if (summaries.some((s) => s.cancelled)) return 130;
    return failed ? 1 : 0;
  },
};
