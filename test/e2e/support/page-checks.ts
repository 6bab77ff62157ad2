/**
 * @file Page checks the UI suites share (plain Node, E2E): axe-core's WCAG 2.2 AA rules run inside the page,
 * and a layout check that nothing runs off the right edge of the content area, measured from element boxes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The axe tags for WCAG 2.0, 2.1 and 2.2, levels A and AA. */
const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

/**
 * Runs axe-core on the page and returns one line per violation ("rule (impact): target …"); empty = none.
 * The source is evaluated through the DevTools protocol, which the page's CSP does not block.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(AXE_SOURCE);
  const script = `(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_22_AA)} }, resultTypes: ['violations'] });
    return r.violations.flatMap((v) => v.nodes.slice(0, 3).map((n) => v.id + ' (' + v.impact + '): ' + n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('').trim()));
  })()`;
  return (await page.evaluate(script)) as string[];
}

/**
 * Elements whose box reaches past the right edge of <main> (the content area), or a content area that scrolls
 * sideways: what a narrow window would hide. Visually hidden helpers (1 px, clipped) are skipped.
 */
export async function horizontalClipping(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => {
    const main = document.querySelector('main');
    if (!main) return ['no <main>'];
    const out = [];
    if (main.scrollWidth > main.clientWidth + 1) out.push('main scrolls sideways: ' + main.scrollWidth + ' > ' + main.clientWidth);
    if (document.documentElement.scrollWidth > document.documentElement.clientWidth + 1) out.push('the page scrolls sideways');
    const right = main.getBoundingClientRect().right;
    for (const el of main.querySelectorAll('*')) {
      if (el.closest('.visually-hidden')) continue;
      const r = el.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1) continue;
      if (r.right > right + 1) out.push(el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') + ' +' + Math.round(r.right - right) + 'px');
    }
    return out.slice(0, 12);
  })()`)) as string[];
}

/** Column offsets where the library table's header cells and the first row's cells differ by more than 1 px. */
export async function misalignedColumns(page: Page): Promise<string[]> {
  return (await page.evaluate(`(() => {
    const heads = [...document.querySelectorAll('[data-testid="track-grid"] [role=columnheader]')];
    const row = document.querySelector('[data-testid="track-grid"] [role=row][data-track-id]');
    if (!row) return ['no rows'];
    const cells = [...row.querySelectorAll('[role=gridcell]')];
    const out = [];
    heads.forEach((h, i) => {
      const a = h.getBoundingClientRect();
      const b = cells[i]?.getBoundingClientRect();
      if (!b || Math.abs(a.left - b.left) > 1 || Math.abs(a.right - b.right) > 1) out.push((h.textContent || '').trim() + ': header ' + Math.round(a.left) + '–' + Math.round(a.right) + ', row ' + (b ? Math.round(b.left) + '–' + Math.round(b.right) : 'none'));
    });
    return out;
  })()`)) as string[];
}
