/**
 * @file Ways to reach the inference service: in-process (tests, benchmarks) or on a worker thread (CLI).
 * The app's utility process is launched by main/workers (the desktop shell) and served by the same
 * {@link rpcServe}; see model/inference-thread.ts for the worker side.
 */
import { Worker } from 'node:worker_threads';
import { fromNodePort, localPortPair, rpcClient, rpcServe, type RpcClient } from './protocol';
import { createInferenceService, type InferenceHandlers, type InferenceServiceOptions } from './service';

/** A client with a way to shut its service down. */
export interface InferenceConnection {
  readonly client: RpcClient<InferenceHandlers>;
  /**
   * Stops the service (and its thread); pending calls fail with 'worker-exited'. A thread is asked to stop and
   * terminated only if it has not ended after `graceMs`.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Runs the service in this thread behind a structured-clone port pair, so tests exercise the same protocol
 * as the worker (every argument and result is cloned).
 */
export function connectLocalInference(opts: InferenceServiceOptions, onLog?: (level: string, message: string) => void): InferenceConnection {
  const [a, b] = localPortPair();
  const service = createInferenceService(opts);
  const stop = rpcServe(b, service);
  const client = rpcClient<InferenceHandlers>(a, onLog);
  return {
    client,
    async close() {
      stop();
      client.close();
      await service.unload({}, { signal: new AbortController().signal, emit: () => undefined }).catch(() => undefined);
    },
  };
}

/** What the worker thread gets as workerData. */
export interface InferenceThreadInit {
  /** Worker threads for ONNX Runtime's intra-op pool (0 = ORT's default). */
  readonly threads: number;
}

/**
 * Starts model/inference-thread.ts (bundled as out/cli/inference.thread.mjs) on a worker thread and returns a
 * client. `onExit` fires when the thread dies (crash, terminate): pending calls have failed by then.
 */
export function startInferenceThread(
  entry: URL | string,
  init: InferenceThreadInit,
  hooks: { onLog?: (level: string, message: string) => void; onExit?: (code: number) => void } = {},
): InferenceConnection & { readonly worker: Worker } {
  const worker = new Worker(entry, { workerData: init });
  const client = rpcClient<InferenceHandlers>(fromNodePort(worker), hooks.onLog);
  worker.on('error', (e) => {
    client.failAll(`The inference worker crashed: ${e.message}`);
  });
  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    worker.on('exit', (code) => {
      hasExited = true;
      client.failAll(`The inference worker exited (code ${code}).`);
      hooks.onExit?.(code);
      resolve();
    });
  });
  return {
    client,
    worker,
    // See [Note: Graceful stop of the inference thread] in model/inference-thread.ts.
    async close(graceMs = 10_000) {
      client.failAll('The inference worker was stopped.');
      if (hasExited) return;
      worker.postMessage({ shutdown: true });
      const timer = setTimeout(() => void worker.terminate(), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
