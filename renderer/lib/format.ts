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

/**
 * A date for lists, in words relative to `now`: "just now", "5 min ago", "today 14:03", "yesterday 09:12",
 * "3 Dec 2026, 14:03". The full date and time belong in a title attribute (formatTime).
 */
export function formatWhen(ms: number | null, now: number = Date.now()): string {
  if (ms === null) return 'never';
  const ago = now - ms;
  if (ago >= 0 && ago < 45_000) return 'just now';
  if (ago >= 0 && ago < 60 * 60_000) return `${Math.round(ago / 60_000)} min ago`;
  const d = new Date(ms);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const today = new Date(now);
  const dayDiff = Math.round((new Date(today.toDateString()).getTime() - new Date(d.toDateString()).getTime()) / 86_400_000);
  if (dayDiff === 0) return `today ${time}`;
  if (dayDiff === 1) return `yesterday ${time}`;
  return `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' })}, ${time}`;
}

/** Seconds → "about 40 s", "about 7 min", "about 2 h 5 min". */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s`;
  const min = Math.round(seconds / 60);
  if (min < 60) return `about ${min} min`;
  return `about ${Math.floor(min / 60)} h ${min % 60} min`;
}

/** Progress of a group of `total` items started at `startedAt`: counts, rate and time left in words. */
export function formatGroupProgress(c: { done: number; failed: number; total: number }, startedAt: number | null, now: number = Date.now()): string {
  const finished = c.done + c.failed;
  const parts = [`${finished.toLocaleString('en')} of ${c.total.toLocaleString('en')}`];
  if (c.failed > 0) parts.push(`${c.failed.toLocaleString('en')} failed`);
  const elapsedS = startedAt === null ? 0 : (now - startedAt) / 1000;
  if (finished > 0 && finished < c.total && elapsedS > 0) {
    const perMin = (finished / elapsedS) * 60;
    parts.push(perMin >= 10 ? `${Math.round(perMin)} per min` : `${perMin.toFixed(1)} per min`);
    parts.push(`${formatEta((c.total - finished) / (finished / elapsedS))} left`);
  }
  return parts.join(' · ');
}
