/**
 * @file The Models page's doctor panel gets one line per audio format: which decoder serves it and from where.
 */
import { describe, expect, it } from 'vitest';
import { decoderReport } from '../../../../model/audio/decoders';
import type { DoctorReport } from '../../../../main/models/doctor';
import { toUiDoctorReport } from '../../../../main/models/ui';

function report(env: NodeJS.ProcessEnv): DoctorReport {
  return {
    gpus: [], nvidiaDriver: undefined, tools: { 'nvidia-smi': false, vulkaninfo: false, lspci: false },
    totalMemoryBytes: 8e9, freeMemoryBytes: 4e9,
    providers: { chosen: 'cpu', override: 'auto', providers: [], summary: 'Runs on CPU.' },
    recommendedVariant: 'int4', variantReason: 'cpu',
    audioDecoders: decoderReport(env).formats,
  };
}

describe('toUiDoctorReport: audio decoders', () => {
  it('one line per format, ok when it can be decoded', () => {
    const lines = toUiDoctorReport(report({ PATH: '' })).lines.filter((l) => l.label.startsWith('Decoder '));
    expect(lines.map((l) => l.label)).toEqual(['Decoder WAV (PCM, float)', 'Decoder AIFF / AIFC', 'Decoder MP3', 'Decoder FLAC',
      'Decoder Ogg Vorbis', 'Decoder Opus', 'Decoder M4A (AAC)', 'Decoder M4A (ALAC)']);
    expect(lines.every((l) => l.ok)).toBe(true);
    expect(lines.find((l) => l.label === 'Decoder Opus')!.value).toMatch(/^ffmpeg: bundled @ffmpeg-installer\//);
    expect(lines[0]!.value).toBe('native: built-in reader (no ffmpeg needed)');
  });

  it('marks the compressed formats not ok when the ffmpeg named cannot run', () => {
    const lines = toUiDoctorReport(report({ PATH: '', MUSILINGO_FFMPEG: '/nowhere/ffmpeg' })).lines;
    expect(lines.find((l) => l.label === 'Decoder MP3')).toMatchObject({ ok: false, value: expect.stringContaining('/nowhere/ffmpeg') });
    expect(lines.find((l) => l.label === 'Decoder WAV (PCM, float)')!.ok).toBe(true);
  });
});
