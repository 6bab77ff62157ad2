/**
 * @file Source patches to music-metadata, applied when it is bundled into the CLI (vite.cli.config.ts), whose
 * scan.thread.mjs the app runs too: the scan threads read every file of a first scan. Plain string rewrites,
 * no Vite types, so tests apply them to the installed package. Each patch names the exact text it rewrites and
 * throws if a music-metadata upgrade removed it, so the build fails instead of silently losing the saving.
 * Neither changes what is parsed: the in-thread reader (the app's main process, tests) runs the package as
 * installed and stores the same tags.
 */

/** One rewrite of one file of the package. */
export interface MusicMetadataPatch {
  /** For messages. */
  readonly name: string;
  /** The file it applies to, under the package's lib/ ('/' between folders). */
  readonly libFile: string;
  /** The rewritten source; throws when `code` no longer holds the text it rewrites. */
  apply(code: string): string;
}

/**
 * The patch named `name` of `libFile`: `from` replaced by `to` (once), then `suffix` appended. It throws,
 * naming itself, when the source no longer holds `from`.
 */
function patch(name: string, libFile: string, from: string, to: string, suffix = ''): MusicMetadataPatch {
  return {
    name,
    libFile,
    apply(code) {
      if (!code.includes(from)) throw new Error(`music-metadata patch "${name}": the source no longer has "${from}"; update main/library/music-metadata-patches.ts`);
      return code.replace(from, to) + suffix;
    },
  };
}

/**
 * [Note: One tag mapper per process]
 * music-metadata builds its tag-name maps (~1,000 upper-cased keys in 11 mappers) anew for every file it parses:
 * a sixth of a scan thread's time. The mappers are stateless, so the bundled copy shares one.
 */
const sharedTagMapper = patch(
  'one tag mapper per process',
  'common/MetadataCollector.js',
  'this.tagMapper = new CombinedTagMapper();',
  'this.tagMapper = (sharedCombinedTagMapper ??= new CombinedTagMapper());',
  '\nlet sharedCombinedTagMapper;\n',
);

/**
 * [Note: ID3v2 padding]
 * Taggers leave zero bytes after an ID3v2 tag's last frame (padding, so that the next edit fits without
 * rewriting the file: mutagen 1 KiB and more, iTunes and others up to 64 KiB). music-metadata 11 reads that
 * padding as frames of 10 zero bytes each, one at a time: for each it slices, decodes an id, builds header and
 * flag objects and records two warnings ("Invalid ID3v2.4 frame-header-ID", "header has empty tag type"). An MP3
 * of the scan bench (1.5 KiB of padding after 9 frames) went through 150 such frames and 301 warnings, two
 * fifths of its parse; 64 KiB of padding is 6,500. A frame id is made of A–Z and 0–9 in every ID3v2 version, so
 * a zero byte where a frame should start is padding, and the frames end there (as mutagen and TagLib read it).
 */
const id3v2StopAtPadding = patch(
  'stop at ID3v2 padding',
  'id3v2/ID3v2Parser.js',
  'if (offset === data.length) {',
  'if (offset === data.length || data[offset] === 0) {',
);

/** Whether `id` (a module's absolute path, as bundlers name it) is the file `p` applies to. */
export function patchesModule(p: MusicMetadataPatch, id: string): boolean {
  return id.replace(/\\/g, '/').endsWith(`/music-metadata/lib/${p.libFile}`);
}

/** Every patch, in the order applied. */
export const MUSIC_METADATA_PATCHES: readonly MusicMetadataPatch[] = [sharedTagMapper, id3v2StopAtPadding];
