/**
 * @file The deep-scroll order cache (main/app/track-order-cache.ts): built only when the tracks version has not
 * moved since the previous request for that order, reused while it stays, dropped when it moves, and at most
 * four orders held.
 */
import { describe, expect, it } from 'vitest';
import { TrackOrderCache } from '../../../main/app/track-order-cache';

describe('TrackOrderCache', () => {
  it('builds an order on the second request at one version, reuses it, and drops it when the version moves', () => {
    const cache = new TrackOrderCache();
    let builds = 0;
    const build = (): Int32Array => Int32Array.from([3, 1, 2, ++builds]);
    expect(cache.order('title', 7, build)).toBeNull(); // first request: the caller queries
    expect(Array.from(cache.order('title', 7, build)!)).toEqual([3, 1, 2, 1]);
    expect(Array.from(cache.order('title', 7, build)!)).toEqual([3, 1, 2, 1]);
    expect(builds).toBe(1);
    expect(cache.order('title', 8, build)).toBeNull(); // the data moved: not rebuilt while it may be moving
    expect(cache.order('title', 9, build)).toBeNull();
    expect(Array.from(cache.order('title', 9, build)!)).toEqual([3, 1, 2, 2]);
    expect(builds).toBe(2);
  });

  it('holds at most four orders, dropping the least recently used', () => {
    const cache = new TrackOrderCache();
    const built: string[] = [];
    const get = (key: string): Int32Array | null =>
      cache.order(key, 1, () => {
        built.push(key);
        return Int32Array.from([key.length]);
      });
    for (const key of ['a', 'bb', 'ccc', 'dddd', 'eeeee']) {
      get(key);
      get(key);
    }
    expect(cache.size).toBe(4);
    expect(built).toEqual(['a', 'bb', 'ccc', 'dddd', 'eeeee']);
    get('bb'); // still held: no build
    get('a'); // dropped first: built again
    expect(built).toEqual(['a', 'bb', 'ccc', 'dddd', 'eeeee', 'a']);
    expect(cache.size).toBe(4);
  });
});
