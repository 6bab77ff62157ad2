/**
 * @file The CLI's one-line progress bar (caption, eval). CLI only.
 */

/** A one-line progress bar on a TTY (redrawn in place), or a line every few seconds otherwise. */
export function progressBar(out: NodeJS.WritableStream & { isTTY?: boolean }, label: string): { update(done: number, total: number, note?: string): void; end(): void } {
  let last = 0;
  let lastLine = '';
  const started = Date.now();
  return {
    update(done, total, note = '') {
      const now = Date.now();
      const frac = total > 0 ? done / total : 0;
      const eta = done > 0 && total > done ? Math.round(((now - started) / done) * (total - done) / 1000) : 0;
      const width = 24;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      const line = `${label} [${bar}] ${done}/${total}${eta ? ` ~${eta}s left` : ''}${note ? `  ${note}` : ''}`;
      if (out.isTTY) {
        out.write(`\r${line.slice(0, 120).padEnd(Math.min(120, lastLine.length))}`);
        lastLine = line;
      } else if (now - last > 2000 || done === total) {
        out.write(`${line}\n`);
        last = now;
      }
    },
    end() {
      if (out.isTTY && lastLine) out.write('\n');
    },
  };
}
