/**
 * @file The worker side of a job worker (trainer, converter): finds its start data and the port to its parent,
 * whichever runtime started it. A Node worker thread (the CLI) has them as workerData and parentPort; an
 * Electron utility process (the app) gets them as the first message on process.parentPort, with a
 * MessagePortMain beside it (main/workers/utility-launcher.ts). Either way the job speaks the same typed
 * messages over an {@link RpcPort}, so one entry file serves both. Electron-free (typed structurally).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fromMessagePortMainLike, fromNodePort, type MessagePortMainLike, type RpcPort } from './inference/protocol';

/** Electron's utility-process parent port, as much of it as this needs. */
interface UtilityParentPort {
  once(event: 'message', listener: (e: { data: unknown; ports: MessagePortMainLike[] }) => void): void;
}

/** The start data and the port back to whoever started this worker. */
export function connectToParent(name: string): Promise<{ data: unknown; port: RpcPort }> {
  if (parentPort) {
    const p = parentPort;
    return Promise.resolve({ data: workerData as unknown, port: fromNodePort(p, () => p.close()) });
  }
  const utility = (process as unknown as { parentPort?: UtilityParentPort }).parentPort;
  if (!utility) return Promise.reject(new Error(`${name} must run as a worker thread or an Electron utility process.`));
  return new Promise((resolve, reject) => {
    utility.once('message', (e) => {
      const raw = e.ports[0];
      if (!raw) reject(new Error(`${name}: main sent no MessagePort with the start message.`));
      else resolve({ data: e.data, port: fromMessagePortMainLike(raw) });
    });
  });
}
