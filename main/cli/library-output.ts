/**
 * @file Shared pieces of the library commands (scan, watch, list, search, show, folders, purge): a progress display (a bar on a TTY, plain lines otherwise),
 * and one-line track formatting. Plain Node (CLI).
 */
import type { ScanProgress, ScanSummary } from '../library/scanner';
import type { CliContext } from './command';

export { parseCommandArgs, parsePositiveInt } from './command';

/** Formats a duration in ms as m:ss (or h:mm:ss); an estimate gets a leading "~". */
export function formatDuration(ms: number | null, estimated = false): string {
  if (ms === null) return '-:--';
  if (estimated) return `~${formatDuration(ms)}`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One line for a track: `id  artist – title (album, year)  m:ss  path`. */
export function formatTrackLine(t: {
  id: number;
  artist: string | null;
  title: string | null;
  album: string | null;
  year: number | null;
  durationMs: number | null;
  durationEstimated?: boolean;
  path: string;
}): string {
  const name = `${t.artist ?? 'Unknown artist'} – ${t.title ?? t.path.split(/[\\/]/).at(-1) ?? t.path}`;
  const extra = [t.album, t.year].filter((x) => x !== null && x !== '').join(', ');
  return `${String(t.id).padStart(6)}  ${name}${extra ? ` (${extra})` : ''}  ${formatDuration(t.durationMs, t.durationEstimated)}  ${t.path}`;
}

/** Summary line of a finished scan. */
export function formatSummary(s: ScanSummary): string {
  const parts = [`${s.found} audio files`, `${s.added} added`, `${s.updated} updated`, `${s.moved} moved`];
  if (s.restored) parts.push(`${s.restored} back`);
  parts.push(`${s.missing} missing`, `${s.unchanged} unchanged`, `${s.errors} unreadable`);
  if (s.skipped) parts.push(`${s.skipped} skipped (see \`musilingo list --skipped\`)`);
  return `${s.cancelled ? 'Cancelled' : 'Scanned'} ${s.folderPath}: ${parts.join(', ')} (${(s.durationMs / 1000).toFixed(1)} s)`;
}

/**
 * Shows scan progress on `ctx.stderr`: a redrawn bar on a TTY, otherwise a plain line when listing ends and
 * at every tenth of the reading.
 */
export function createProgressDisplay(ctx: CliContext): { update: (p: ScanProgress) => void; clear: () => void } {
  const out = ctx.stderr;
  const tty = out.isTTY === true;
  let drawn = false;
  let lastDecile = -1;
  let lastPhase = '';
  const columns = (): number => (out as { columns?: number }).columns || 100;
  return {
    update(p) {
      if (tty) {
        let line: string;
        if (p.phase === 'listing') {
          line = `Listing ${p.folderPath}: ${p.found} audio files`;
        } else {
          const frac = p.toRead ? p.done / p.toRead : 1;
          const width = 24;
          const filled = Math.round(frac * width);
          const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
          line = `${bar} ${String(Math.floor(frac * 100)).padStart(3)}% ${p.done}/${p.toRead} read · ${p.errors} errors · ${p.currentPath ?? ''}`;
        }
        const max = Math.max(20, columns() - 1);
        if (line.length > max) line = `${line.slice(0, max - 1)}…`;
        out.write(`\r\x1b[K${line}`);
        drawn = true;
        return;
      }
      if (p.phase === 'reading' && lastPhase !== 'reading') {
        out.write(`${p.folderPath}: ${p.found} audio files, ${p.toRead} to read\n`);
        lastDecile = -1;
      }
      lastPhase = p.phase;
      if (p.phase === 'reading' && p.toRead > 0) {
        const decile = Math.floor((p.done / p.toRead) * 10);
        if (decile > lastDecile && p.done > 0) {
          lastDecile = decile;
          out.write(`read ${p.done}/${p.toRead} (${p.errors} errors)\n`);
        }
      }
    },
    clear() {
      if (tty && drawn) out.write('\r\x1b[K');
      drawn = false;
    },
  };
}
