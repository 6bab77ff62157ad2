/**
 * @file Typed IPC failures and the mapping from thrown errors to Result envelopes (main process, E2E bridge).
 */
import type { ErrorCode, Result } from '../../preload/contract';

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'invalid-argument',
  'not-found',
  'model-unavailable',
  'unavailable',
  'cancelled',
  'internal',
]);

/** An error a handler throws on purpose; its code and message reach the renderer as they are. */
export class IpcError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

/** Thrown when a page's service is not part of this build; the renderer shows an honest empty state. */
export function unavailable(what: string): IpcError {
  return new IpcError('unavailable', `${what} is not available in this build.`);
}

/** A failed Result. */
export function fail(code: ErrorCode, message: string): Result<never> {
  return { ok: false, error: { code, message } };
}

/**
 * Maps anything thrown by a service to a failure. Services throw errors whose message is already written for
 * the user (STYLE B8); a `code` property that names an ErrorCode is kept, a `*NotFound*` error name becomes
 * 'not-found', an abort becomes 'cancelled', and everything else is 'internal'.
 */
export function toFailure(e: unknown): Result<never> {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CODES.has(code)) return fail(code as ErrorCode, e.message);
    if (/NotFound/i.test(e.name)) return fail('not-found', e.message);
    if (e.name === 'AbortError') return fail('cancelled', e.message);
    if (e.name === 'ZodError') return fail('invalid-argument', e.message);
    return fail('internal', e.message || e.name);
  }
  return fail('internal', String(e));
}
