/**
 * @file Exactly rounded floating-point sum, a port of CPython's `math.fsum` (any process).
 *
 * [Note: Why fsum]
 * nltk's sentence BLEU adds the weighted log precisions with `math.fsum`, which returns the correctly
 * rounded sum of its inputs. A left-to-right `+` can differ in the last bit, and the paper-protocol
 * BLEU must agree with nltk to 1e-12, so the same algorithm is used here: Shewchuk's non-overlapping
 * partials followed by CPython's round-half-even correction. Infinities and NaN are not expected
 * (every BLEU log precision is finite) and follow plain IEEE addition.
 */

/** The correctly rounded sum of `values` (CPython `math.fsum` semantics for finite inputs). */
export function fsum(values: Iterable<number>): number {
  const partials: number[] = [];
  let special = 0;
  for (let x of values) {
    if (!Number.isFinite(x)) {
      special += x;
      continue;
    }
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j]!;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  if (special !== 0 || Number.isNaN(special)) return special;
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  // Round half to even across the remaining partials, as CPython does.
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    const yr = x - hi;
    if (y === yr) hi = x;
  }
  return hi;
}
