/**
 * @file The error type of audio decoding (any process).
 */

/** Why a file could not be decoded. */
export type AudioErrorCode =
  | 'not-found'
  | 'empty'
  | 'corrupt'
  | 'truncated'
  | 'unsupported'
  | 'no-audio'
  | 'ffmpeg-missing'
  | 'ffmpeg-failed'
  | 'cancelled';

/** A file that cannot be decoded; the message names the file and the cause, `code` says which kind. */
export class AudioDecodeError extends Error {
  readonly file: string;
  readonly code: AudioErrorCode;
  constructor(file: string, code: AudioErrorCode, cause: string) {
    super(`Cannot decode ${file}: ${cause}`);
    this.name = 'AudioDecodeError';
    this.file = file;
    this.code = code;
  }
}
