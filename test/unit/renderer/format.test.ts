/**
 * @file The renderer's formatting helpers: durations, sizes, percentages and window spans as the pages show them.
 */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatEta, formatGroupProgress, formatPercent, formatSpan, formatTime, formatWhen } from '../../../renderer/lib/format';

describe('format', () => {
  it('formats durations as m:ss or h:mm:ss, unknown as a dash', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(185_000)).toBe('3:05');
    expect(formatDuration(59_600)).toBe('1:00');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });

  it('formats sizes in decimal units', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(14_800_000_000)).toBe('15 GB');
    expect(formatBytes(null)).toBe('—');
  });

  it('formats percentages, spans and missing times', () => {
    expect(formatPercent(0.4237)).toBe('42 %');
    expect(formatPercent(null)).toBe('—');
    expect(formatSpan(30_000, 30_000)).toBe('0:30–1:00');
    expect(formatTime(null)).toBe('never');
  });
});

describe('formatWhen, formatEta, formatGroupProgress', () => {
  const now = new Date(2026, 11, 6, 14, 30, 0).getTime();

  it('says when in words, never as an ISO timestamp', () => {
    expect(formatWhen(now - 10_000, now)).toBe('just now');
    expect(formatWhen(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(formatWhen(new Date(2026, 11, 6, 9, 5).getTime(), now)).toMatch(/^today 09[:.]05/);
    expect(formatWhen(new Date(2026, 11, 5, 9, 5).getTime(), now)).toMatch(/^yesterday /);
    expect(formatWhen(new Date(2026, 10, 2, 9, 5).getTime(), now)).toMatch(/2026/);
    expect(formatWhen(null, now)).toBe('never');
  });

  it('rounds time left to what a person reads', () => {
    expect(formatEta(12)).toBe('about 12 s');
    expect(formatEta(7 * 60 + 10)).toBe('about 7 min');
    expect(formatEta(125 * 60)).toBe('about 2 h 5 min');
    expect(formatEta(-1)).toBe('—');
  });

  it('gives a group\'s counts, rate and time left', () => {
    const started = now - 10 * 60_000;
    expect(formatGroupProgress({ done: 660, failed: 0, total: 1500 }, started, now)).toBe('660 of 1,500 · 66 per min · about 13 min left');
    expect(formatGroupProgress({ done: 3, failed: 1, total: 4 }, started, now)).toBe('4 of 4 · 1 failed');
    expect(formatGroupProgress({ done: 0, failed: 0, total: 40 }, null, now)).toBe('0 of 40');
  });
});
