/**
 * @file A minimal message-port shape shared by Electron's MessagePortMain and Node's worker/child ports, so the
 * rpc client and supervisor do not care which runtime launched the worker (main process, E2E bridge).
 */
import type { MessagePortMain } from 'electron';

/** What an rpc client needs from a port. */
export interface WorkerPort {
  postMessage(message: unknown): void;
  /** Returns the unsubscribe function. */
  onMessage(listener: (message: unknown) => void): () => void;
  close(): void;
}

/** Wraps an Electron MessagePortMain (messages arrive as `{ data }` events). */
export function fromMessagePortMain(port: MessagePortMain): WorkerPort {
  return {
    postMessage: (message) => port.postMessage(message),
    onMessage(listener) {
      const wrapped = (e: { data: unknown }): void => listener(e.data);
      port.on('message', wrapped);
      return () => {
        port.off('message', wrapped);
      };
    },
    close: () => port.close(),
  };
}
