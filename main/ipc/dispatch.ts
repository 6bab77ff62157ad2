/**
 * @file Electron-free request dispatch: allow-list, zod validation, handler call, Result envelope. Shared by
 * main/ipc/register.ts (Electron IPC) and the E2E WebSocket bridge, so both run exactly the same checks.
 */
import { INVOKE, type InvokeChannel, type Result } from '../../preload/contract';
import { fail, toFailure } from './errors';
import type { Handlers } from './handlers';
import { schemas } from './schemas';

/** Logs a failure that is not the user's fault. */
export type ErrorLogger = (message: string, error: unknown) => void;

/** True when `channel` is an allow-listed invoke channel. */
export function isInvokeChannel(channel: unknown): channel is InvokeChannel {
  return typeof channel === 'string' && Object.hasOwn(INVOKE, channel);
}

/**
 * Validates `rawArgs` for `channel`, runs its handler and wraps the outcome. Never throws: every failure,
 * including an unknown channel or a bad argument, comes back as `{ ok: false }`.
 */
export async function dispatchInvoke(
  handlers: Handlers,
  channel: unknown,
  rawArgs: readonly unknown[],
  logError: ErrorLogger = () => {},
): Promise<Result<unknown>> {
  if (!isInvokeChannel(channel)) return fail('invalid-argument', `Unknown channel '${String(channel)}'`);
  const parsed = schemas[channel].safeParse(rawArgs);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? ` (argument ${first.path.join('.')})` : '';
    return fail('invalid-argument', `${channel}: ${first?.message ?? 'invalid arguments'}${where}`);
  }
  try {
    const handler = handlers[channel] as (...a: unknown[]) => Promise<unknown>;
    const value = await handler(...(parsed.data as unknown[]));
    return { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    const failure = toFailure(e);
    if (!failure.ok && failure.error.code === 'internal') logError(`ipc ${channel}`, e);
    return failure;
  }
}
