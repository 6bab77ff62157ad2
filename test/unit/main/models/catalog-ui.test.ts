/**
 * @file Catalog lookups and licence display, the Models page mapping, and SentencePiece model parsing.
 */
import { describe, expect, it } from 'vitest';
import type { ModelPackRow } from '../../../../main/db/models';
import { CATALOG, catalogEntry, formatBytes, isCommercialUseAllowed, licenseSummary } from '../../../../main/models/catalog';
import { readSentencePieces, writeSentencePieces } from '../../../../main/models/sentencepiece';
import { toModelEntries } from '../../../../main/models/ui';

function row(over: Partial<ModelPackRow>): ModelPackRow {
  return {
    id: 'musilingo-long@int4', modelId: 'musilingo-long', repo: 'm-a-p/MusiLingo-long-v1', revision: null, variant: 'int4',
    sourcePath: null, path: null, state: 'downloaded', error: null, progress: 0, sizeBytes: null, createdAt: 1, updatedAt: 1, ...over,
  };
}

describe('catalog', () => {
  it('knows the three MusiLingo checkpoints and the tokenizer, all with licences', () => {
    expect(CATALOG.map((e) => e.repo)).toEqual(['m-a-p/MusiLingo-long-v1', 'm-a-p/MusiLingo-short-v1', 'm-a-p/MusiLingo-musicqa-v1', 'lmsys/vicuna-7b-delta-v0']);
    expect(catalogEntry('m-a-p/MusiLingo-short-v1').id).toBe('musilingo-short');
    expect(() => catalogEntry('gpt')).toThrow('Expected one of: musilingo-long, musilingo-short, musilingo-musicqa, vicuna-tokenizer');
    for (const e of CATALOG.filter((x) => x.kind === 'musilingo')) {
      expect(isCommercialUseAllowed(e)).toBe(false);
      expect(licenseSummary(e)).toContain('CC-BY-NC-4.0');
      expect(licenseSummary(e)).toContain('NON-COMMERCIAL');
    }
    expect(catalogEntry('vicuna-tokenizer').files).toEqual(['tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json']);
    expect(formatBytes(14.8e9)).toBe('14.8 GB');
    expect(formatBytes(512)).toBe('512 B');
  });

  it('maps packs onto Models page entries: in-flight work first, ready variants, errors', () => {
    const listings = [
      { entry: catalogEntry('musilingo-long'), modelId: 'musilingo-long', packs: [row({ state: 'ready', variant: 'int4' }), row({ id: 'musilingo-long@float16', variant: 'float16', state: 'converting', progress: 0.4 })] },
      { entry: catalogEntry('musilingo-short'), modelId: 'musilingo-short', packs: [row({ modelId: 'musilingo-short', state: 'failed', error: 'Not enough disk space at /x: need 1 GB, have 2 MB.' })] },
      { entry: catalogEntry('musilingo-musicqa'), modelId: 'musilingo-musicqa', packs: [] },
    ];
    const [long, short, qa] = toModelEntries(listings, 'musilingo-long');
    expect(long).toMatchObject({ state: 'converting', progress: 0.4, variants: ['int4'], isActive: true, error: null });
    expect(long?.description).toContain('NON-COMMERCIAL');
    expect(short).toMatchObject({ state: 'failed', error: 'Not enough disk space at /x: need 1 GB, have 2 MB.', isActive: false });
    expect(qa).toMatchObject({ state: 'available', progress: null, variants: [] });
  });
});

describe('SentencePiece models', () => {
  it('round-trips pieces, scores and types, and rejects garbage', () => {
    const pieces = [{ piece: '<unk>', score: 0, type: 2 }, { piece: '<s>', score: 0, type: 3 }, { piece: '▁héllo', score: -1.5, type: 1 }];
    expect(readSentencePieces(writeSentencePieces(pieces))).toEqual(pieces);
    expect(() => readSentencePieces(Uint8Array.from([0x0a, 0x50, 0x01]))).toThrow();
  });
});
