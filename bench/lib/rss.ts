/**
 * @file Resident memory of this process for the benches, split where Linux tells how: anonymous memory (heap,
 * native allocations) and pages of mapped files (a memory-mapped similarity index, the binaries). Mapped file
 * pages are clean and shared with the page cache: the kernel can drop them under pressure, which it cannot
 * do with anonymous memory, so the split says which part of RSS is a real cost.
 */
import { readFileSync } from 'node:fs';

/** MiB, rounded. */
export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** RSS now, anonymous and mapped-file parts (null where /proc/self/status is not available). */
export function rssNow(): { rss: number; anon: number | null; file: number | null } {
  const rss = process.memoryUsage().rss;
  try {
    const st = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string): number | null => {
      const m = new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(st);
      return m ? Number(m[1]) * 1024 : null;
    };
    return { rss, anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return { rss, anon: null, file: null };
  }
}

/** "RSS 123 MiB (anonymous 100 MiB, mapped files 23 MiB)". */
export function describeRss(r = rssNow()): string {
  return `RSS ${mib(r.rss)}${r.anon !== null && r.file !== null ? ` (anonymous ${mib(r.anon)}, mapped files ${mib(r.file)})` : ''}`;
}
