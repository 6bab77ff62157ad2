/**
 * @file Window choices: the CLI's --window parsing and the service's resolution of a spec into 24 kHz spans.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../main/cli/command';
import { parseWindow } from '../../../main/cli/track-args';
import { windowKey } from '../../../main/jobs/kinds';
import { resolveWindows } from '../../../model/inference/service';

const RATE = 24_000;

describe('window specs', () => {
  it('parses --window values and names the allowed ones when wrong', () => {
    expect(parseWindow(undefined)).toEqual({ kind: 'default' });
    expect(parseWindow('all')).toEqual({ kind: 'all' });
    expect(parseWindow('1:20')).toEqual({ kind: 'at', startMs: 80_000 });
    expect(parseWindow('12.5')).toEqual({ kind: 'at', startMs: 12_500 });
    expect(() => parseWindow('middle')).toThrow(UsageError);
    expect(() => parseWindow('middle')).toThrow(/Expected one of: default, all, <seconds>, <m:ss>/);
    expect(windowKey({ kind: 'at', startMs: 80_000 })).toBe('at:80000:30000');
  });

  it('resolves the default, all and explicit windows of a 100 s track', () => {
    const total = 100 * RATE;
    expect(resolveWindows(total, { kind: 'default' })).toMatchObject([{ start: 35 * RATE, length: 30 * RATE }]);
    expect(resolveWindows(total, { kind: 'all' }).map((w) => w.start / RATE)).toEqual([0, 30, 60, 70]);
    expect(resolveWindows(total, { kind: 'at', startMs: 80_000 })).toMatchObject([{ start: 80 * RATE, length: 20 * RATE }]);
    expect(() => resolveWindows(total, { kind: 'at', startMs: 100_000 }, '/m/x.mp3')).toThrow(/outside \/m\/x\.mp3 \(100000 ms long\)/);
  });

  it('takes a short track whole', () => {
    expect(resolveWindows(4 * RATE, { kind: 'default' })).toMatchObject([{ start: 0, length: 4 * RATE }]);
    expect(resolveWindows(4 * RATE, { kind: 'all' })).toHaveLength(1);
  });
});
