/**
 * @file Formatting helpers for the UI (renderer process). Pure functions.
 */

/** 185000 → "3:05"; null → "—"; an estimate → "~3:05". */
export function formatDuration(ms: number | null, estimated = false): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (estimated) return `~${formatDuration(ms)}`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** 1536 → "1.5 KB" (decimal units, as file managers show). */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** ms since the epoch → local date and time; null → "never". */
export function formatTime(ms: number | null): string {
  if (ms === null) return 'never';
  return new Date(ms).toLocaleString();
}

/** 0.4237 → "42 %". */
export function formatPercent(fraction: number | null): string {
  return fraction === null ? '—' : `${Math.round(fraction * 100)} %`;
}

/** A window's time span: "0:00–0:30". */
export function formatSpan(startMs: number, lengthMs: number): string {
  return `${formatDuration(startMs)}–${formatDuration(startMs + lengthMs)}`;
}
