/**
 * @file Which decoder serves each audio format, and where the ffmpeg/ffprobe binaries come from (any Node process).
 *
 * [Note: Decoder resolution]
 * WAV and AIFF are parsed in TS (pcm-container.ts). Everything else goes through ffmpeg/ffprobe, found in this
 * order, each binary on its own:
 *   1. MUSILINGO_FFMPEG / MUSILINGO_FFPROBE (an explicit choice always wins);
 *   2. the binary bundled with the app: the npm packages @ffmpeg-installer/<os>-<arch> and
 *      @ffprobe-installer/<os>-<arch> (static builds carrying mp3, flac, vorbis, opus, aac and alac decoders);
 *      electron-builder ships only the running platform's package, unpacked from the asar (a binary inside an
 *      asar archive cannot be executed, so an `app.asar` path is rewritten to `app.asar.unpacked`);
 *   3. `ffmpeg` / `ffprobe` on PATH.
 * docs/audio-and-encoder.md has the measurements behind this choice (bundled binaries rather than wasm
 * decoders) and the licences. This module is the only place that decides; ffmpeg.ts spawns what it returns and
 * `models doctor` prints {@link decoderReport}.
 */
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, sep } from 'node:path';

/** The two external tools. */
export type FfTool = 'ffmpeg' | 'ffprobe';

/** Where a binary was found. */
export type BinarySource = 'env' | 'bundled' | 'path' | 'missing';

/** A resolved binary: what to spawn and why. */
export interface ResolvedBinary {
  readonly tool: FfTool;
  /** What to pass to spawn: an absolute path, or the bare name when nothing was found (spawn then fails ENOENT). */
  readonly command: string;
  readonly source: BinarySource;
  /** For 'bundled': the npm package it comes from, with its version and licence. */
  readonly pkg?: { readonly name: string; readonly version: string; readonly license: string };
  /** Whether the command can be run (false for 'missing', and for an env variable naming no executable). */
  readonly available: boolean;
}

const ENV_VAR: Record<FfTool, string> = { ffmpeg: 'MUSILINGO_FFMPEG', ffprobe: 'MUSILINGO_FFPROBE' };
const SCOPE: Record<FfTool, string> = { ffmpeg: '@ffmpeg-installer', ffprobe: '@ffprobe-installer' };

/** The npm package holding a tool's binary for one platform (Node's names: linux|darwin|win32, x64|arm64 …). */
export function bundledPackageName(tool: FfTool, platform: string = process.platform, arch: string = process.arch): string {
  return `${SCOPE[tool]}/${platform}-${arch}`;
}

/** File name of the tool's binary inside its package. */
export function binaryFileName(tool: FfTool, platform: string = process.platform): string {
  return platform === 'win32' ? `${tool}.exe` : tool;
}

/** Inside a packaged app, executables live next to the asar, in app.asar.unpacked. */
function unpacked(path: string): string {
  const marker = `${sep}app.asar${sep}`;
  return path.includes(marker) ? path.replace(marker, `${sep}app.asar.unpacked${sep}`) : path;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (process.platform === 'win32') return true;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The bundled binary for this platform, if its package is installed. The packages set the execute bit in a
 * postinstall script; an install that skipped scripts leaves it off, so it is set here when we may.
 */
export function bundledBinary(tool: FfTool): ResolvedBinary | undefined {
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve(`${bundledPackageName(tool)}/package.json`);
  } catch {
    return undefined;
  }
  const bin = unpacked(join(dirname(pkgJson), binaryFileName(tool)));
  if (!existsSync(bin)) return undefined;
  if (!isExecutable(bin)) {
    try {
      chmodSync(bin, 0o755);
    } catch {
      return undefined;
    }
    if (!isExecutable(bin)) return undefined;
  }
  let meta: { name?: string; version?: string; license?: string } = {};
  try {
    meta = createRequire(import.meta.url)(pkgJson) as typeof meta;
  } catch {
    // The binary is what matters; the description is for the doctor.
  }
  return {
    tool, command: bin, source: 'bundled', available: true,
    pkg: { name: meta.name ?? bundledPackageName(tool), version: meta.version ?? '?', license: meta.license ?? '?' },
  };
}

/** The first executable `name` on PATH (with PATHEXT on Windows), if any. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.PATH ?? env.Path ?? '';
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean) : [''];
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = join(dir, name + ext);
      if (isExecutable(p)) return p;
    }
  }
  return undefined;
}

/** Resolves one tool: MUSILINGO_FFMPEG/MUSILINGO_FFPROBE > bundled > PATH (see [Note: Decoder resolution]). */
export function resolveBinary(tool: FfTool, env: NodeJS.ProcessEnv = process.env): ResolvedBinary {
  const explicit = env[ENV_VAR[tool]];
  if (explicit) {
    const hasDir = explicit.includes('/') || explicit.includes('\\');
    return { tool, command: explicit, source: 'env', available: hasDir ? isExecutable(explicit) : findOnPath(explicit, env) !== undefined };
  }
  const bundled = bundledBinary(tool);
  if (bundled) return bundled;
  const onPath = findOnPath(tool, env);
  if (onPath) return { tool, command: onPath, source: 'path', available: true };
  return { tool, command: tool, source: 'missing', available: false };
}

