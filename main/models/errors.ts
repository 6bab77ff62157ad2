/**
 * @file Typed errors of the model manager (download, import, convert). Plain Node. Every message is meant for
 * the user: it names the repo, file or folder and the cause, and says what to do where there is something to do.
 * `code` maps onto the IPC ErrorCode space in main's handlers.
 */
import { formatBytes } from './catalog';

/** Stable machine-readable causes. */
export type ModelErrorCode =
  | 'repo-not-found'
  | 'file-not-found'
  | 'revision-not-found'
  | 'auth-required'
  | 'access-denied'
  | 'gated'
  | 'disk-full'
  | 'checksum'
  | 'no-checksum'
  | 'unsafe-file-name'
  | 'network'
  | 'cancelled'
  | 'bad-checkpoint'
  | 'bad-pack'
  | 'conversion';

/** Base class of every model-manager error. */
export class ModelError extends Error {
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelError';
  }
}

/** The repository does not exist (or is private and no token was sent). */
export class RepoNotFoundError extends ModelError {
  constructor(readonly repo: string, hint = '') {
    super('repo-not-found', `Model repository "${repo}" was not found on the Hub${hint}.`);
    this.name = 'RepoNotFoundError';
  }
}

/** The revision (branch, tag or commit) does not exist. */
export class RevisionNotFoundError extends ModelError {
  constructor(readonly repo: string, readonly revision: string) {
    super('revision-not-found', `Revision "${revision}" of "${repo}" was not found on the Hub.`);
    this.name = 'RevisionNotFoundError';
  }
}

/** The repository exists but the file does not. */
export class FileNotFoundError extends ModelError {
  constructor(readonly repo: string, readonly file: string) {
    super('file-not-found', `File "${file}" was not found in "${repo}" on the Hub.`);
    this.name = 'FileNotFoundError';
  }
}

/** 401 without a token: the repo needs one. */
export class AuthRequiredError extends ModelError {
  constructor(readonly repo: string) {
    super(
      'auth-required',
      `"${repo}" needs a Hugging Face access token (the Hub answers the same for a misspelled repo): create one at https://huggingface.co/settings/tokens and set HF_TOKEN (or log in with huggingface-cli).`,
    );
    this.name = 'AuthRequiredError';
  }
}

/** 401/403 with a token, or a gated repo: the user must accept the licence on the site. */
export class GatedRepoError extends ModelError {
  constructor(readonly repo: string, readonly siteUrl: string, isGated: boolean) {
    super(
      isGated ? 'gated' : 'access-denied',
      isGated
        ? `"${repo}" is gated: accept its licence at ${siteUrl} with the account whose HF_TOKEN you use, then try again.`
        : `Access to "${repo}" was refused with the HF_TOKEN given: check the token, or accept the model's licence at ${siteUrl}.`,
    );
    this.name = 'GatedRepoError';
  }
}

/** Not enough free space, before starting (statfs) or while writing (ENOSPC). */
export class DiskFullError extends ModelError {
  constructor(
    readonly path: string,
    readonly needBytes: number,
    readonly haveBytes: number,
  ) {
    super('disk-full', `Not enough disk space at ${path}: need ${formatBytes(needBytes)}, have ${formatBytes(haveBytes)}.`);
    this.name = 'DiskFullError';
  }
}

/** The downloaded bytes do not match the hash the Hub reported, even after one re-fetch. */
export class ChecksumError extends ModelError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super('checksum', `Checksum mismatch for "${file}" (expected ${expected}, got ${actual}) after a re-download. The file was removed; try again later.`);
    this.name = 'ChecksumError';
  }
}

/**
 * The Hub gave no hash the downloader can check for a file (no ETag, a weak `W/` ETag, or one that is neither an
 * LFS sha256 nor a git sha1): same-size bytes from a poisoned mirror would be indistinguishable from the real ones.
 */
export class NoChecksumError extends ModelError {
  constructor(readonly repo: string, readonly file: string, readonly etag: string | undefined) {
    super('no-checksum', `The Hub sent no checkable hash for "${file}" in "${repo}" (ETag ${etag === undefined ? 'missing' : `"${etag}"`}); it was not downloaded. Check HF_ENDPOINT points at a Hugging Face Hub.`);
    this.name = 'NoChecksumError';
  }
}

/** A network failure that retries did not cure, or a response the Hub should never send. */
export class NetworkError extends ModelError {
  constructor(message: string, cause?: unknown) {
    super('network', message, { cause });
    this.name = 'NetworkError';
  }
}

/** The caller aborted. Partial state is kept and the next attempt resumes. */
export class CancelledError extends ModelError {
  constructor(what: string) {
    super('cancelled', `${what} was cancelled; it resumes where it stopped next time.`);
    this.name = 'CancelledError';
  }
}

/** A checkpoint folder that cannot be converted (missing shard, truncated file, unknown layout). */
export class BadCheckpointError extends ModelError {
  constructor(message: string) {
    super('bad-checkpoint', message);
    this.name = 'BadCheckpointError';
  }
}

/** A model pack that is missing, incomplete, from another format version or fails its smoke run. */
export class BadPackError extends ModelError {
  constructor(message: string, cause?: unknown) {
    super('bad-pack', message, { cause });
    this.name = 'BadPackError';
  }
}

/** Throws {@link CancelledError} when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}
