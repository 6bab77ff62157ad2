/**
 * @file Shapes the model manager's data for the Models page (preload/contract.ts types `ModelEntry` and
 * `DoctorReport`). Main process; pure functions over rows and reports, so IPC handlers stay free of logic.
 */
import type { DoctorReport as UiDoctorReport, ModelEntry } from '../../preload/contract';
import type { ModelPackRow } from '../db/models';
import { formatBytes, licenseSummary } from './catalog';
import { modelLabel } from './demo-label';
import type { DoctorReport } from './doctor';
import type { ModelListing } from './manager';

const STATE_RANK: Record<ModelPackRow['state'], number> = { converting: 5, downloading: 4, failed: 3, ready: 2, downloaded: 1 };

/**
 * One `ModelEntry` per listing: the most telling pack state (in-flight work first, then failures, then ready),
 * every ready variant, and the licence in the description so it is always shown.
 */
export function toModelEntries(listings: readonly ModelListing[], activeModelId: string | null): ModelEntry[] {
  return listings.map((l) => {
    const top = [...l.packs].sort((a, b) => STATE_RANK[b.state] - STATE_RANK[a.state])[0];
    const label = modelLabel(l.modelId);
    const description = l.entry
      ? `${l.entry.goodFor} Licence: ${licenseSummary(l.entry)}. Download approx. ${formatBytes(l.entry.approxSizeBytes)}.`
      : label
        ? `A tiny model with random weights for trying every feature offline (\`musilingo models demo\`): its captions and answers are gibberish.`
        : `Imported from ${l.packs[0]?.sourcePath ?? 'a local folder'}.`;
    return {
      id: l.modelId,
      name: l.entry?.title ?? label ?? l.modelId,
      description,
      sizeBytes: l.entry?.approxSizeBytes ?? null,
      state: top?.state ?? 'available',
      progress: top && (top.state === 'downloading' || top.state === 'converting') ? top.progress : null,
      variants: l.packs.filter((p) => p.state === 'ready').map((p) => p.variant),
      isActive: activeModelId === l.modelId,
      error: top?.state === 'failed' ? top.error : null,
    };
  });
}

/** The doctor report as label/value lines for the Models page. */
export function toUiDoctorReport(r: DoctorReport): UiDoctorReport {
  const lines: UiDoctorReport['lines'] = [];
  for (const g of r.gpus) {
    lines.push({ label: `GPU (${g.source})`, value: `${g.name}${g.memoryBytes ? `, ${formatBytes(g.memoryBytes)}` : ''}${g.driver ? `, driver ${g.driver}` : ''}`, ok: true });
  }
  if (r.gpus.length === 0) lines.push({ label: 'GPU', value: 'none found', ok: false });
  for (const p of r.providers.providers) lines.push({ label: `Provider ${p.name}`, value: p.reason, ok: p.isUsable });
  lines.push({ label: 'Memory', value: `${formatBytes(r.totalMemoryBytes)} total, ${formatBytes(r.freeMemoryBytes)} free`, ok: true });
  lines.push({ label: 'Recommended variant', value: `${r.recommendedVariant}: ${r.variantReason}`, ok: true });
  for (const d of r.audioDecoders) lines.push({ label: `Decoder ${d.label}`, value: `${d.decoder}: ${d.detail}`, ok: d.available });
  return { executionProvider: r.providers.chosen, reason: r.providers.summary, recommendedVariant: r.recommendedVariant, variantReason: r.variantReason, lines };
}