/** The formats the app promises to decode, as the doctor lists them. */
export const AUDIO_FORMATS = [
  { id: 'wav', label: 'WAV (PCM, float)', decoders: [], native: true },
  { id: 'aiff', label: 'AIFF / AIFC', decoders: [], native: true },
  // ffmpeg decoder names (`ffmpeg -decoders`) that can serve the format: any one will do.
  { id: 'mp3', label: 'MP3', decoders: ['mp3float', 'mp3'], native: false },
  { id: 'flac', label: 'FLAC', decoders: ['flac'], native: false },
  { id: 'ogg', label: 'Ogg Vorbis', decoders: ['vorbis', 'libvorbis'], native: false },
  { id: 'opus', label: 'Opus', decoders: ['opus', 'libopus'], native: false },
  { id: 'm4a-aac', label: 'M4A (AAC)', decoders: ['aac', 'aac_fixed', 'aac_at'], native: false },
  { id: 'm4a-alac', label: 'M4A (ALAC)', decoders: ['alac', 'alac_at'], native: false },
] as const;

/** One line of the doctor's decoder table. */
export interface FormatDecoder {
  readonly format: (typeof AUDIO_FORMATS)[number]['id'];
  readonly label: string;
  /** 'native' (TS parser) or 'ffmpeg'. */
  readonly decoder: 'native' | 'ffmpeg';
  /** For ffmpeg formats: where ffmpeg comes from ('missing' means these formats cannot be decoded). */
  readonly source: 'builtin' | BinarySource;
  /** The binary that runs, or a short description for native formats. */
  readonly detail: string;
  /** Whether files of this format can be decoded now. */
  readonly available: boolean;
}

/** Human description of a resolved binary, e.g. "bundled @ffmpeg-installer/linux-x64 4.1.0 (GPLv3): /…/ffmpeg". */
export function describeBinary(b: ResolvedBinary): string {
  switch (b.source) {
    case 'env':
      return `${b.command} (from ${ENV_VAR[b.tool]}${b.available ? '' : ', which names no executable'})`;
    case 'bundled':
      return `bundled ${b.pkg?.name ?? ''} ${b.pkg?.version ?? ''} (${b.pkg?.license ?? '?'}): ${b.command}`;
    case 'path':
      return `${b.command} (on PATH)`;
    case 'missing':
      return `not found: set ${ENV_VAR[b.tool]}, or install ffmpeg`;
  }
}

/** Which decoder serves each format, and where it comes from; plus the two resolved binaries. */
export function decoderReport(env: NodeJS.ProcessEnv = process.env): { formats: FormatDecoder[]; ffmpeg: ResolvedBinary; ffprobe: ResolvedBinary } {
  const ffmpeg = resolveBinary('ffmpeg', env);
  const ffprobe = resolveBinary('ffprobe', env);
  // A compressed file needs both (ffprobe describes, ffmpeg decodes): name the one that is missing, if any.
  const weak = !ffmpeg.available ? ffmpeg : !ffprobe.available ? ffprobe : ffmpeg;
  const probeNote = ffprobe.available && ffprobe.source !== ffmpeg.source ? `; ffprobe: ${describeBinary(ffprobe)}` : '';
  const formats = AUDIO_FORMATS.map((f): FormatDecoder => f.native
    ? { format: f.id, label: f.label, decoder: 'native', source: 'builtin', detail: 'built-in reader (no ffmpeg needed)', available: true }
    : {
        format: f.id, label: f.label, decoder: 'ffmpeg', source: weak.source, available: weak.available,
        detail: weak.available ? `${describeBinary(ffmpeg)}${probeNote}` : describeBinary(weak),
      });
  return { formats, ffmpeg, ffprobe };
}

/** Parses `ffmpeg -decoders`: the names of the audio decoders (lines like " A....D flac   FLAC (…)"). */
export function parseAudioDecoders(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^\s*A[.A-Z]{5}\s+(\S+)/gm)) out.add(m[1]!);
  return out;
}

/** Runs `ffmpeg -decoders`; undefined when it cannot run or says nothing. */
function listDecoders(command: string): Promise<Set<string> | undefined> {
  return new Promise((resolve) => {
    execFile(command, ['-hide_banner', '-decoders'], { timeout: 15_000, maxBuffer: 4 << 20 }, (err, stdout) => {
      const names = parseAudioDecoders(String(stdout ?? ''));
      resolve(err || names.size === 0 ? undefined : names);
    });
  });
}

/**
 * {@link decoderReport}, then asks the ffmpeg that would run which decoders it has, so a build without (say) an
 * Opus decoder shows as such instead of failing at the first .opus file. For the doctor; not on the decode path.
 */
export async function checkedDecoderReport(env: NodeJS.ProcessEnv = process.env): Promise<ReturnType<typeof decoderReport>> {
  const r = decoderReport(env);
  if (!r.ffmpeg.available) return r;
  const have = await listDecoders(r.ffmpeg.command);
  const formats = r.formats.map((f): FormatDecoder => {
    const spec = AUDIO_FORMATS.find((a) => a.id === f.format)!;
    if (f.decoder !== 'ffmpeg' || !f.available) return f;
    if (!have) return { ...f, available: false, detail: `${f.detail} — does not run (\`${r.ffmpeg.command} -decoders\` failed)` };
    const names: readonly string[] = spec.decoders;
    return names.some((d) => have.has(d)) ? f : { ...f, available: false, detail: `${f.detail} — has no ${names.join('/')} decoder` };
  });
  return { ...r, formats };
}
