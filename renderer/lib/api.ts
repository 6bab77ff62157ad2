/**
 * @file The renderer's only door to main (renderer process): unwraps Result envelopes into values or a thrown
 * IpcError, and subscribes to push events. No other file touches window.api (STYLE B7).
 */
import type { Api, ErrorCode, EventChannel, Events, Invoke, InvokeChannel } from '../../preload/contract';

declare global {
  interface Window {
    /** Exposed by preload/index.ts (Electron) or the E2E bridge shim (browser). */
    readonly api: Api;
  }
}

/** A failed call: `code` says why, `message` is written for the user. */
export class IpcError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly channel: InvokeChannel,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

/** Calls one channel and returns its value, or throws an {@link IpcError}. */
export async function call<K extends InvokeChannel>(channel: K, ...args: Parameters<Invoke[K]>): Promise<ReturnType<Invoke[K]>> {
  const result = await window.api.invoke(channel, ...args);
  if (!result.ok) throw new IpcError(result.error.code, result.error.message, channel);
  return result.value;
}

/** Subscribes to one push channel; returns the teardown (use it as an `$effect` return value). */
export function on<K extends EventChannel>(channel: K, listener: (payload: Events[K]) => void): () => void {
  return window.api.on(channel, listener);
}

/** True when `e` says the feature is not part of this build. */
export function isUnavailable(e: unknown): boolean {
  return e instanceof IpcError && e.code === 'unavailable';
}

/** A message for the user from anything thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
