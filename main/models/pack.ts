/**
 * @file The model pack format: manifest.json (zod-validated), its format version, and reading a pack folder.
 * Plain Node (main, CLI, workers, tests); a pack loader in model/ can parse the same JSON (see
 * docs/model-packs.md, which is the format's reference).
 * The schema itself lives in model/pack-manifest.ts. See [Note: Pack format version].
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, PACK_FORMAT_VERSION, PackManifestSchema, type PackManifest } from '../../model/pack-manifest';
import { BadPackError } from './errors';

export { MANIFEST_FILE, PACK_FORMAT_VERSION, PackManifestSchema, type PackManifest };

/** Reads and validates `<dir>/manifest.json`. Throws {@link BadPackError} (with `isStale` for another format version). */
export async function readPackManifest(dir: string): Promise<PackManifest> {
  const path = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BadPackError(code === 'ENOENT' ? `Model pack ${dir} is incomplete: it has no ${MANIFEST_FILE}.` : `Cannot read ${path}: ${(e as Error).message}`, e);
  }
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== PACK_FORMAT_VERSION) {
    const err = new BadPackError(
      `Model pack ${dir} has format version ${JSON.stringify(version)}, this app reads version ${PACK_FORMAT_VERSION}: it will be converted again from its checkpoint.`,
    );
    Object.assign(err, { isStale: true });
    throw err;
  }
  const parsed = PackManifestSchema.safeParse(raw);
  if (!parsed.success) throw new BadPackError(`${path} is not a valid pack manifest: ${parsed.error.message}`);
  return parsed.data;
}

/** True when `e` says the pack is from another format version (rebuild, don't repair). */
export function isStalePackError(e: unknown): boolean {
  return e instanceof BadPackError && (e as BadPackError & { isStale?: boolean }).isStale === true;
}
