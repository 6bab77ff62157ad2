/**
 * @file The renderer's formatting helpers: durations, sizes, percentages and window spans as the pages show them.
 */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatPercent, formatSpan, formatTime } from '../../../renderer/lib/format';

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
